"""outbox: partial indexes on pending rows for claiming each destination's head

The 0003 index served a "min(id) per destination" query that read every pending
row on each claim; the claim now walks pending rows in id order and probes each
destination, which these two partial indexes answer. ix_outbox_due goes: an index
leading with `status` tempted PostgreSQL, without statistics, to answer each probe
by reading every pending row, and the plain destination index is covered by the
partial one (nothing else looks rows up by destination).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_heads")
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_index("ix_outbox_destination")
        batch_op.create_index("ix_outbox_pending", ["kind", "id"], unique=False,
                              sqlite_where=_PENDING, postgresql_where=_PENDING)
        batch_op.create_index("ix_outbox_pending_destination", ["destination", "id"],
                              unique=False, sqlite_where=_PENDING, postgresql_where=_PENDING)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending_destination")
        batch_op.drop_index("ix_outbox_pending")
        batch_op.create_index(
            "ix_outbox_heads", ["kind", "status", "destination", "id"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_due", ["status", "kind", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_outbox_destination", ["destination"], unique=False)
