"""``[crawl]``: how the crawl engine fetches: its user agent, robots.txt, concurrency, delays,
timeouts, retries, page sizes and depth, the extraction workers, and when a page that gave no
article text is tried again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator

from crawler.config.base import Duration, Section, Size

DEFAULT_USER_AGENT = "presswatch/0.1 (+https://github.com/presswatch/presswatch)"


class CrawlConfig(Section):
    user_agent: str = DEFAULT_USER_AGENT
    obey_robots: bool = True
    max_article_age: Duration = timedelta(days=7)
    concurrency: int = Field(16, ge=1, le=512)
    concurrency_per_domain: int = Field(4, ge=1, le=64)
    download_delay: Duration = timedelta(0)
    autothrottle: bool = True
    timeout: Duration = timedelta(seconds=30)
    retries: int = Field(2, ge=0, le=10)
    max_page_size: Size = 10_000_000
    page_depth: int = Field(1, ge=1, le=5)
    workers: Literal["auto"] | Annotated[int, Field(ge=0, le=64)] = "auto"
    extract_timeout: Duration = timedelta(seconds=60)
    # Sources crawled at once in the one engine; the others wait their turn (in order).
    sources_at_once: int = Field(1000, ge=1, le=100_000)
    # How long a site's robots.txt is trusted before the engine reads it again.
    robots_ttl: Duration = timedelta(hours=24)
    # A listed page that gave no article text is fetched again only when its listing entry's
    # date changes or this long after it was last tried (0s: at every crawl).
    empty_retry: Duration = timedelta(days=7)

    @field_validator("empty_retry")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative: give a duration like 7d (0s: at every crawl)")
        return value
