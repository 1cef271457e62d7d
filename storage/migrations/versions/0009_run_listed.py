"""What a run's feeds and sitemaps listed, and how much of it was too old to fetch.

A source whose feed keeps listing only old articles (abandoned for a new address) looks, in the
counts kept so far, like a source with nothing new; these two counts tell them apart
(``storage.diagnostics``). Runs recorded before have 0 for both.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("listed", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("too_old", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("too_old")
        batch.drop_column("listed")
