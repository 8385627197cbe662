"""What makes a gate scan cheaper: a counter that moves whenever the rules a scan reads change
(``counters.rules_version``), and two indexes reshaped for its writes and reads.

The gate keeps the parsed rules (the ``settings`` rows) and the revoked ticket-code keys
(``ticket_keys``) between scans instead of reading them on every scan (docs/gate.md § Speed). Both
tables are written by the sync client's feed, possibly in another process (``kezhan sync``), so a
flag in one process cannot tell the gate they changed: these triggers bump the counter inside the
very transaction that changes either table, whoever writes it, and each scan reads the counter in
its one departure statement. A revocation is thereby seen by the first scan after it commits.

``ix_gate_checks_departure`` gets ``ticket_type`` (and ``undone_at``, null in every entry, without
which SQLite reads each row to test the index's own condition): each scan counts the departure's
live checks by type (the seats and the free-child cap) from the index alone, not a row per check.
``ix_outbox_shift_id`` covers only the events that carry a shift (the settlement's reads): a gate
event carries none, and its commit writes one index page fewer.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
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
    _departure_index("departure_id", "ticket_type", "undone_at")
    _shift_index("shift_id IS NOT NULL")


def _shift_index(where: str | None) -> None:
    op.drop_index("ix_outbox_shift_id", table_name="outbox")
    op.create_index("ix_outbox_shift_id", "outbox", ["shift_id"], unique=False,
                    **({"sqlite_where": sa.text(where)} if where else {}))


def _departure_index(*columns: str) -> None:
    op.drop_index("ix_gate_checks_departure", table_name="gate_checks")
    op.create_index("ix_gate_checks_departure", "gate_checks", list(columns), unique=False,
                    sqlite_where=sa.text("undone_at IS NULL"))


def downgrade() -> None:
    _shift_index(None)
    _departure_index("departure_id")
    for table in _WATCHED:
        for event in _EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS tr_{table}_{event.lower()}_rules_version")
    op.execute("DELETE FROM counters WHERE name = 'rules_version'")
