"""What flows from the spider through the pipelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from storage.articles import ArticleFields

if TYPE_CHECKING:
    from storage.matches import MatchRecord


class PageRefused(Exception):
    """A page extraction refuses, and the error kind a crawl counts it under (``too_deep``:
    its markup nests past the parser's limit before any article text)."""

    def __init__(self, kind: str, why: str) -> None:
        super().__init__(kind, why)
        self.kind = kind
        self.why = why

    def __str__(self) -> str:
        return self.why


@dataclass(frozen=True, slots=True)
class NoArticle:
    """A page that gave no article text, and why, in a few words a person reads in a list:
    ``no text`` (nothing the extractor takes for an article), ``too short`` (less text than an
    article has), ``unparsable`` (no HTML document to read), ``not html`` (another type of
    file), ``too deep`` (see ``PageRefused``)."""

    reason: str


@dataclass(frozen=True, slots=True)
class PageSelectors:
    """A source's own CSS selectors, for the few sites where the general rules fail: the
    article's text (every element matched, in page order), its headline and its publication
    date (the first element matched: its ``datetime`` or ``content`` attribute, else its
    text). None: the general rule."""

    body: str | None = None
    title: str | None = None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractedArticle(ArticleFields):
    """An article as the extraction found it on its page (``crawler.extract``): the fields it
    keeps of itself, defined once by the storage edge that takes them."""


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
    listing: str | None = None  # URL key of the feed or sitemap that listed it
    listed_changed: datetime | None = None  # the listing entry's date (lastmod, else published)
    run_token: int = 0  # the source's run in the engine (crawler.scrapy.sourceruns)


@dataclass(slots=True)
class ArticleItem:
    """An extracted article on its way to storage."""

    source: str
    article: ExtractedArticle
    fetched_at: datetime
    requested_url: str | None = None
    content_hash: str | None = None
    signature: bytes | None = None
    search_words: str = ""
    matches: tuple[MatchRecord, ...] = ()
    run_token: int = 0
