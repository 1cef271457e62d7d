"""``[cluster]``: distributed crawling through a shared frontier in Redis."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from crawler.config.base import Duration, Section


class ClusterConfig(Section):
    """Distributed crawling: crawl requests go through a shared frontier in Redis, taken by
    any number of `presswatch worker` processes on any machines."""

    redis_url: str
    key_prefix: str = "presswatch"
    heartbeat: Duration = timedelta(seconds=5)
    # A worker silent this long is dead: what it held goes back to the frontier.
    dead_after: Duration = timedelta(seconds=20)
    max_parallel_crawls: int = Field(4, ge=1, le=64)  # per worker

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"{value!r} is not a Redis URL like redis://127.0.0.1:6379/0")
        return value

    @model_validator(mode="after")
    def _timing(self) -> ClusterConfig:
        if self.dead_after < self.heartbeat * 2:
            raise ValueError("dead_after must be at least twice heartbeat")
        return self
