"""A counter that moves whenever the rules a gate scan reads change: ``counters.rules_version``.

The gate keeps the parsed rules (the ``settings`` rows) and the revoked ticket-code keys
(``ticket_keys``) between scans instead of reading them on every scan (docs/gate.md § Speed). Both
tables are written by the sync client's feed, possibly in another process (``kezhan sync``), so a
flag in one process cannot tell the gate they changed: these triggers bump the counter inside the
very transaction that changes either table, whoever writes it, and each scan reads the counter in
its one departure statement. A revocation is thereby seen by the first scan after it commits.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BUMP = ("INSERT INTO counters (name, value) VALUES ('rules_version', 1) "
         "ON CONFLICT (name) DO UPDATE SET value = value + 1")
_WATCHED = ("settings", "ticket_keys")
_EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    for table in _WATCHED:
        for event in _EVENTS:
            op.execute(f"CREATE TRIGGER IF NOT EXISTS tr_{table}_{event.lower()}_rules_version AFTER {event} "
                       f"ON {table} BEGIN {_BUMP}; END")
    op.execute(_BUMP)


def downgrade() -> None:
    for table in _WATCHED:
        for event in _EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS tr_{table}_{event.lower()}_rules_version")
    op.execute("DELETE FROM counters WHERE name = 'rules_version'")
