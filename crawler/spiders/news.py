"""The ``news`` spider: one source per crawl, found by ``-a source=NAME``.

It reads the source's feeds, sitemaps and section pages, skips article URLs already stored
(unless their feed or sitemap says they changed since) and hands each article page to the
pipelines as raw bytes: extraction happens there, not here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, ValidationError
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.settings import Settings
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import task
from twisted.python.failure import Failure

from crawler import discovery
from crawler.config import Config, ConfigError, SourceConfig, find_config, load_config
from crawler.discovery import DiscoveryError, Entry
from crawler.failures import failure_kind
from crawler.items import PageItem
from storage import repository
from storage.engine import make_engine, make_sessionmaker
from storage.migrate import SchemaError, ensure_schema
from storage.urlkeys import host_of, url_key

logger = logging.getLogger(__name__)

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def _newer(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a > b)


class NewsArgs(BaseModel):
    """The spider's ``-a`` arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    config: str | None = None
    # Cluster mode: the crawl-run id the daemon announced in the shared frontier.
    run: int | None = None


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
    source: SourceConfig
    _setup_error: tuple[str, str] | None = None
    run_id: int | None = None  # cluster mode
    frontier: Any = None
    worker: str = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = cast(NewsSpider, super().from_crawler(crawler, *args, **kwargs))
        spider._setup(crawler.settings, kwargs)
        return spider

    def _setup(self, settings: Settings, kwargs: dict[str, Any]) -> None:
        try:
            args = NewsArgs.model_validate(kwargs)
        except ValidationError as exc:
            problem = exc.errors()[0]
            name = ".".join(str(p) for p in problem["loc"])
            self._setup_error = (
                "bad_arguments",
                f"argument {name!r}: {problem['msg']} (usage: scrapy crawl news -a source=NAME "
                "[-a config=FILE])",
            )
            return
        try:
            self.config = load_config(find_config(args.config))
            self.source = self.config.source(args.source)
            engine = make_engine(self.config.database_url)
            try:
                ensure_schema(engine)
            finally:
                engine.dispose()
        except ConfigError as exc:
            self._setup_error = ("config_error", str(exc))
            return
        except (SchemaError, SQLAlchemyError) as exc:
            self._setup_error = ("storage_error", f"storage: {exc}")
            return
        if args.run is not None:
            if self.config.cluster is None:
                self._setup_error = (
                    "config_error",
                    f"-a run={args.run} needs a [cluster] redis_url in {self.config.path}",
                )
                return
            self._cluster_setup(settings, args.run)

        self.allowed_domains = self.source.domains
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
        }.items():
            settings.set(key, value, priority="spider")
        self._article_pattern = (
            re.compile(self.source.article_pattern) if self.source.article_pattern else None
        )
        self._age_cutoff = datetime.now(UTC) - crawl.max_article_age
        self._listings: set[str] = set()  # URL keys of section pages requested
        self._requested: set[str] = set()  # URL keys of articles requested
        # URL key -> when its article was last fetched (None: not stored), per listed URL.
        self._known: dict[str, datetime | None] = {}
        self._reader = make_sessionmaker(make_engine(self.config.database_url, write=False))
        # Feeds and sitemaps as last fetched (validators for conditional requests), and what
        # this crawl learns of them, saved when it finishes.
        try:
            with self._reader() as session:
                self._validators = repository.listing_states(session, self.source.name)
        except SQLAlchemyError:
            logger.warning("Cannot read the listings' validators; fetching them all", exc_info=True)
            self._validators = {}
        self._fetched_listings: dict[str, repository.ListingState] = {}
        self._incomplete: set[str] = set()  # listings with an article that failed to download
        # Domains are checked by _allowed (on the host name): the extractor's own allow_domains
        # compares against host:port and drops every link on a site served on a port.
        self._links = LinkExtractor(unique=True)

    def _cluster_setup(self, settings: Settings, run: int) -> None:
        """Take part in run ``run`` of the shared frontier (see crawler.cluster)."""
        from crawler.cluster import Frontier
        from crawler.frontier import worker_id

        cluster = self.config.cluster
        assert cluster is not None
        self.run_id = run
        self.worker = worker_id()
        self.frontier = Frontier(cluster)
        self._writer = make_sessionmaker(make_engine(self.config.database_url))
        self._reported: repository.RunCounts | None = None
        for key, value in {
            "SCHEDULER": "crawler.frontier.RunScheduler",
            # (replaced by the run's filter; named so scrapy-redis does not build Scrapy's own)
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "REDIS_URL": cluster.redis_url,
            "PRESSWATCH_RUN_ID": run,
            "PRESSWATCH_CLUSTER_PREFIX": cluster.key_prefix,
            "PRESSWATCH_WORKER_ID": self.worker,
        }.items():
            settings.set(key, value, priority="spider")
        self.crawler.signals.connect(self._cluster_idle, signal=signals.spider_idle)
        self.crawler.signals.connect(self._cluster_opened, signal=signals.spider_opened)
        self._poke = task.LoopingCall(self._poke_engine)

    def _cluster_opened(self, spider: Spider) -> None:
        self.frontier.join(self.run_id, self.worker)
        self._poke.start(0.5, now=False)

    def _poke_engine(self) -> None:
        # Another worker may push requests at any moment: look for them twice a second
        # rather than at Scrapy's idle heartbeat (5 s).
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()

    def _cluster_idle(self, spider: Spider) -> None:
        """Idle: all this worker took is done (pages fetched, links pushed, articles stored
        once the storage pipeline has settled): its counts go into the run, and it is dropped
        from its processing list. The crawl stays open while any of the run is left anywhere;
        a run abandoned at its time limit closes it ("abandoned")."""
        import redis

        for pipeline in getattr(self.crawler.engine.scraper.itemproc, "middlewares", ()):
            settled = getattr(pipeline, "settled", None)
            if settled is not None and not settled():
                raise DontCloseSpider
        assert self.run_id is not None
        try:
            state = self.frontier.state(self.run_id)
            if state == "abandoned":
                raise CloseSpider("abandoned")
            self._report_share()
            self.frontier.done_with_all(self.run_id, self.worker)
            # Seeds given back by a worker that died after taking them.
            taken = False
            while (seed := self.frontier.take_seed(self.run_id, self.worker)) is not None:
                self.crawler.engine.crawl(self._seed_request(seed))
                taken = True
            if taken or (state == "active" and self.frontier.pending(self.run_id) > 0):
                raise DontCloseSpider
        except (redis.RedisError, SQLAlchemyError):
            # Not a reason to close as finished: try again at the next idle moment.
            logger.warning("Cannot settle this worker's part of run %s", self.run_id, exc_info=True)
            raise DontCloseSpider from None

    def _report_share(self) -> None:
        """Add what this worker counted since its last report to the run's row."""
        from crawler.extensions import run_counts

        assert self.crawler.stats is not None and self.run_id is not None
        now = run_counts(self.crawler.stats.get_stats())
        delta = now.minus(self._reported) if self._reported is not None else now
        if delta.any():
            with self._writer.begin() as session:
                repository.add_run_counts(session, self.run_id, delta)
        self._reported = now

    def _close_run_if_done(self) -> None:
        """The worker that finds nothing of the run left anywhere closes its row."""
        assert self.run_id is not None
        if self.frontier.pending(self.run_id) == 0 and self.frontier.claim_final(self.run_id):
            with self._writer.begin() as session:
                repository.close_run(
                    session,
                    self.run_id,
                    finished_at=datetime.now(UTC),
                    status="finished",
                    finish_reason="finished",
                )

    def _seed_request(self, seed: Any) -> Request:
        if seed.kind == "feed":
            return self._listing(seed.url, self.parse_feed, conditional=True)
        if seed.kind == "sitemap":
            return self._listing(seed.url, self.parse_sitemap, conditional=True)
        return self._listing(seed.url, self.parse_page, depth=1)

    # -- start ---------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self._setup_error:
            reason, message = self._setup_error
            logger.error("%s", message)
            raise CloseSpider(reason)
        if self.run_id is not None:
            # The run's seeds, as many as this worker takes before the others do.
            while (seed := self.frontier.take_seed(self.run_id, self.worker)) is not None:
                yield self._seed_request(seed)
            return
        for url in self.source.feeds:
            yield self._listing(url, self.parse_feed, conditional=True)
        for url in self.source.sitemaps:
            yield self._listing(url, self.parse_sitemap, conditional=True)
        for url in self.source.pages:
            yield self._listing(url, self.parse_page, depth=1)

    def _listing(
        self, url: str, callback: Any, depth: int = 0, conditional: bool = False
    ) -> Request:
        """A request for a feed, sitemap or section page. Feeds and sitemaps are asked for
        conditionally (If-None-Match / If-Modified-Since) when the last crawl saw them whole."""
        headers = {}
        meta: dict[str, Any] = {"pw_depth": depth}
        if conditional:
            meta["handle_httpstatus_list"] = [304]
            state = self._validators.get(url_key(url))
            if state is not None:
                if state.etag:
                    headers["If-None-Match"] = state.etag
                if state.last_modified:
                    headers["If-Modified-Since"] = state.last_modified
        return Request(
            url,
            callback=callback,
            errback=self.on_error,
            priority=10,
            dont_filter=True,
            headers=headers,
            meta=meta,
        )

    def _not_modified(self, response: Response) -> bool:
        """A 304: nothing to parse. A sitemap index's children are still checked, each with
        its own validators (a news sitemap changes while its index stays the same)."""
        if response.status != 304:
            return False
        self._count("fetch/not_modified")
        key = url_key(response.url)
        state = self._validators.get(key)
        if state is not None:
            self._fetched_listings[key] = state
        return True

    def _remember(self, response: Response, children: list[str] | None = None) -> None:
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        state = repository.ListingState(
            response.url,
            etag.decode("latin-1") if etag else None,
            modified.decode("latin-1") if modified else None,
            children or [],
        )
        # Under the address configured too, when the listing redirected (/rss -> /feed.rss).
        for url in {response.url, *(response.meta.get("redirect_urls") or [])[:1]}:
            self._fetched_listings[url_key(url)] = state

    # -- listings ------------------------------------------------------------------------------

    def _count(self, key: str, value: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, value)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        self._count("fetch/pages")
        if self._not_modified(response):
            return
        kind = discovery.sniff(response.body)
        if kind == "sitemap":
            yield from self.parse_sitemap(response, counted=True)
            return
        if kind == "html":
            yield from self.parse_page(response, counted=True)
            return
        try:
            entries = discovery.parse_feed(response.body, response.url)
        except DiscoveryError as exc:
            self._count("error/bad_feed")
            logger.warning("Feed %s is unreadable: %s", response.url, exc)
            return
        self._count("discover/feed_entries", len(entries))
        self._remember(response)
        yield from self._articles(entries, listing=url_key(response.url))

    def parse_sitemap(self, response: Response, counted: bool = False) -> Iterator[Request]:
        if not counted:
            self._count("fetch/pages")
        if self._not_modified(response):
            state = self._validators.get(url_key(response.url))
            for child in state.children if state is not None else []:
                yield self._listing(child, self.parse_sitemap, conditional=True)
            return
        try:
            sitemap = discovery.parse_sitemap(response.body, response.url)
        except DiscoveryError as exc:
            self._count("error/bad_sitemap")
            logger.warning("Sitemap %s is unreadable: %s", response.url, exc)
            return
        if sitemap.kind == "urlset":
            self._count("discover/sitemap_entries", len(sitemap.entries))
            self._remember(response)
            yield from self._articles(sitemap.entries, listing=url_key(response.url))
            return
        children = []
        for entry in sitemap.entries:
            if self._too_old(entry):
                self._count("discover/old_sitemap")
                continue
            if self._allowed(entry.url):
                children.append(entry.url)
                yield self._listing(entry.url, self.parse_sitemap, conditional=True)
        self._remember(response, children)

    def parse_page(self, response: Response, counted: bool = False) -> Iterator[Request]:
        if not counted:
            self._count("fetch/pages")
        if not isinstance(response, TextResponse) or not _is_html(response):
            self._count("error/not_html")
            return
        depth = int(response.meta.get("pw_depth", 1))
        articles: list[Entry] = []
        for link in self._links.extract_links(response):
            if self._is_article(link.url):
                articles.append(Entry(url=link.url))
            elif depth < self.config.crawl.page_depth and self._allowed(link.url):
                key = url_key(link.url)
                if key not in self._listings:
                    self._listings.add(key)
                    yield self._listing(link.url, self.parse_page, depth=depth + 1)
        self._count("discover/page_links", len(articles))
        yield from self._articles(articles)

    # -- articles ------------------------------------------------------------------------------

    def _allowed(self, url: str) -> bool:
        host = host_of(url)
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def _is_article(self, url: str) -> bool:
        if self._article_pattern is not None:
            return bool(self._article_pattern.search(url))
        return discovery.looks_like_article(url)

    def _too_old(self, entry: Entry) -> bool:
        return entry.dated is not None and entry.dated < self._age_cutoff

    def _articles(self, entries: Iterable[Entry], listing: str | None = None) -> Iterator[Request]:
        """Requests for the entries worth fetching: allowed, recent, not requested yet in this
        crawl, and not stored already (or stored before their listing says they changed)."""
        fresh: dict[str, Entry] = {}
        for entry in entries:
            if not self._allowed(entry.url):
                self._count("discover/offsite")
                continue
            if self._article_pattern is not None and not self._article_pattern.search(entry.url):
                self._count("discover/not_article")
                continue
            if self._too_old(entry):
                self._count("discover/too_old")
                continue
            key = url_key(entry.url)
            if key in self._requested:
                continue
            previous = fresh.get(key)
            if previous is None or _newer(entry.changed, previous.changed):
                fresh[key] = entry
        if not fresh:
            return
        unknown = [key for key in fresh if key not in self._known]
        if unknown:
            try:
                with self._reader() as session:
                    found = repository.known_urls(session, unknown)
            except SQLAlchemyError:
                logger.warning("Known-URL check failed; fetching the listed URLs", exc_info=True)
                found = {}
            for key in unknown:
                self._known[key] = found.get(key)
        for key, entry in fresh.items():
            # Scrapy consumes callbacks' output lazily, interleaving listings: another listing
            # may have requested this URL since the check above.
            if key in self._requested:
                continue
            checked = self._known[key]
            if checked is not None and (entry.changed is None or entry.changed <= checked):
                self._count("discover/known")
                continue
            if checked is not None:
                self._count("discover/changed")
            self._requested.add(key)
            meta: dict[str, Any] = {"pw_listed": entry.published, "pw_listing": listing}
            if self.run_id is not None:
                meta["pw_claim"] = key  # across workers: the run's scheduler claims it
            yield Request(
                entry.url,
                callback=self.parse_article,
                errback=self.on_error,
                # Duplicates are filtered by URL key above; a redirect loop must reach the
                # redirect limit (and be counted) instead of vanishing in the dupefilter.
                dont_filter=True,
                meta=meta,
            )

    def parse_article(self, response: Response) -> Iterator[PageItem]:
        self._count("fetch/pages")
        self._count("fetch/articles")
        if not isinstance(response, TextResponse) or not _is_html(response):
            self._count("error/not_html")
            logger.info("Not an HTML page: %s", response.url)
            return
        redirects = response.meta.get("redirect_urls") or []
        yield PageItem(
            source=self.source.name,
            url=response.url,
            body=response.body,
            fetched_at=datetime.now(UTC),
            encoding=_charset(response),
            requested_url=redirects[0] if redirects else None,
            listed_published=response.meta.get("pw_listed"),
            listing=response.meta.get("pw_listing"),
        )

    def on_error(self, failure: Failure) -> None:
        kind = failure_kind(failure)
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if kind == "offsite":
            self._count("discover/offsite")
            return
        self._count(f"error/{kind}")
        logger.info("Failed (%s): %s", kind, url)
        self.retry_later(request.meta.get("pw_listing") if request is not None else None)

    def retry_later(self, listing: str | None) -> None:
        """An article of ``listing`` (a URL key) was not stored this time: ask for that listing
        unconditionally next time, so that the article is tried again."""
        if listing and listing in self._fetched_listings:
            state = self._fetched_listings[listing]
            for key, other in self._fetched_listings.items():
                if other is state:
                    self._incomplete.add(key)
        if listing:
            self._incomplete.add(listing)

    def closed(self, reason: str) -> None:
        """Save the listings' validators, for the next crawl's conditional requests. Only a
        finished crawl's: a stopped one has not fetched everything its listings offered."""
        if self.run_id is not None:
            if getattr(self, "_poke", None) is not None and self._poke.running:
                self._poke.stop()
            try:
                self._report_share()
                if reason != "finished":
                    # Stopped mid-run: what this worker holds goes back for the others.
                    self.frontier.requeue(self.run_id, self.worker)
                else:
                    self._close_run_if_done()
            except Exception:
                logger.error(
                    "Cannot close this worker's part of run %s", self.run_id, exc_info=True
                )
        if reason != "finished" or not self._fetched_listings:
            return
        states = {
            key: state
            if key not in self._incomplete
            else repository.ListingState(state.url, None, None, state.children)
            for key, state in self._fetched_listings.items()
        }
        engine = make_engine(self.config.database_url)
        try:
            with make_sessionmaker(engine).begin() as session:
                repository.save_listing_states(session, self.source.name, states, datetime.now(UTC))
        except SQLAlchemyError:
            logger.warning("Cannot save the listings' validators", exc_info=True)
        finally:
            engine.dispose()
