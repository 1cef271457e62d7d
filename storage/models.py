"""The schema. Change it only together with a migration in ``storage/migrations/versions``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
        dict[str, int]: JSON,
        list[dict[str, Any]]: JSON,
    }


class Article(Base):
    """One article, however many URLs it was seen at."""

    __tablename__ = "articles"
    __table_args__ = (
        # Search walks articles newest first (migration 0005).
        Index(
            "ix_articles_recency", text("coalesce(published_at, fetched_at) DESC"), text("id DESC")
        ),
        # And one source's articles newest first (migration 0010).
        Index(
            "ix_articles_source_recency",
            "source",
            text("coalesce(published_at, fetched_at) DESC"),
            text("id DESC"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(default=list)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    language: Mapped[str | None] = mapped_column(String(16), index=True)
    text: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(default=list)
    # sha256 of the normalised text, truncated: the same text under two URLs is one article.
    content_hash: Mapped[str] = mapped_column(String(32), unique=True)
    # MinHash signature of the text's word shingles, for near-copy (same story) detection.
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    story_id: Mapped[int | None] = mapped_column(index=True)
    revision: Mapped[int] = mapped_column(default=1)
    fetched_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    checked_at: Mapped[datetime]


class ArticleUrl(Base):
    """Every URL an article was seen at, keyed by its normalised form (``storage.urlkeys``)."""

    __tablename__ = "article_urls"

    url_key: Mapped[str] = mapped_column(Text, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    first_seen_at: Mapped[datetime]


class ArticleRevision(Base):
    """An earlier text of an article, kept when the article changes."""

    __tablename__ = "article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int]
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(32))
    fetched_at: Mapped[datetime]
    replaced_at: Mapped[datetime]


class StoryKeys(Base):
    """An article's MinHash band keys, appended when its text is stored: articles sharing a
    band are candidate near-copies, checked against the full signature before they share a
    story. The lookup by band runs in memory over the story window (``storage.stories``)."""

    __tablename__ = "story_keys"
    # AUTOINCREMENT: ids only grow, so a process reading the rows past the last id it read
    # misses none (a plain rowid may be handed out again after the newest row is deleted).
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    stored_at: Mapped[datetime] = mapped_column(index=True)
    # storage.fingerprints.BANDS big-endian signed 64-bit keys (storage.stories.pack)
    band_keys: Mapped[bytes] = mapped_column(LargeBinary)


class CrawlRun(Base):
    """One crawl of one source: what it fetched, stored and met on the way."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")
    finish_reason: Mapped[str | None] = mapped_column(String(100))
    pid: Mapped[int | None]
    pages_fetched: Mapped[int] = mapped_column(default=0)
    articles_fetched: Mapped[int] = mapped_column(default=0)
    new: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    duplicate: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    empty: Mapped[int] = mapped_column(default=0)
    flagged: Mapped[int] = mapped_column(default=0)
    errors: Mapped[dict[str, int]] = mapped_column(default=dict)
    # Entries its feeds and sitemaps listed, and of those, how many were older than
    # max_article_age (a feed listing only old articles: storage.diagnostics). Migration 0009.
    listed: Mapped[int] = mapped_column(default=0, server_default="0")
    too_old: Mapped[int] = mapped_column(default=0, server_default="0")


