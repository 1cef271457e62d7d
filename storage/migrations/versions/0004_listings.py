"""Listings (feeds and sitemaps): validators for conditional requests.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listings",
        sa.Column("url_key", sa.Text(), primary_key=True),
        sa.Column("source", sa.String(100), nullable=False, index=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("children", sa.JSON(), nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("listings")
