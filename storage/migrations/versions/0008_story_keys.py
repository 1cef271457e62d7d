"""Story bands: one appended row of band keys per article instead of an index row per band.

Each article inserted 16 rows into ``story_bands``, each at a random place of an index of every
band stored: at a million articles that was three quarters of the cost of storing one. The keys
now go, packed, into one ``story_keys`` row per article, and the lookup by band runs in the
writing process's memory over the story window (``storage.stories``).

The rows are made from the stored articles' signatures, dated by when each article was fetched.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from storage import fingerprints, stories
from storage.types import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BATCH = 10_000


def _pages(bind: Any, key: Any, *columns: Any) -> Iterator[Sequence[Any]]:
    """The rows of (``key``, *``columns``) in pages of ``_BATCH``, by ``key``."""
    after = 0
    while rows := bind.execute(
        sa.select(key, *columns).where(key > after).order_by(key).limit(_BATCH)
    ).all():
        yield rows
        after = rows[-1][0]


def upgrade() -> None:
    keys = op.create_table(
        "story_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("stored_at", UtcDateTime(), nullable=False, index=True),
        sa.Column("band_keys", sa.LargeBinary(), nullable=False),
        sqlite_autoincrement=True,
    )
    bind = op.get_bind()
    articles = sa.table(
        "articles",
        sa.column("id", sa.Integer()),
        sa.column("minhash", sa.LargeBinary()),
        sa.column("fetched_at", UtcDateTime()),
    )
    for rows in _pages(bind, articles.c.id, articles.c.minhash, articles.c.fetched_at):
        bind.execute(
            keys.insert(),
            [
                stories.key_rows(article_id, fingerprints.band_keys(signature), fetched_at)
                for article_id, signature, fetched_at in rows
            ],
        )
    op.drop_table("story_bands")


def downgrade() -> None:
    bands = op.create_table(
        "story_bands",
        sa.Column("band_key", sa.BigInteger(), primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_story_bands_article_id", "story_bands", ["article_id"])
    bind = op.get_bind()
    keys = sa.table(
        "story_keys",
        sa.column("id", sa.Integer()),
        sa.column("article_id", sa.Integer()),
        sa.column("band_keys", sa.LargeBinary()),
    )
    for rows in _pages(bind, keys.c.id, keys.c.article_id, keys.c.band_keys):
        values = {
            (key, article_id): None
            for _, article_id, packed in rows
            for key in stories.unpack(packed)
        }
        bind.execute(bands.insert(), [{"band_key": k, "article_id": a} for k, a in values])
    op.drop_table("story_keys")
