"""The ``news`` spider: any number of sources in one crawl.

``-a source=NAME``, ``-a sources=A,B`` or neither (every configured source). Each source gets a
run of its own (``crawler.scrapy.sourceruns``): its requests and pages carry its name and run token,
its counts and listings' validators are its own, and its run ends when its own work is done.
At most ``[crawl] sources_at_once`` runs are in progress; the others wait their turn. With
``-a serve=true`` (the daemon's engine, ``crawler.scrapy.engine``) the spider stays open when idle
and takes sources as they come due.

This module is the spider: it takes sources in and runs out, and hands each response to what
reads it. A run's feeds, sitemaps and section pages are read by ``crawler.scrapy.listings``,
which asks for the articles worth fetching; each article page goes to the pipelines as raw
bytes (extraction happens there, not here). Its ``-a`` arguments are ``crawler.scrapy.arguments``,
and the settings its config sets ``crawler.scrapy.settings.from_config``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.config import Config, ConfigError, SourceConfig, find_config, load_config
from crawler.items import PageItem
from crawler.scrapy import settings as scrapy_settings
from crawler.scrapy.arguments import USAGE, NewsArgs
from crawler.scrapy.database import database_of
from crawler.scrapy.dbwriter import DbWriter
from crawler.scrapy.failures import failure_kind
from crawler.scrapy.listings import ListingReader, is_html
from crawler.scrapy.sourceruns import RUN_META, SOURCE_META, EndedRun, RunBook, SourceRun
from storage import emptypages as empty_store
from storage import listings as listing_store
from storage.migrate import SchemaError, ensure_schema
from storage.urlkeys import url_key

if TYPE_CHECKING:
    from crawler.cluster.share import ClusterShare

logger = logging.getLogger(__name__)

# How often runs are checked against the time limit (seconds).
TIME_LIMIT_CHECK = 2.0


def _charset(response: Response) -> str | None:
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


class NewsSpider(Spider):
    name = "news"

    config: Config
    runs: RunBook
    writer: DbWriter
    serve: bool = False
    _setup_error: tuple[str, str] | None = None
    _timer: task.LoopingCall | None = None
    _names: list[str]
    cluster: ClusterShare | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = cast(NewsSpider, super().from_crawler(crawler, *args, **kwargs))
        spider._setup(crawler, kwargs)
        return spider

    def _setup(self, crawler: Crawler, kwargs: dict[str, Any]) -> None:
        settings = crawler.settings
        # Filled by the pipelines: whether all they accepted is written (flushing if not).
        self.settled_checks: list[Callable[[], bool]] = []
        self._closing = False
        self._draining = False
        try:
            args = NewsArgs.model_validate(kwargs)
        except ValidationError as exc:
            problem = exc.errors()[0]
            name = ".".join(str(p) for p in problem["loc"]) or "arguments"
            self._setup_error = ("bad_arguments", f"argument {name!r}: {problem['msg']} ({USAGE})")
            return
        try:
            self.config = load_config(find_config(args.config))
            names = args.names
            if names is None:
                names = [s.name for s in self.config.sources]
            for name in names:
                self.config.source(name)
            # The crawler's engines, for everything of this crawl (crawler.scrapy.database).
            database = database_of(crawler, self.config.database_url)
            ensure_schema(database.writer)
        except ConfigError as exc:
            self._setup_error = ("config_error", str(exc))
            return
        except (SchemaError, SQLAlchemyError) as exc:
            self._setup_error = ("storage_error", f"storage: {exc}")
            return
        self._names = names
        self.serve = args.serve
        if args.cluster and self.config.cluster is None:
            self._setup_error = (
                "config_error",
                f"-a cluster=true needs a [cluster] redis_url in {self.config.path}",
            )
            return
        self.serve = args.serve or args.cluster
        if args.cluster:
            self._names = []
        crawl = self.config.crawl
        for key, value in scrapy_settings.from_config(self.config).items():
            settings.set(key, value, priority="spider")
        self._reads = database.reads
        self.writer = DbWriter(database.writer, self.config.storage.story_window)
        # (Scrapy's own CLOSESPIDER_TIMEOUT, if set, still limits the whole crawl.)
        time_limit = args.time_limit
        self.runs = RunBook(
            self.writer,
            limit=crawl.sources_at_once,
            max_article_age=crawl.max_article_age,
            time_limit=timedelta(seconds=time_limit) if time_limit else None,
            count_global=self._count_global,
            keep_ended=not self.serve,
        )
        self.runs.on_start.append(self._start_run)
        if args.cluster:
            # Here, not at the top: the cluster needs the `cluster` extra (redis), which a
            # single-machine install does not have.
            from crawler.cluster.share import ClusterShare

            self.cluster = ClusterShare(self)
            for key, value in self.cluster.settings().items():
                settings.set(key, value, priority="spider")
        self.runs.on_end.append(self._run_ended)
        self.listings = ListingReader(self, self.runs, self._reads)
        self._timer: task.LoopingCall | None = None  # made in start(): it needs the reactor

    def _count_global(self, key: str, value: int) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, value)

    # -- sources in, runs out -----------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self._setup_error:
            reason, message = self._setup_error
            logger.error("%s", message)
            raise CloseSpider(reason)
        self.crawler.signals.connect(self._idle, signal=signals.spider_idle)
        self.crawler.signals.connect(self._dropped, signal=signals.request_dropped)
        self.crawler.signals.connect(self._item_gone, signal=signals.item_dropped)
        self.crawler.signals.connect(self._item_gone, signal=signals.item_error)
        if self.cluster is not None:
            self.cluster.start()
            return
        self._timer = task.LoopingCall(self._end_overdue)
        self._timer.start(TIME_LIMIT_CHECK, now=False)
        for name in self._names:
            self.runs.due(self.config.source(name))
        self._start_waiting()
        for _ in ():
            yield

    def crawl_source(self, source: SourceConfig) -> bool:
        """Take ``source`` for a run (the daemon's engine): False if it is running or waiting,
        or the engine is draining."""
        if self._draining or not self.runs.due(source):
            return False
        self._start_waiting()
        return True

    @property
    def draining(self) -> bool:
        return self._draining

    def drain(self) -> list[str]:
        """Take no more sources; close once the runs in progress have ended. The sources
        still waiting are given back (returned), for the engine that takes over."""
        self._draining = True
        self.serve = False
        given_back = list(self.runs.waiting)
        for name in given_back:
            self.runs.forget(name)
        if not self.runs.busy:
            self._close("finished")
        return given_back

    def stop(self) -> None:
        """Close now: pages being downloaded or processed finish, the rest is dropped, and the
        runs in progress are recorded as stopped."""
        self._close("shutdown")

    def _close(self, reason: str) -> None:
        if self._closing or self.crawler.engine is None:
            return
        self._closing = True
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def reconfigure(self, config: Config) -> list[str]:
        """A new config (SIGHUP): sources removed wait no more (returned); runs in progress
        go on."""
        self.config = config
        names = {s.name for s in config.sources}
        forgotten = [name for name in self.runs.waiting if name not in names]
        for name in forgotten:
            self.runs.forget(name)
        return forgotten

    def _start_waiting(self) -> None:
        self.runs.start_waiting(self.validators_of)

    def validators_of(self, sources: list[str]) -> dict[str, dict[str, listing_store.ListingState]]:
        try:
            with self._reads() as session:
                return listing_store.listing_states_of(session, sources)
        except SQLAlchemyError:
            logger.warning("Cannot read the listings' validators; fetching them all", exc_info=True)
            return {}

    def _start_run(self, run: SourceRun) -> None:
        if run.external:
            return  # a cluster run's seeds are the daemon's, taken from the frontier
        assert self.crawler.engine is not None
        for request in self.listings.seeds(run):
            self.crawler.engine.crawl(request)

    def _run_ended(self, ended: EndedRun) -> None:
        self._start_waiting()
        if not self.serve and not self.runs.busy:
            # The last run is over: close now rather than at the engine's next idle check (5 s).
            self._close("finished")

    def _end_overdue(self) -> None:
        for run in self.runs.overdue():
            logger.warning("%s: run past its time limit; ended as timed out", run.name)
            self.runs.end(run, "closespider_timeout")

    def _idle(self) -> None:
        """Nothing scheduled, downloading or being scraped. The daemon's engine waits for more
        sources; a crawl waits for its runs' last pages to be stored. A run with nothing in
        the engine and everything stored is over, whatever its own accounting says."""
        if self.cluster is None and self.settled():
            for run in list(self.runs.active.values()):
                if not run.ending and not run.external:
                    # A bookkeeping slip (a request or page counted out and never back):
                    # the run is over all the same, and said so.
                    logger.warning(
                        "%s: the engine is idle with %d of the run still counted out; ending it",
                        run.name,
                        run.pending,
                    )
                    self.runs.end(run, "finished")
        if self.serve or self.runs.busy:
            raise DontCloseSpider

    def settled(self) -> bool:
        """Everything the pipelines accepted is written (flushing what waits if not)."""
        return all(check() for check in self.settled_checks) and self.writer.idle

    def cluster_runs(self) -> list[int]:
        """The cluster runs this worker takes part in (its scheduler's queues)."""
        return self.cluster.run_ids() if self.cluster is not None else []

    def took_from_frontier(self, run_id: int) -> None:
        if self.cluster is not None:
            self.cluster.took(run_id)

    def released_to_frontier(self, run_id: int) -> None:
        if self.cluster is not None:
            self.cluster.released(run_id)

    def _dropped(self, request: Request, spider: Spider) -> None:
        run = self.runs.run_of(request.meta)
        if run is not None and not run.external:  # a cluster run's count starts when taken
            self.runs.done(run)

    def _item_gone(self, item: Any, **_: Any) -> None:
        self.item_done(item)

    def item_done(self, item: Any) -> None:
        if isinstance(item, PageItem) or hasattr(item, "run_token"):
            self.runs.done(self.run_for_item(item))

    def run_for_item(self, item: Any) -> SourceRun | None:
        return self.runs.run_of({SOURCE_META: item.source, RUN_META: item.run_token})

    # -- callbacks: each ends what its request had out, however it ends ----------------------

    def _run_of(self, response: Response) -> SourceRun | None:
        return self.runs.run_of(response.meta)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        run = self._run_of(response)
        if run is None:
            return
        try:
            yield from self.listings.feed(run, response)
        finally:
            self.runs.done(run)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        run = self._run_of(response)
        if run is None:
            return
        try:
            yield from self.listings.sitemap(run, response)
        finally:
            self.runs.done(run)

    def parse_page(self, response: Response) -> Iterator[Request]:
        run = self._run_of(response)
        if run is None:
            return
        try:
            yield from self.listings.page(run, response)
        finally:
            self.runs.done(run)

    def parse_article(self, response: Response) -> Iterator[PageItem]:
        run = self._run_of(response)
        if run is None:
            return
        try:
            yield from self._article(run, response)
        finally:
            self.runs.done(run)

    def on_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        run = self.runs.run_of(request.meta) if request is not None else None
        if run is None:
            return
        try:
            kind = failure_kind(failure)
            if kind == "offsite":
                self.runs.count(run, "discover/offsite")
                return
            self.runs.count(run, f"error/{kind}")
            logger.info("Failed (%s): %s", kind, request.url if request is not None else "?")
            self.retry_later(run, request.meta.get("pw_listing") if request is not None else None)
        finally:
            self.runs.done(run)

    # -- articles ------------------------------------------------------------------------------

    def _article(self, run: SourceRun, response: Response) -> Iterator[PageItem]:
        self.runs.count(run, "fetch/pages")
        self.runs.count(run, "fetch/articles")
        redirects = response.meta.get("redirect_urls") or []
        if not isinstance(response, TextResponse) or not is_html(response):
            self.runs.count(run, "error/not_html")
            logger.info("Not an HTML page: %s", response.url)
            self.remember_empty(
                run.name,
                response.url,
                redirects[0] if redirects else None,
                response.meta.get("pw_changed"),
                "not html",
            )
            return
        self.runs.taken(run)  # until the page is stored or dropped
        yield PageItem(
            source=run.name,
            url=response.url,
            body=response.body,
            fetched_at=datetime.now(UTC),
            encoding=_charset(response),
            requested_url=redirects[0] if redirects else None,
            listed_published=response.meta.get("pw_listed"),
            listing=response.meta.get("pw_listing"),
            listed_changed=response.meta.get("pw_changed"),
            run_token=run.token,
        )

    def remember_empty(
        self,
        source: str,
        url: str,
        requested_url: str | None,
        listed_changed: datetime | None,
        reason: str,
    ) -> None:
        """A page that gave no article text: remembered (through the one writer) under the
        URL its listing gave, so that the next crawls fetch it only when that listing's date
        for it changes or ``[crawl] empty_retry`` has passed (``crawler.scrapy.listings``)."""
        page = empty_store.EmptyPageRecord(
            url_key(requested_url or url), source, url, reason, listed_changed
        )
        now = datetime.now(UTC)

        def write(session: Session) -> None:
            empty_store.remember_empty(session, [page], now)

        def failed(failure: Failure) -> None:
            logger.warning(
                "Cannot remember %s as a page without article text",
                url,
                exc_info=(failure.type, failure.value, failure.getTracebackObject()),
            )

        self.writer.submit(write).addErrback(failed)

    def retry_later(self, run: SourceRun | None, listing: str | None) -> None:
        """An article of ``listing`` (a URL key) was not stored this time: ask for that listing
        unconditionally next time, so that the article is tried again."""
        if run is None:
            return
        if listing and listing in run.fetched_listings:
            state = run.fetched_listings[listing]
            for key, other in run.fetched_listings.items():
                if other is state:
                    run.incomplete.add(key)
        if listing:
            run.incomplete.add(listing)

    async def closed(self, reason: str) -> None:
        """End every run still in progress (a stopped crawl's as stopped: it saves no
        validators, not having fetched all its listings offered), then let the writer finish."""
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        if self.cluster is not None:
            self.cluster.close(reason)
        if self._setup_error is not None or not hasattr(self, "runs"):
            return
        self.runs.end_all(reason)
        await maybe_deferred_to_future(self.writer.drained())
