"""The audit log may hand its old entries to the monthly archive, and only those.

The append-only triggers stay; the delete trigger now lets through an entry whose id is at or below
the ``audit_archived_through`` counter, which the archive raises only in the transaction that deletes
entries it has first copied, committed and compared in an archive file (docs/store.md § Retention and
archive). Any other delete, and every update, is still refused by the file itself.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "WHEN old.id > coalesce((SELECT value FROM counters WHERE name = 'audit_archived_through'), 0) "
        "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
    )
