"""An index for search within one source: its articles by recency.

The web view's search and `presswatch search --source` list one source's candidates newest
first. Without this index SQLite's planner starts from the language index (or the recency
index) and reads every article of a common language to keep one source's: 157 ms for a page
of a million articles, 5 ms walking this index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_articles_source_recency",
        "articles",
        ["source", sa.text("coalesce(published_at, fetched_at) DESC"), sa.text("id DESC")],
    )


def downgrade() -> None:
    op.drop_index("ix_articles_source_recency", table_name="articles")
