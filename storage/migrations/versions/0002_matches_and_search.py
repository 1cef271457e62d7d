"""Watchlist matches, and the full-text search index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("watchlist", sa.String(100), nullable=False, index=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("snippets", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("article_revision", sa.Integer(), nullable=False),
        sa.Column("matched_at", UtcDateTime(), nullable=False, index=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("article_id", "watchlist"),
    )
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("flagged", sa.Integer(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "sqlite":
        # Trigram index over the articles' normalised words (see storage.search): a substring
        # prefilter for `presswatch search` that inflected forms cannot slip past.
        op.execute("CREATE VIRTUAL TABLE article_search USING fts5(words, tokenize='trigram')")
        op.execute(
            "CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN "
            "DELETE FROM article_search WHERE rowid = old.id; END"
        )
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_table(
            "article_search",
            sa.Column(
                "article_id",
                sa.Integer(),
                sa.ForeignKey("articles.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("words", sa.Text(), nullable=False),
        )
        op.execute(
            "CREATE INDEX ix_article_search_words ON article_search USING gin (words gin_trgm_ops)"
        )


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("flagged")
    op.drop_table("article_search")
    op.drop_table("matches")
