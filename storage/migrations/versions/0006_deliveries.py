"""Digest outbox: deliveries, their items, and when each watcher's digest last ran.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("watcher", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("period_start", UtcDateTime(), nullable=False),
        sa.Column("period_end", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UtcDateTime()),
        sa.Column("sender", sa.String(200)),
        sa.Column("last_error", sa.Text()),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("sent_at", UtcDateTime()),
    )
    op.create_index("ix_deliveries_open", "deliveries", ["watcher", "channel", "status"])
    op.create_table(
        "delivery_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "delivery_id",
            sa.Integer(),
            sa.ForeignKey("deliveries.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("watcher", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("watchlist", sa.String(100), nullable=False),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("match_updated_at", UtcDateTime(), nullable=False),
        sa.Column("folded", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("watcher", "channel", "watchlist", "article_id", "match_updated_at"),
    )
    op.create_index(
        "ix_delivery_items_story",
        "delivery_items",
        ["watcher", "channel", "watchlist", "story_id"],
    )
    op.create_table(
        "watcher_state",
        sa.Column("watcher", sa.String(100), primary_key=True),
        sa.Column("last_digest_at", UtcDateTime(), nullable=False),
    )
    # Digests look matches up by when they last changed.
    op.create_index("ix_matches_updated_at", "matches", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_matches_updated_at", table_name="matches")
    op.drop_table("watcher_state")
    op.drop_table("delivery_items")
    op.drop_table("deliveries")
