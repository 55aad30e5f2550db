"""studio: the workspace's script draft, preview chats and dismissed unmatched answers

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "studio_drafts",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=191), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_studio_drafts")),
    )
    op.create_table(
        "studio_previews",
        sa.Column("owner", sa.String(length=191), nullable=False),
        sa.Column("session", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_studio_previews")),
    )
    op.create_table(
        "studio_dismissals",
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=191), nullable=False),
        sa.Column("dismissed_by", sa.String(length=191), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("question_id", "answer", name=op.f("pk_studio_dismissals")),
    )


def downgrade() -> None:
    op.drop_table("studio_dismissals")
    op.drop_table("studio_previews")
    op.drop_table("studio_drafts")
