"""``[storage]``: the database URL, and the window in which near-copies join a story."""

from __future__ import annotations

from datetime import timedelta

from pydantic import field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from crawler.config.base import Duration, Section


class StorageConfig(Section):
    url: str = "sqlite:///presswatch.db"
    # Near-copies join a story among the articles stored within this window (storage.stories).
    story_window: Duration = timedelta(days=7)

    @field_validator("url")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                f"{value!r} is not a database URL like sqlite:///presswatch.db or "
                "postgresql+psycopg://user@host/db"
            ) from None
        return value

    @field_validator("story_window")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value < timedelta(hours=1):
            raise ValueError(
                "must be at least 1h: copies of a story are published over hours and days"
            )
        return value
