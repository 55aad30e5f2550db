"""script versions and deployments; conversations record their version and variant

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "script_versions",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("script_id", sa.String(length=64), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=191), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_script_versions")),
    )
    op.create_index(op.f("ix_script_versions_content_hash"), "script_versions",
                    ["content_hash"])
    op.create_index(op.f("ix_script_versions_author"), "script_versions", ["author"])
    op.create_table(
        "script_deployments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=True),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("baseline_version", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=191), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_deployments")),
    )
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("version_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("experiment", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("variant", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_conversations_experiment"), ["experiment"])


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index(batch.f("ix_conversations_experiment"))
        batch.drop_column("variant")
        batch.drop_column("experiment")
        batch.drop_column("version_number")
    op.drop_table("script_deployments")
    op.drop_index(op.f("ix_script_versions_author"), table_name="script_versions")
    op.drop_index(op.f("ix_script_versions_content_hash"), table_name="script_versions")
    op.drop_table("script_versions")
