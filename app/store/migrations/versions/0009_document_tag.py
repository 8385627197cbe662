"""Passenger data a terminal keeps from the feed: the 8-bit document tag, the new mask.

``tickets.doc_tag`` is the document's 8-bit tag (``app.domain.identity.document_tag``). A ticket this
terminal sold keeps its full ``doc_hash`` too, for its own one-seat-per-document index and its
lookups; a ticket from the feed (``web`` and ``peer`` orders) keeps only the tag, as the feed now
carries it, and its old full hash is dropped. Every stored mask is masked again by the rule of
``app.domain.identity.mask`` (region and birth date hidden): masking a mask never shows more.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def remask_sql(column: str) -> str:
    """SQL for ``app.domain.identity.mask`` applied to a stored mask (or number) in ``column``."""
    stars = "replace(hex(zeroblob({n})), '00', '*')"
    n = f"length({column})"
    return (
        f"CASE WHEN {column} IS NULL OR {column} = '' THEN {column} "
        f"WHEN {n} = 18 THEN {stars.format(n=14)} || substr({column}, 15) "
        f"WHEN {n} >= 6 THEN {stars.format(n=f'{n} - 3')} || substr({column}, -3) "
        f"WHEN {n} >= 4 THEN {stars.format(n=f'{n} - 1')} || substr({column}, -1) "
        f"ELSE {stars.format(n=n)} END"
    )


def upgrade() -> None:
    # ALTER TABLE ... ADD COLUMN, not a rebuild of tickets (months of sales at a large station).
    op.add_column("tickets", sa.Column("doc_tag", sa.String(length=2), nullable=True))
    op.create_index("ix_tickets_doc_tag", "tickets", ["doc_tag"], unique=False)
    op.execute("UPDATE tickets SET doc_tag = substr(doc_hash, 1, 2) WHERE doc_hash IS NOT NULL")
    feed_orders = "SELECT id FROM orders WHERE channel IN ('web', 'peer')"
    op.execute(f"UPDATE tickets SET doc_hash = NULL WHERE order_id IN ({feed_orders})")
    op.execute(f"UPDATE passengers SET doc_hash = NULL WHERE ticket_id IN "
               f"(SELECT id FROM tickets WHERE order_id IN ({feed_orders}))")
    op.execute(f"UPDATE passengers SET doc_masked = {remask_sql('doc_masked')}")


def downgrade() -> None:
    op.drop_index("ix_tickets_doc_tag", table_name="tickets")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_column("doc_tag")
