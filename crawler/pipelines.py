"""Item pipelines: pages go to extraction workers, articles are stored in short batches.

``ExtractionPipeline`` hands each page to a pool of worker processes (``crawler.workers``) and
returns at once: the reactor keeps downloading while pages are extracted on the other cores.
At most ``PRESSWATCH_PAGES_IN_FLIGHT`` pages are with the workers; the others wait, holding
their responses in Scrapy's scraper slot, whose size limit then pauses new downloads.
``StoragePipeline`` writes what the workers return in batches, from one writer thread.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet import defer, reactor, task, threads
from twisted.python.failure import Failure

from crawler.items import ArticleItem, PageItem
from crawler.watch.matcher import WatchlistQuery
from crawler.workers import PagePool, PageTask, Processed, worker_count
from storage import repository, stories
from storage.engine import make_engine, make_sessionmaker
from storage.models import Article

logger = logging.getLogger(__name__)


def _watchlists(crawler: Crawler) -> list[WatchlistQuery]:
    config = getattr(crawler.spider, "config", None)
    if config is None:
        return []
    return [WatchlistQuery(w.name, w.query, tuple(w.languages)) for w in config.watchlists]


class ExtractionPipeline:
    """``PageItem`` -> ``ArticleItem`` in the worker pool; pages without article text, pages
    that break the extractor, run past the time limit or crash a worker are counted and
    dropped, and the crawl goes on."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.workers = worker_count(crawler.settings.get("PRESSWATCH_WORKERS", "auto"))
        timeout = crawler.settings.getfloat("PRESSWATCH_EXTRACT_TIMEOUT")
        self.timeout = timeout if timeout > 0 else None
        in_flight = crawler.settings.getint("PRESSWATCH_PAGES_IN_FLIGHT")
        self.in_flight = in_flight if in_flight > 0 else 8 * max(1, self.workers)
        self._pool: PagePool | None = None
        self._giving_up = False
        self._slots = defer.DeferredSemaphore(self.in_flight)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        self.crawler.signals.connect(self._warm_up, signal=signals.request_scheduled)

    def _warm_up(self, request: Request, spider: Any) -> None:
        # The workers start while the first article page downloads, and only then: a crawl
        # that finds nothing new starts none.
        if self._pool is None and request.callback == getattr(spider, "parse_article", None):
            self._started_pool()

    def _started_pool(self) -> PagePool:
        if self._pool is None:
            self._pool = PagePool(self.workers, _watchlists(self.crawler), timeout=self.timeout)
        return self._pool

    async def close_spider(self) -> None:
        # Scrapy calls this once every page in flight has come back, so nothing is waiting.
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await maybe_deferred_to_future(threads.deferToThread(pool.close, 30.0))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        return await maybe_deferred_to_future(self._slots.run(self._submit, item))

    def _submit(self, item: PageItem) -> defer.Deferred[ArticleItem]:
        pool = self._started_pool()
        source = self.crawler.spider.source  # type: ignore[union-attr]
        page = PageTask(
            url=item.url,
            body=item.body,
            encoding=item.encoding,
            timezone=source.timezone,
            language_hint=source.language,
            listed_published=item.listed_published,
        )
        result: defer.Deferred[ArticleItem] = defer.Deferred()
        future = pool.submit(page)
        if pool.workers == 0:
            self._finish(result, item, future)
        else:
            future.add_done_callback(
                lambda f: reactor.callFromThread(self._finish, result, item, f)
            )
        return result

    def _finish(
        self, result: defer.Deferred[ArticleItem], item: PageItem, future: Future[Any]
    ) -> None:
        from pebble import ProcessExpired

        try:
            processed: Processed | None = future.result()
        except FutureTimeout:
            self._drop(result, "extract_timeout", item, "extraction ran past the time limit")
            return
        except ProcessExpired as exc:
            self._drop(result, "worker_crash", item, f"the worker died ({exc})")
            return
        except BrokenProcessPool:
            self._drop(result, "worker_crash", item, "the workers' pool broke")
            if self._pool is not None and self._pool.gave_up and not self._giving_up:
                # Extraction is impossible: end the crawl as failed (it saves no validators,
                # and the listings of the pages it lost ask for them again).
                self._giving_up = True
                self._close_spider("extraction_workers_failed")
            return
        except Exception:
            # A page that breaks the extractor is one lost page, not a lost crawl.
            logger.warning("Extraction failed for %s", item.url, exc_info=True)
            self._drop(result, "extract", item, "extraction failed")
            return
        if processed is None:
            self.stats.inc_value("extract/empty")
            result.errback(Failure(DropItem(f"no article text: {item.url}", log_level="DEBUG")))
            return
        self.stats.inc_value("extract/ok")
        result.callback(
            ArticleItem(
                source=item.source,
                article=processed.article,
                fetched_at=item.fetched_at,
                requested_url=item.requested_url,
                content_hash=processed.content_hash,
                signature=processed.signature,
                search_words=processed.search_words,
                matches=processed.matches,
            )
        )

    def _close_spider(self, reason: str) -> None:
        engine = self.crawler.engine
        assert engine is not None
        deferred_from_coro(engine.close_spider_async(reason=reason))

    def _drop(
        self, result: defer.Deferred[ArticleItem], kind: str, item: PageItem, why: str
    ) -> None:
        if kind != "extract":
            logger.warning("%s: %s; the page is counted as error/%s", item.url, why, kind)
            # Not the page's fault (a worker died, ran out of time, or the pool broke): the
            # next crawl asks for its listing whole, so the page is tried again.
            retry_later = getattr(self.crawler.spider, "retry_later", None)
            if retry_later is not None:
                retry_later(item.listing)
        self.stats.inc_value(f"error/{kind}")
        result.errback(Failure(DropItem(f"{why}: {item.url}", log_level="DEBUG")))


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
        content_hash=item.content_hash,
        signature=item.signature,
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
        self.story_window = timedelta(seconds=crawler.settings.getfloat("PRESSWATCH_STORY_WINDOW"))
        self._buffer: list[ArticleItem] = []
        self._writing: defer.Deferred[None] = defer.succeed(None)
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._timer: task.LoopingCall | None = None
        self._watchlists: list[str] = []
        self._batches_in_flight = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        self._watchlists = [w.name for w in _watchlists(self.crawler)]
        self._engine = make_engine(self.database_url)
        stories.set_window(self._engine, self.story_window)
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

    def settled(self) -> bool:
        """Everything accepted so far is written (or failed and counted); if not, flush."""
        if self._buffer or self._batches_in_flight:
            self._flush()
            return False
        return True

    def _flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        self._batches_in_flight += 1
        # Chained so batches are written one after another, in arrival order.
        self._writing.addCallback(lambda _: threads.deferToThread(self._write, batch))
        self._writing.addCallbacks(self._count, self._write_failed, errbackArgs=(len(batch),))

    def _write_failed(self, failure: Any, size: int) -> None:
        self._batches_in_flight -= 1
        logger.error(
            "Storing a batch of %d articles failed",
            size,
            exc_info=(failure.type, failure.value, failure.getTracebackObject()),
        )
        self.stats.inc_value("error/store", size)

    def _count(self, outcomes: list[str]) -> None:
        # On the reactor thread, like every other stats update.
        self._batches_in_flight -= 1
        for outcome in outcomes:
            self.stats.inc_value(outcome)

    def _write(self, batch: list[ArticleItem]) -> list[str]:
        assert self._sessions is not None
        outcomes: list[str] = []
        with self._sessions.begin() as session:
            # Plainly new articles (most of a first crawl) in a few statements for the batch;
            # the rest (copies, updates, re-checks) one by one, each in its own savepoint.
            records = [to_record(item) for item in batch]
            try:
                fresh = repository.store_new_articles(session, records)
            except SQLAlchemyError:
                logger.warning("Storing a batch in bulk failed; storing one by one", exc_info=True)
                fresh = {}
            outcomes.extend(self._index_new(session, [(batch[i], r) for i, r in fresh.items()]))
            for i, item in enumerate(batch):
                if i in fresh:
                    continue
                try:
                    with session.begin_nested():
                        outcomes.extend(self._store(session, item))
                except SQLAlchemyError:
                    logger.warning("Storing %s failed", item.article.url, exc_info=True)
                    outcomes.append("error/store")
        # Returned (and counted) only after the commit: a batch that rolled back stored nothing.
        return outcomes

    def _index_new(
        self, session: Session, stored: list[tuple[ArticleItem, repository.StoreResult]]
    ) -> list[str]:
        repository.add_search_words(session, [(r.article_id, i.search_words) for i, r in stored])
        outcomes = ["store/new"] * len(stored)
        if not self._watchlists:
            return outcomes
        matches = [
            (r.article_id, m, i.fetched_at)
            for i, r in stored
            for m in i.matches
            if m.watchlist in self._watchlists
        ]
        repository.add_new_matches(session, matches)
        flagged = {a for a, _, _ in matches}
        outcomes.extend(["flag/articles"] * len(flagged))
        outcomes.extend(["flag/new"] * len(matches))
        return outcomes

    def _store(self, session: Session, item: ArticleItem) -> list[str]:
        result = repository.store_article(session, to_record(item))
        outcomes = [f"store/{result.outcome.value}"]
        if result.replaced or result.outcome in (
            repository.Outcome.NEW,
            repository.Outcome.UPDATED,
        ):
            repository.set_search_words(session, result.article_id, item.search_words)
            if self._watchlists:
                article = session.get_one(Article, result.article_id)
                flags = repository.save_matches(
                    session, article, item.matches, self._watchlists, item.fetched_at
                )
                matched = [w for w, status in flags.items() if status != "removed"]
                if matched:
                    outcomes.append("flag/articles")
                outcomes.extend(f"flag/{status}" for status in flags.values())
        return outcomes
