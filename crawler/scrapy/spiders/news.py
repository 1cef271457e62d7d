"""The ``news`` spider: any number of sources in one crawl.

``-a source=NAME``, ``-a sources=A,B`` or neither (every configured source). Each source gets a
run of its own (``crawler.scrapy.sourceruns``): its requests and pages carry its name and run token,
its counts and listings' validators are its own, and its run ends when its own work is done.
At most ``[crawl] sources_at_once`` runs are in progress; the others wait their turn. With
``-a serve=true`` (the daemon's engine, ``crawler.scrapy.engine``) the spider stays open when idle
and takes sources as they come due.

For each run it reads the source's feeds, sitemaps and section pages, skips article URLs already
stored (unless their feed or sitemap says they changed since) and hands each article page to the
pipelines as raw bytes: extraction happens there, not here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.cluster.share import ClusterShare
from crawler.config import Config, ConfigError, SourceConfig, find_config, load_config
from crawler.discover import links as discovery
from crawler.discover.links import DiscoveryError, Entry
from crawler.items import PageItem
from crawler.scrapy.database import database_of
from crawler.scrapy.dbwriter import DbWriter
from crawler.scrapy.failures import failure_kind
from crawler.scrapy.sourceruns import RUN_META, SOURCE_META, EndedRun, RunBook, SourceRun
from storage import articles as article_store
from storage import listings
from storage.migrate import SchemaError, ensure_schema
from storage.urlkeys import host_of, url_key

logger = logging.getLogger(__name__)

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
# Longer URLs are skipped (and counted): the length browsers and Scrapy's own limit accept.
MAX_URL_LENGTH = 2083
# How often runs are checked against the time limit (seconds).
TIME_LIMIT_CHECK = 2.0
# Child sitemaps followed from one sitemap index, and in one source's run (indexes of indexes
# included), the newest first: a news site's recent articles are in its few newest sitemaps,
# and an index listing 100,000 of them must not cost 100,000 requests a poll. The rest are
# counted (error/too_many_sitemaps once per index cut, discover/sitemaps_skipped each).
MAX_SITEMAPS_PER_INDEX = 1000
MAX_SITEMAPS_PER_RUN = 2000
USAGE = "usage: scrapy crawl news [-a source=NAME | -a sources=A,B] [-a config=FILE]"


def _newer(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a > b)


class NewsArgs(BaseModel):
    """The spider's ``-a`` arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = None
    sources: str | None = None  # comma-separated; with neither: every configured source
    config: str | None = None
    # The daemon's engine: open until stopped, fed sources as they come due.
    serve: bool = False
    # A cluster worker's engine: open until stopped, in every run announced in the frontier.
    cluster: bool = False
    # Seconds a run may take before it is ended as timed out (0: no limit).
    time_limit: float = 0

    @model_validator(mode="after")
    def _one_way(self) -> NewsArgs:
        if self.source is not None and self.sources is not None:
            raise ValueError("give either source or sources, not both")
        return self

    @property
    def names(self) -> list[str] | None:
        if self.source is not None:
            return [self.source]
        if self.sources is not None:
            return [n.strip() for n in self.sources.split(",") if n.strip()]
        return None


def _newest_first(entries: list[Entry], keep: int) -> list[Entry]:
    """The ``keep`` most recently changed of ``entries`` (undated last), in their own order."""
    if len(entries) <= keep:
        return entries

    def newest(i: int) -> tuple[bool, float]:
        changed = entries[i].changed
        return (changed is None, -changed.timestamp() if changed else 0.0)

    return [entries[i] for i in sorted(sorted(range(len(entries)), key=newest)[:keep])]


