"""Item pipelines: pages go to extraction workers, articles are stored in short batches.

``ExtractionPipeline`` hands each page to a pool of worker processes (``crawler.extract.pool``) and
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
from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twisted.internet import defer, reactor, task, threads
from twisted.python.failure import Failure

from crawler.config import ConfigError, SourceConfig
from crawler.extract.pool import PagePool, PageTask, Processed, worker_count
from crawler.items import ArticleItem, NoArticle, PageItem, PageRefused
from crawler.scrapy.dbwriter import DbWriter
from crawler.scrapy.spiders.news import NewsSpider
from crawler.watch.matcher import WatchlistQuery
from storage import articles, search
from storage import emptypages as empty_store
from storage import matches as match_store
from storage.models import Article
from storage.urlkeys import url_key

logger = logging.getLogger(__name__)


def _source_of(crawler: Crawler, item: PageItem) -> SourceConfig | None:
    spider = crawler.spider
    if not isinstance(spider, NewsSpider):
        return None
    run = spider.run_for_item(item)
    if run is not None:
        return run.source
    try:
        return spider.config.source(item.source)
    except ConfigError:  # removed from the config since (SIGHUP)
        return None


def _count(crawler: Crawler, item: Any, key: str, value: int = 1) -> None:
    """Count for the item's source run (and the whole crawl)."""
    spider = crawler.spider
    if isinstance(spider, NewsSpider):
        spider.runs.count(spider.run_for_item(item), key, value)
    else:
        assert crawler.stats is not None
        crawler.stats.inc_value(key, value)


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
        # Enough that a pause of the crawl process (a batch written, a sitemap of thousands of
        # URLs read: 100-200 ms) does not leave the workers idle: with 8 per worker they went
        # without a page for 8-13% of a crawl's 0.1 s samples, with 32 for 5-8%. Memory is
        # bounded by Scrapy's scraper slot (SCRAPER_SLOT_MAX_ACTIVE_SIZE), which counts every
        # page until its item is stored, and pauses downloads past it.
        self.in_flight = in_flight if in_flight > 0 else 32 * max(1, self.workers)
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
        source = _source_of(self.crawler, item)
        page = PageTask(
            url=item.url,
            body=item.body,
            encoding=item.encoding,
            timezone=source.timezone if source is not None else "UTC",
            language_hint=source.language if source is not None else None,
            listed_published=item.listed_published,
            selectors=source.selectors if source is not None else None,
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
            processed: Processed | NoArticle = future.result()
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
        except PageRefused as exc:  # the page's own fault: counted by kind, not tried again
            self._remember_empty(item, exc.kind.replace("_", " "))
            self._drop(result, exc.kind, item, exc.why, retry=False)
            return
        except Exception:
            # A page that breaks the extractor is one lost page, not a lost crawl.
            logger.warning("Extraction failed for %s", item.url, exc_info=True)
            self._drop(result, "extract", item, "extraction failed")
            return
        if isinstance(processed, NoArticle):
            self._count(item, "extract/empty")
            self._remember_empty(item, processed.reason)
            result.errback(Failure(DropItem(f"{processed.reason}: {item.url}", log_level="DEBUG")))
            return
        self._count(item, "extract/ok")
        result.callback(
            ArticleItem(
                run_token=item.run_token,
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

    def _count(self, item: Any, key: str) -> None:
        _count(self.crawler, item, key)

    def _remember_empty(self, item: PageItem, reason: str) -> None:
        spider = self.crawler.spider
        if isinstance(spider, NewsSpider) and hasattr(spider, "writer"):
            spider.remember_empty(
                item.source, item.url, item.requested_url, item.listed_changed, reason
            )

    def _close_spider(self, reason: str) -> None:
        engine = self.crawler.engine
        assert engine is not None
        deferred_from_coro(engine.close_spider_async(reason=reason))

    def _drop(
        self,
        result: defer.Deferred[ArticleItem],
        kind: str,
        item: PageItem,
        why: str,
        *,
        retry: bool = True,
    ) -> None:
        if kind != "extract":
            logger.warning("%s: %s; the page is counted as error/%s", item.url, why, kind)
            # Not the page's fault (a worker died, ran out of time, or the pool broke): the
            # next crawl asks for its listing whole, so the page is tried again.
            spider = self.crawler.spider
            if retry and isinstance(spider, NewsSpider):
                spider.retry_later(spider.run_for_item(item), item.listing)
        self._count(item, f"error/{kind}")
        result.errback(Failure(DropItem(f"{why}: {item.url}", log_level="DEBUG")))


def to_record(item: ArticleItem) -> articles.ArticleRecord:
    return articles.ArticleRecord(
        **articles.fields_of(item.article),
        source=item.source,
        fetched_at=item.fetched_at,
        requested_url=item.requested_url,
        content_hash=item.content_hash,
        signature=item.signature,
    )


def _page_keys(batch: list[ArticleItem]) -> set[str]:
    """The URL keys the batch's pages were listed and fetched under."""
    keys = {url_key(item.article.url) for item in batch}
    keys.update(url_key(item.requested_url) for item in batch if item.requested_url)
    return keys


class StoragePipeline:
    """Stores articles in batches through the engine's one writer (``crawler.scrapy.dbwriter``).

    Items are accepted at once and written when a batch fills or every
    ``PRESSWATCH_STORE_FLUSH_SECONDS``; each article's outcome counts for its source's run,
    and its page is done for that run once the batch has committed. Closing the spider waits
    for the last batch.
    """

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.get("PRESSWATCH_DATABASE_URL"):
            raise NotConfigured("PRESSWATCH_DATABASE_URL is not set")
        self.crawler = crawler
        self.batch_size: int = crawler.settings.getint("PRESSWATCH_STORE_BATCH")
        self.flush_seconds: float = crawler.settings.getfloat("PRESSWATCH_STORE_FLUSH_SECONDS")
        self._buffer: list[ArticleItem] = []
        self._writer: DbWriter | None = None
        self._timer: task.LoopingCall | None = None
        self._watchlists: list[str] = []
        self._batches_in_flight = 0
        self._written: defer.Deferred[None] = defer.succeed(None)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        if not isinstance(spider, NewsSpider) or not hasattr(spider, "writer"):
            return  # the spider could not start: it closes with its reason
        self._writer = spider.writer
        spider.settled_checks.append(self.settled)
        self._watchlists = [w.name for w in _watchlists(self.crawler)]
        self._timer = task.LoopingCall(self._flush)
        self._timer.start(self.flush_seconds, now=False)

    async def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._flush()
        if self._writer is not None:
            await maybe_deferred_to_future(self._writer.drained())

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
        if not self._buffer or self._writer is None:
            return
        batch, self._buffer = self._buffer, []
        self._batches_in_flight += 1
        written = self._writer.submit(lambda session: self._write(session, batch))
        written.addCallbacks(
            self._count, self._write_failed, callbackArgs=(batch,), errbackArgs=(batch,)
        )

    def _write_failed(self, failure: Any, batch: list[ArticleItem]) -> None:
        self._batches_in_flight -= 1
        logger.error(
            "Storing a batch of %d articles failed",
            len(batch),
            exc_info=(failure.type, failure.value, failure.getTracebackObject()),
        )
        for item in batch:
            _count(self.crawler, item, "error/store")
        self._done(batch)

    def _count(self, outcomes: list[list[str]], batch: list[ArticleItem]) -> None:
        # On the reactor thread, like every other count.
        self._batches_in_flight -= 1
        for item, counted in zip(batch, outcomes, strict=True):
            for outcome in counted:
                _count(self.crawler, item, outcome)
        self._done(batch)

    def _done(self, batch: list[ArticleItem]) -> None:
        spider = self.crawler.spider
        if isinstance(spider, NewsSpider):
            for item in batch:
                spider.item_done(item)

    def _write(self, session: Session, batch: list[ArticleItem]) -> list[list[str]]:
        """Each article's outcomes, returned (and counted) only after the commit: a batch
        that rolled back stored nothing."""
        outcomes: list[list[str]] = [[] for _ in batch]
        # Pages remembered without article text that gave some this time are forgotten (one
        # statement for the batch; with the batch if it rolls back).
        empty_store.forget(session, _page_keys(batch))
        # Plainly new articles (most of a first crawl) in a few statements for the batch;
        # the rest (copies, updates, re-checks) one by one, each in its own savepoint.
        records = [to_record(item) for item in batch]
        try:
            with session.begin_nested():
                fresh = articles.store_new_articles(session, records)
        except SQLAlchemyError:
            logger.warning("Storing a batch in bulk failed; storing one by one", exc_info=True)
            fresh = {}
        self._index_new(session, [(i, batch[i], r) for i, r in fresh.items()], outcomes)
        for i, item in enumerate(batch):
            if i in fresh:
                continue
            try:
                with session.begin_nested():
                    outcomes[i].extend(self._store(session, item))
            except SQLAlchemyError:
                logger.warning("Storing %s failed", item.article.url, exc_info=True)
                outcomes[i].append("error/store")
        return outcomes

    def _index_new(
        self,
        session: Session,
        stored: list[tuple[int, ArticleItem, articles.StoreResult]],
        outcomes: list[list[str]],
    ) -> None:
        search.add_search_words(session, [(r.article_id, i.search_words) for _, i, r in stored])
        for at, _, _ in stored:
            outcomes[at].append("store/new")
        if not self._watchlists:
            return
        matches: list[tuple[int, Any, Any]] = []
        for at, item, result in stored:
            mine = [m for m in item.matches if m.watchlist in self._watchlists]
            matches.extend((result.article_id, m, item.fetched_at) for m in mine)
            if mine:
                outcomes[at].append("flag/articles")
                outcomes[at].extend(["flag/new"] * len(mine))
        match_store.add_new_matches(session, matches)

    def _store(self, session: Session, item: ArticleItem) -> list[str]:
        result = articles.store_article(session, to_record(item))
        outcomes = [f"store/{result.outcome.value}"]
        if result.replaced or result.outcome in (
            articles.Outcome.NEW,
            articles.Outcome.UPDATED,
        ):
            search.set_search_words(session, result.article_id, item.search_words)
            if self._watchlists:
                article = session.get_one(Article, result.article_id)
                flags = match_store.save_matches(
                    session, article, item.matches, self._watchlists, item.fetched_at
                )
                matched = [w for w, status in flags.items() if status != "removed"]
                if matched:
                    outcomes.append("flag/articles")
                outcomes.extend(f"flag/{status}" for status in flags.values())
        return outcomes
