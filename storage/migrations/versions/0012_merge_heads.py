"""merge the branches that each start from 0005 (script versions, studio accounts, studio drafts)

Only needed while those migrations are siblings; when they are chained one after
another this file goes.

Revision ID: 0012_merge
Revises: 0006, 0007, 0012
Create Date: 2026-11-28
"""
from __future__ import annotations

revision = "0012_merge"
down_revision = ("0006", "0007", "0012")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