class WatchMatch(Base):
    """An article that matches a watchlist: which terms, where, how strongly, and its hits."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("article_id", "watchlist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    watchlist: Mapped[str] = mapped_column(String(100), index=True)
    # [{"term": "rudal", "count": 1, "where": ["body"]}, ...]
    terms: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    score: Mapped[float]
    # Where the snippets are cut, in word indexes of the article's text: {"field": "body",
    # "starts": [12, 40], "widths": [[12, [1, 2]]]} (widths where a phrase starts). The snippets
    # are cut when shown (crawler.watch.matcher.stored_snippets).
    hits: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Matches stored before revision 0007 kept their snippets here, cut by the crawl:
    # [{"text": "...", "highlights": [[start, end], ...]}, ...]; [] since.
    snippets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # "new", or "updated" when a later revision of the article matched anew or matched new terms
    status: Mapped[str] = mapped_column(String(20), default="new")
    article_revision: Mapped[int] = mapped_column(default=1)
    matched_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(index=True)


class ArticleSearch(Base):
    """PostgreSQL's search prefilter table (trigram GIN index). On SQLite ``article_search`` is
    an FTS5 trigram table that the repository addresses in SQL, not through this model."""

    __tablename__ = "article_search"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    words: Mapped[str] = mapped_column(Text)


class Listing(Base):
    """A feed or sitemap as last fetched: its validators for a conditional request next time,
    and, for a sitemap index, the child sitemaps it listed (re-checked when it answers 304)."""

    __tablename__ = "listings"

    url_key: Mapped[str] = mapped_column(Text, primary_key=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    children: Mapped[list[str]] = mapped_column(JSON, default=list)
    checked_at: Mapped[datetime]


class EmptyPage(Base):
    """A listed page that gave no article text, and why: the crawl does not fetch it again
    until its listing entry's date changes or ``[crawl] empty_retry`` has passed since it was
    last tried (``storage.emptypages``). Migration 0011."""

    __tablename__ = "empty_pages"

    url_key: Mapped[str] = mapped_column(Text, primary_key=True)  # of the URL as listed
    source: Mapped[str] = mapped_column(String(100), index=True)
    url: Mapped[str] = mapped_column(Text)
    # "no text", "too short", "not html", "unparsable", "too deep" (crawler.items.NoArticle)
    reason: Mapped[str] = mapped_column(String(100))
    # The listing entry's date (lastmod, else published) when the page was last tried.
    listed_changed: Mapped[datetime | None]
    first_seen: Mapped[datetime]
    last_tried: Mapped[datetime] = mapped_column(index=True)
    tries: Mapped[int] = mapped_column(default=1)


class Delivery(Base):
    """One digest or urgent alert for one watcher on one channel: the outbox row. Recorded with
    its items before it is sent, marked sent after; ``sending`` while an attempt is under way,
    so that a sender that died mid-attempt is told apart from one that failed."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_open", "watcher", "channel", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watcher: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))  # email, webhook, directory, feed
    kind: Mapped[str] = mapped_column(String(10))  # digest or alert
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sending, sent
    # The Message-ID (and the webhook's Idempotency-Key): the same for every attempt at the
    # same content, new when items join a digest that failed.
    message_id: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    attempted_at: Mapped[datetime | None]
    sender: Mapped[str | None] = mapped_column(String(200))  # host:pid of the attempt
    last_error: Mapped[str | None] = mapped_column(Text)
    # The last attempt may have got through (a timeout after sending, a sender that died
    # mid-attempt): the delivery is sent again exactly as it was, never grown.
    uncertain: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime | None]


class DeliveryItem(Base):
    """One match (one version of it) taken into a delivery. The unique key is the promise:
    a match is delivered to a watcher at most once per channel; a later copy of a story
    already delivered is ``folded`` (counted, not listed again)."""

    __tablename__ = "delivery_items"
    __table_args__ = (
        UniqueConstraint("watcher", "channel", "watchlist", "article_id", "match_updated_at"),
        Index("ix_delivery_items_story", "watcher", "channel", "watchlist", "story_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    watcher: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    watchlist: Mapped[str] = mapped_column(String(100))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    story_id: Mapped[int]
    match_updated_at: Mapped[datetime]
    folded: Mapped[bool] = mapped_column(default=False)


class WatcherState(Base):
    """When each watcher's digest last ran (sent or found nothing to send): the daemon sends
    one digest at start when a scheduled time passed while it was down."""

    __tablename__ = "watcher_state"

    watcher: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_digest_at: Mapped[datetime]
