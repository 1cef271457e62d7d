"""What flows from the spider through the pipelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crawler.extraction import ExtractedArticle


@dataclass(slots=True)
class PageItem:
    """A downloaded article page, before extraction."""

    source: str
    url: str
    body: bytes
    fetched_at: datetime
    encoding: str | None = None
    requested_url: str | None = None
    listed_published: datetime | None = None


@dataclass(slots=True)
class ArticleItem:
    """An extracted article on its way to storage."""

    source: str
    article: ExtractedArticle
    fetched_at: datetime
    requested_url: str | None = None
