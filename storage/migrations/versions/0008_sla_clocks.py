"""sla_clocks: each qualified lead's speed-to-lead reminder / escalation schedule

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_clocks",
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("route_index", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("alert_outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qualified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_sla_clocks_lead_id_leads"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_sla_clocks")),
    )
    op.create_index(op.f("ix_sla_clocks_next_due_at"), "sla_clocks", ["next_due_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sla_clocks_next_due_at"), table_name="sla_clocks")
    op.drop_table("sla_clocks")
