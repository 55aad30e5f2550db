"""studio accounts: workspace users, sign-in failures (lock-out) and the audit log

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "studio_users",
        sa.Column("id", _ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studio_users")),
        sa.UniqueConstraint("email", name=op.f("uq_studio_users_email")),
    )
    op.create_table(
        "studio_login_failures",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studio_login_failures")),
    )
    op.create_index("ix_studio_login_failures_account_at", "studio_login_failures",
                    ["account", "at"])
    op.create_index("ix_studio_login_failures_address_at", "studio_login_failures",
                    ["address", "at"])
    op.create_table(
        "studio_audit",
        sa.Column("id", _ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studio_audit")),
    )
    op.create_index(op.f("ix_studio_audit_at"), "studio_audit", ["at"])
    op.create_index(op.f("ix_studio_audit_action"), "studio_audit", ["action"])


def downgrade() -> None:
    op.drop_table("studio_audit")
    op.drop_table("studio_login_failures")
    op.drop_table("studio_users")
