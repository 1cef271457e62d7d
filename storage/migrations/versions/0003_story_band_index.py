"""Story bands: index article_id instead of band_key.

The primary key (band_key, article_id) already serves lookups by band; the separate band_key
index doubled the random-position writes of every stored article (16 bands each), the cost that
grows with the database. An index on article_id serves deleting an article's bands (retention)
and, its keys rising with each new article, costs little to keep.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_story_bands_band_key", table_name="story_bands")
    op.create_index("ix_story_bands_article_id", "story_bands", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_story_bands_article_id", table_name="story_bands")
    op.create_index("ix_story_bands_band_key", "story_bands", ["band_key"])
