"""leads.next_nudge_at: reminders and follow-ups scheduled in the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_nudge_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_leads_next_nudge_at"), ["next_nudge_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_next_nudge_at"))
        batch_op.drop_column("next_nudge_at")
