"""Articles, their URLs, revisions and story bands, and crawl runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(100), nullable=False, index=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("canonical_url", sa.Text()),
        sa.Column("title", sa.Text()),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("published_at", UtcDateTime(), index=True),
        sa.Column("language", sa.String(16)),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("site_name", sa.Text()),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False, unique=True),
        sa.Column("minhash", sa.LargeBinary(), nullable=False),
        sa.Column("story_id", sa.Integer(), index=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("fetched_at", UtcDateTime(), nullable=False, index=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "article_urls",
        sa.Column("url_key", sa.Text(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("first_seen_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "article_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column("fetched_at", UtcDateTime(), nullable=False),
        sa.Column("replaced_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("article_id", "revision"),
    )
    op.create_table(
        "story_bands",
        sa.Column("band_key", sa.BigInteger(), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_story_bands_band_key", "story_bands", ["band_key"])
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(100), nullable=False, index=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("finish_reason", sa.String(100)),
        sa.Column("pid", sa.Integer()),
        sa.Column("pages_fetched", sa.Integer(), nullable=False),
        sa.Column("articles_fetched", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("empty", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    for table in ("crawl_runs", "story_bands", "article_revisions", "article_urls", "articles"):
        op.drop_table(table)
