"""Indexes for search at scale: articles by recency, and by language.

``presswatch search`` lists candidates newest first and stops at --limit: an index on the
recency expression lets the database walk articles in that order instead of sorting every
candidate (a common word matches a third of a million articles). The language index lets the
distinct languages be read with a few index probes instead of a scan of every article.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_articles_recency",
        "articles",
        [sa.text("coalesce(published_at, fetched_at) DESC"), sa.text("id DESC")],
    )
    op.create_index("ix_articles_language", "articles", ["language"])


def downgrade() -> None:
    op.drop_index("ix_articles_language", table_name="articles")
    op.drop_index("ix_articles_recency", table_name="articles")