def _charset(response: Response) -> str | None:
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def _is_html(response: Response) -> bool:
    content_type = (response.headers.get(b"Content-Type") or b"").lower()
    if content_type:
        return content_type.split(b";")[0].strip() in _HTML_TYPES
    return discovery.sniff(response.body[:4096]) == "html"


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
        for key, value in {
            "USER_AGENT": crawl.user_agent,
            "ROBOTSTXT_OBEY": crawl.obey_robots,
            "CONCURRENT_REQUESTS": crawl.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
            "DOWNLOAD_DELAY": crawl.download_delay.total_seconds(),
            "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
            "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay.total_seconds(), 0.1),
            "DOWNLOAD_TIMEOUT": crawl.timeout.total_seconds(),
            "RETRY_TIMES": crawl.retries,
            "DOWNLOAD_MAXSIZE": crawl.max_page_size,
            "PRESSWATCH_DATABASE_URL": self.config.database_url,
            "PRESSWATCH_STORY_WINDOW": self.config.storage.story_window.total_seconds(),
            "PRESSWATCH_WORKERS": crawl.workers,
            "PRESSWATCH_EXTRACT_TIMEOUT": crawl.extract_timeout.total_seconds(),
            "PRESSWATCH_ROBOTS_TTL": crawl.robots_ttl.total_seconds(),
        }.items():
            settings.set(key, value, priority="spider")
        self._reader = database.reads
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
            self.cluster = ClusterShare(self)
            for key, value in self.cluster.settings().items():
                settings.set(key, value, priority="spider")
        self.runs.on_end.append(self._run_ended)
        # Domains are checked per source (crawler.scrapy.middlewares.SourceGate, _articles);
        # Scrapy's own offsite filter knows one list for the whole spider.
        self._links = LinkExtractor(unique=True)
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

    def validators_of(self, sources: list[str]) -> dict[str, dict[str, listings.ListingState]]:
        try:
            with self._reader() as session:
                return listings.listing_states_of(session, sources)
        except SQLAlchemyError:
            logger.warning("Cannot read the listings' validators; fetching them all", exc_info=True)
            return {}

    def _start_run(self, run: SourceRun) -> None:
        if run.external:
            return  # a cluster run's seeds are the daemon's, taken from the frontier
        assert self.crawler.engine is not None
        for request in self._seeds(run):
            self.crawler.engine.crawl(request)

    def _seeds(self, run: SourceRun) -> Iterator[Request]:
        for url in run.source.feeds:
            yield self.listing(run, url, self.parse_feed, conditional=True)
        for url in run.source.sitemaps:
            yield self.listing(run, url, self.parse_sitemap, conditional=True)
        for url in run.source.pages:
            run.listings_changed = True  # a section page has no validators: always read
            yield self.listing(run, url, self.parse_page, depth=1)

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

    # -- requests ------------------------------------------------------------------------------

    def _request(self, run: SourceRun, url: str, callback: Any, **kwargs: Any) -> Request:
        meta = kwargs.pop("meta", {})
        meta[SOURCE_META] = run.name
        meta[RUN_META] = run.token
        request = Request(url, callback=callback, errback=self.on_error, meta=meta, **kwargs)
        if not run.external:  # a cluster run's request is counted by whoever takes it
            self.runs.taken(run)
        return request

    def listing(
        self, run: SourceRun, url: str, callback: Any, depth: int = 0, conditional: bool = False
    ) -> Request:
        """A request for a feed, sitemap or section page. Feeds and sitemaps are asked for
        conditionally (If-None-Match / If-Modified-Since) when the last crawl saw them whole."""
        headers = {}
        meta: dict[str, Any] = {"pw_depth": depth}
        if callback == self.parse_sitemap:
            # The sitemaps protocol allows 50 MB, whatever a page may weigh (max_page_size).
            meta["download_maxsize"] = discovery.MAX_SITEMAP_BYTES
        if conditional:
            meta["handle_httpstatus_list"] = [304]
            state = run.validators.get(url_key(url))
            if state is not None:
                if state.etag:
                    headers["If-None-Match"] = state.etag
                if state.last_modified:
                    headers["If-Modified-Since"] = state.last_modified
        return self._request(
            run, url, callback, priority=10, dont_filter=True, headers=headers, meta=meta
        )

    def _run_of(self, response: Response) -> SourceRun | None:
        return self.runs.run_of(response.meta)

    def _not_modified(self, run: SourceRun, response: Response) -> bool:
        """A 304: nothing to parse. A sitemap index's children are still checked, each with
        its own validators (a news sitemap changes while its index stays the same)."""
        if response.status != 304:
            run.listings_changed = True
            return False
        self._count(run, "fetch/not_modified")
        key = url_key(response.url)
        state = run.validators.get(key)
        if state is not None:
            run.fetched_listings[key] = state
        return True

    def _remember(
        self, run: SourceRun, response: Response, children: list[str] | None = None
    ) -> None:
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        state = listings.ListingState(
            response.url,
            etag.decode("latin-1") if etag else None,
            modified.decode("latin-1") if modified else None,
            children or [],
        )
        # Under the address configured too, when the listing redirected (/rss -> /feed.rss).
        for url in {response.url, *(response.meta.get("redirect_urls") or [])[:1]}:
            run.fetched_listings[url_key(url)] = state

    def _count(self, run: SourceRun | None, key: str, value: int = 1) -> None:
        self.runs.count(run, key, value)

    # -- callbacks: each ends what its request had out, however it ends ----------------------

    def parse_feed(self, response: Response) -> Iterator[Request]:
        run = self._run_of(response)
        if run is None:
            return
        try:
            yield from self._feed(run, response)
        finally:
            self.runs.done(run)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        run = self._run_of(response)
        if run is None:
            return
        try:
            yield from self._sitemap(run, response)
        finally:
            self.runs.done(run)

    def parse_page(self, response: Response) -> Iterator[Request]:
        run = self._run_of(response)
        if run is None:
            return
        try:
            yield from self._page(run, response)
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
                self._count(run, "discover/offsite")
                return
            self._count(run, f"error/{kind}")
            logger.info("Failed (%s): %s", kind, request.url if request is not None else "?")
            self.retry_later(run, request.meta.get("pw_listing") if request is not None else None)
        finally:
            self.runs.done(run)

    # -- listings ------------------------------------------------------------------------------

    def _feed(self, run: SourceRun, response: Response) -> Iterator[Request]:
        self._count(run, "fetch/pages")
        if self._not_modified(run, response):
            return
        kind = discovery.sniff(response.body)
        if kind == "sitemap":
            yield from self._sitemap(run, response, counted=True)
            return
        if kind == "html":
            yield from self._page(run, response, counted=True)
            return
        try:
            entries = discovery.parse_feed(response.body, response.url)
        except DiscoveryError as exc:
            self._count(run, f"error/{exc.kind or 'bad_feed'}")
            logger.warning("Feed %s is unreadable: %s", response.url, exc)
            return
        self._count(run, "discover/feed_entries", len(entries))
        self._remember(run, response)
        yield from self._articles(run, entries, listing=url_key(response.url))

    def _sitemap(
        self, run: SourceRun, response: Response, counted: bool = False
    ) -> Iterator[Request]:
        if not counted:
            self._count(run, "fetch/pages")
        if self._not_modified(run, response):
            state = run.validators.get(url_key(response.url))
            children = [Entry(url) for url in state.children] if state is not None else []
            yield from self._follow(run, response.url, children)
            return
        try:
            sitemap = discovery.parse_sitemap(response.body, response.url)
        except DiscoveryError as exc:
            self._count(run, f"error/{exc.kind or 'bad_sitemap'}")
            logger.warning("Sitemap %s is unreadable: %s", response.url, exc)
            return
        if sitemap.capped:
            self._count(run, "error/too_many_urls")
            logger.warning(
                "Sitemap %s lists more than %d entries: the rest are not read",
                response.url,
                len(sitemap.entries),
            )
        if sitemap.kind == "urlset":
            self._count(run, "discover/sitemap_entries", len(sitemap.entries))
            self._remember(run, response)
            yield from self._articles(run, sitemap.entries, listing=url_key(response.url))
            return
        children = []
        for entry in sitemap.entries:
            if self._too_old(run, entry):
                self._count(run, "discover/old_sitemap")
                continue
            if run.allowed(host_of(entry.url)):
                children.append(entry)
        followed = yield from self._follow(run, response.url, children)
        self._remember(run, response, followed)

    def _follow(
        self, run: SourceRun, index: str, children: list[Entry]
    ) -> Generator[Request, None, list[str]]:
        """Requests for an index's child sitemaps, within the caps (the newest kept); returns
        the URLs followed."""
        room = max(
            0,
            min(MAX_SITEMAPS_PER_INDEX, MAX_SITEMAPS_PER_RUN - run.counts["discover/sitemaps"]),
        )
        if len(children) > room:
            self._count(run, "error/too_many_sitemaps")
            self._count(run, "discover/sitemaps_skipped", len(children) - room)
            logger.warning(
                "Sitemap index %s: %d child sitemaps, %d followed (the newest); the cap is %d "
                "an index and %d a run",
                index,
                len(children),
                room,
                MAX_SITEMAPS_PER_INDEX,
                MAX_SITEMAPS_PER_RUN,
            )
            children = _newest_first(children, room)
        for child in children:
            self._count(run, "discover/sitemaps")
            yield self.listing(run, child.url, self.parse_sitemap, conditional=True)
        return [child.url for child in children]

    def _page(self, run: SourceRun, response: Response, counted: bool = False) -> Iterator[Request]:
        if not counted:
            self._count(run, "fetch/pages")
        if not isinstance(response, TextResponse) or not _is_html(response):
            self._count(run, "error/not_html")
            return
        depth = int(response.meta.get("pw_depth", 1))
        articles: list[Entry] = []
        for link in self._links.extract_links(response):
            if self._is_article(run, link.url):
                articles.append(Entry(url=link.url))
            elif depth < self.config.crawl.page_depth and run.allowed(host_of(link.url)):
                key = url_key(link.url)
                if key not in run.listings:
                    run.listings.add(key)
                    yield self.listing(run, link.url, self.parse_page, depth=depth + 1)
        self._count(run, "discover/page_links", len(articles))
        yield from self._articles(run, articles)

    # -- articles ------------------------------------------------------------------------------

    @staticmethod
    def _is_article(run: SourceRun, url: str) -> bool:
        if run.pattern is not None:
            return bool(run.pattern.search(url))
        return discovery.looks_like_article(url)

    @staticmethod
    def _too_old(run: SourceRun, entry: Entry) -> bool:
        return entry.dated is not None and entry.dated < run.age_cutoff

    def _articles(
        self, run: SourceRun, entries: Iterable[Entry], listing: str | None = None
    ) -> Iterator[Request]:
        """Requests for the entries worth fetching: allowed, recent, not requested yet in this
        run, and not stored already (or stored before their listing says they changed)."""
        fresh: dict[str, Entry] = {}
        for entry in entries:
            if not run.allowed(host_of(entry.url)):
                self._count(run, "discover/offsite")
                continue
            if run.pattern is not None and not run.pattern.search(entry.url):
                self._count(run, "discover/not_article")
                continue
            if self._too_old(run, entry):
                self._count(run, "discover/too_old")
                continue
            if len(entry.url) > MAX_URL_LENGTH:
                self._count(run, "discover/url_too_long")
                continue
            key = url_key(entry.url)
            if key in run.requested:
                continue
            previous = fresh.get(key)
            if previous is None or _newer(entry.changed, previous.changed):
                fresh[key] = entry
        if not fresh:
            return
        unknown = [key for key in fresh if key not in run.known]
        if unknown:
            try:
                with self._reader() as session:
                    found = article_store.known_urls(session, unknown)
            except SQLAlchemyError:
                logger.warning("Known-URL check failed; fetching the listed URLs", exc_info=True)
                found = {}
            for key in unknown:
                run.known[key] = found.get(key)
        for key, entry in fresh.items():
            # Scrapy consumes callbacks' output lazily, interleaving listings: another listing
            # may have requested this URL since the check above.
            if key in run.requested:
                continue
            checked = run.known[key]
            if checked is not None and (entry.changed is None or entry.changed <= checked):
                self._count(run, "discover/known")
                continue
            if checked is not None:
                self._count(run, "discover/changed")
            run.requested.add(key)
            meta: dict[str, Any] = {"pw_listed": entry.published, "pw_listing": listing}
            if run.external:
                meta["pw_claim"] = key  # across workers: the run's scheduler claims it
            yield self._request(
                run,
                entry.url,
                self.parse_article,
                # Duplicates are filtered by URL key above; a redirect loop must reach the
                # redirect limit (and be counted) instead of vanishing in the dupefilter.
                dont_filter=True,
                meta=meta,
            )

    def _article(self, run: SourceRun, response: Response) -> Iterator[PageItem]:
        self._count(run, "fetch/pages")
        self._count(run, "fetch/articles")
        if not isinstance(response, TextResponse) or not _is_html(response):
            self._count(run, "error/not_html")
            logger.info("Not an HTML page: %s", response.url)
            return
        redirects = response.meta.get("redirect_urls") or []
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
            run_token=run.token,
        )

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
