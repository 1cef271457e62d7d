"""Pages that gave no article text, remembered with why, so that a crawl does not fetch them
again every time: only when their listing entry's date changes or ``[crawl] empty_retry`` has
passed since they were last tried.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "empty_pages",
        sa.Column("url_key", sa.Text(), primary_key=True),
        sa.Column("source", sa.String(100), nullable=False, index=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("listed_changed", UtcDateTime()),
        sa.Column("first_seen", UtcDateTime(), nullable=False),
        sa.Column("last_tried", UtcDateTime(), nullable=False, index=True),
        sa.Column("tries", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("empty_pages")
