"""Item pipelines: extract each page, then store articles in short batched transactions."""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import maybe_deferred_to_future
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet import defer, task, threads

from crawler.extraction import ExtractionOptions, decode_html, extract_article
from crawler.items import ArticleItem, PageItem
from crawler.watch.flagging import Flagger, search_words
from crawler.watch.matcher import WatchlistQuery
from storage import repository
from storage.engine import make_engine, make_sessionmaker
from storage.models import Article

logger = logging.getLogger(__name__)


class ExtractionPipeline:
    """``PageItem`` -> ``ArticleItem``; pages without article text are counted and dropped."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        source = self.crawler.spider.source  # type: ignore[union-attr]
        options = ExtractionOptions(
            url=item.url,
            timezone=source.zone,
            language_hint=source.language,
            listed_published=item.listed_published,
        )
        try:
            article = extract_article(decode_html(item.body, item.encoding), options)
        except Exception:
            # A page that breaks the extractor is one lost page, not a lost crawl.
            logger.warning("Extraction failed for %s", item.url, exc_info=True)
            self.stats.inc_value("error/extract")
            raise DropItem(f"extraction failed: {item.url}", log_level="DEBUG") from None
        if article is None:
            self.stats.inc_value("extract/empty")
            raise DropItem(f"no article text: {item.url}", log_level="DEBUG")
        self.stats.inc_value("extract/ok")
        return ArticleItem(
            source=item.source,
            article=article,
            fetched_at=item.fetched_at,
            requested_url=item.requested_url,
        )


def to_record(item: ArticleItem) -> repository.ArticleRecord:
    a = item.article
    return repository.ArticleRecord(
        source=item.source,
        url=a.url,
        text=a.text,
        fetched_at=item.fetched_at,
        requested_url=item.requested_url,
        canonical_url=a.canonical_url,
        title=a.title,
        authors=a.authors,
        published_at=a.published_at,
        language=a.language,
        description=a.description,
        site_name=a.site_name,
        tags=a.tags,
    )


class StoragePipeline:
    """Stores articles in batches, off the reactor thread, one transaction per batch.

    Items are accepted at once and written by a single writer thread when a batch fills or
    every ``PRESSWATCH_STORE_FLUSH_SECONDS``; closing the spider waits for the last batch.
    """

    def __init__(self, crawler: Crawler) -> None:
        url = crawler.settings.get("PRESSWATCH_DATABASE_URL")
        if not url:
            raise NotConfigured("PRESSWATCH_DATABASE_URL is not set")
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.crawler = crawler
        self.database_url: str = url
        self.batch_size: int = crawler.settings.getint("PRESSWATCH_STORE_BATCH")
        self.flush_seconds: float = crawler.settings.getfloat("PRESSWATCH_STORE_FLUSH_SECONDS")
        self._buffer: list[ArticleItem] = []
        self._writing: defer.Deferred[None] = defer.succeed(None)
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._timer: task.LoopingCall | None = None
        self._flagger: Flagger | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        config = getattr(self.crawler.spider, "config", None)
        watchlists = config.watchlists if config is not None else []
        self._flagger = Flagger(
            [WatchlistQuery(w.name, w.query, tuple(w.languages)) for w in watchlists]
        )
        self._engine = make_engine(self.database_url)
        self._sessions = make_sessionmaker(self._engine)
        self._timer = task.LoopingCall(self._flush)
        self._timer.start(self.flush_seconds, now=False)

    async def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._flush()
        try:
            await maybe_deferred_to_future(self._writing)
        finally:
            if self._engine is not None:
                self._engine.dispose()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem):
            self._buffer.append(item)
            if len(self._buffer) >= self.batch_size:
                self._flush()
        return item

    def _flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        # Chained so batches are written one after another, in arrival order.
        self._writing.addCallback(lambda _: threads.deferToThread(self._write, batch))
        self._writing.addCallbacks(self._count, self._write_failed, errbackArgs=(len(batch),))

    def _write_failed(self, failure: Any, size: int) -> None:
        logger.error(
            "Storing a batch of %d articles failed",
            size,
            exc_info=(failure.type, failure.value, failure.getTracebackObject()),
        )
        self.stats.inc_value("error/store", size)

    def _count(self, outcomes: list[str]) -> None:
        # On the reactor thread, like every other stats update.
        for outcome in outcomes:
            self.stats.inc_value(outcome)

    def _write(self, batch: list[ArticleItem]) -> list[str]:
        assert self._sessions is not None
        outcomes: list[str] = []
        with self._sessions.begin() as session:
            for item in batch:
                try:
                    with session.begin_nested():
                        outcomes.extend(self._store(session, item))
                except SQLAlchemyError:
                    logger.warning("Storing %s failed", item.article.url, exc_info=True)
                    outcomes.append("error/store")
        # Returned (and counted) only after the commit: a batch that rolled back stored nothing.
        return outcomes

    def _store(self, session: Session, item: ArticleItem) -> list[str]:
        result = repository.store_article(session, to_record(item))
        outcomes = [f"store/{result.outcome.value}"]
        if result.outcome in (repository.Outcome.NEW, repository.Outcome.UPDATED):
            article = session.get_one(Article, result.article_id)
            repository.set_search_words(
                session, article.id, search_words(article.title, article.text)
            )
            if self._flagger is not None and self._flagger.names:
                flags = self._flagger.flag(session, article, item.fetched_at)
                matched = [w for w, status in flags.items() if status != "removed"]
                if matched:
                    outcomes.append("flag/articles")
                outcomes.extend(f"flag/{status}" for status in flags.values())
        return outcomes
