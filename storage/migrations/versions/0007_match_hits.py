"""Matches keep their hits; their snippets are cut from the text when shown.

A match used to store its snippets (about 90 words of text and their highlight offsets), cut by
the crawl for every match: with many watchlists that was the largest part of flagging's cost.
It now stores where the hits are (word indexes), and the digest, export and feed cut the
snippets they show from the article's text. Matches stored before keep their snippets.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("hits", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("hits")
