"""Reading a source's listings: its feeds, sitemaps and section pages, for the articles to fetch.

A run's seeds are its listings. Feeds and sitemaps are asked for conditionally with the
validators the last finished run saved (a 304 costs no parsing; a sitemap index answering 304
still has its children checked), and the validators of what was read are kept on the run for
the run book to save. A sitemap index's children are followed within caps, the newest first;
a section page's links are followed ``page_depth`` deep. Of the entries listed, the ones worth
fetching are requested: on the source's domains, recent, not asked for yet in this run, not
stored already (unless the listing says they changed since), and not remembered as giving no
article text (unless the listing's date for them changed, or ``[crawl] empty_retry`` passed).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.discover import links as discovery
from crawler.discover.links import DiscoveryError, Entry
from crawler.scrapy.sourceruns import RUN_META, SOURCE_META, RunBook, SourceRun
from storage import articles as article_store
from storage import emptypages as empty_store
from storage import listings as listing_store
from storage.urlkeys import host_of, url_key

if TYPE_CHECKING:
    from crawler.scrapy.spiders.news import NewsSpider

logger = logging.getLogger(__name__)

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
# Longer URLs are skipped (and counted): the length browsers and Scrapy's own limit accept.
MAX_URL_LENGTH = 2083
# Child sitemaps followed from one sitemap index, and in one source's run (indexes of indexes
# included), the newest first: a news site's recent articles are in its few newest sitemaps,
# and an index listing 100,000 of them must not cost 100,000 requests a poll. The rest are
# counted (error/too_many_sitemaps once per index cut, discover/sitemaps_skipped each).
MAX_SITEMAPS_PER_INDEX = 1000
MAX_SITEMAPS_PER_RUN = 2000


def _newer(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a > b)


def _newest_first(entries: list[Entry], keep: int) -> list[Entry]:
    """The ``keep`` most recently changed of ``entries`` (undated last), in their own order."""
    if len(entries) <= keep:
        return entries

    def newest(i: int) -> tuple[bool, float]:
        changed = entries[i].changed
        return (changed is None, -changed.timestamp() if changed else 0.0)

    return [entries[i] for i in sorted(sorted(range(len(entries)), key=newest)[:keep])]


def is_html(response: Response) -> bool:
    content_type = (response.headers.get(b"Content-Type") or b"").lower()
    if content_type:
        return content_type.split(b";")[0].strip() in _HTML_TYPES
    return discovery.sniff(response.body[:4096]) == "html"


class ListingReader:
    """The spider's reading of listings: requests for them (to the spider's callbacks, which
    hand the responses back here) and, from their responses, requests for articles."""

    def __init__(self, spider: NewsSpider, runs: RunBook, reads: sessionmaker[Session]) -> None:
        self.spider = spider
        self.runs = runs
        self.reads = reads  # for the known-URL checks
        # Domains are checked per source (crawler.scrapy.middlewares.SourceGate, articles());
        # Scrapy's own offsite filter knows one list for the whole spider.
        self._links = LinkExtractor(unique=True)

    # -- requests -------------------------------------------------------------------------------

    def seeds(self, run: SourceRun) -> Iterator[Request]:
        """A run's first requests: its feeds, sitemaps and section pages."""
        for url in run.source.feeds:
            yield self.listing(run, url, self.spider.parse_feed, conditional=True)
        for url in run.source.sitemaps:
            yield self.listing(run, url, self.spider.parse_sitemap, conditional=True)
        for url in run.source.pages:
            run.listings_changed = True  # a section page has no validators: always read
            yield self.listing(run, url, self.spider.parse_page, depth=1)

    def seed(self, run: SourceRun, kind: str, url: str) -> Request:
        """The request for one of a run's seeds, of ``kind`` feed, sitemap or page (a cluster
        run's, taken from the frontier)."""
        if kind == "feed":
            return self.listing(run, url, self.spider.parse_feed, conditional=True)
        if kind == "sitemap":
            return self.listing(run, url, self.spider.parse_sitemap, conditional=True)
        return self.listing(run, url, self.spider.parse_page, depth=1)

    def request(self, run: SourceRun, url: str, callback: Any, **kwargs: Any) -> Request:
        """A request of ``run`` (its source and token in the meta), counted out for it."""
        meta = kwargs.pop("meta", {})
        meta[SOURCE_META] = run.name
        meta[RUN_META] = run.token
        request = Request(url, callback=callback, errback=self.spider.on_error, meta=meta, **kwargs)
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
        if callback == self.spider.parse_sitemap:
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
        return self.request(
            run, url, callback, priority=10, dont_filter=True, headers=headers, meta=meta
        )

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
        state = listing_store.ListingState(
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

    # -- listings -------------------------------------------------------------------------------

    def feed(self, run: SourceRun, response: Response) -> Iterator[Request]:
        """A feed's articles (or, when it is a sitemap or a page after all, what that gives)."""
        self._count(run, "fetch/pages")
        if self._not_modified(run, response):
            return
        kind = discovery.sniff(response.body)
        if kind == "sitemap":
            yield from self.sitemap(run, response, counted=True)
            return
        if kind == "html":
            yield from self.page(run, response, counted=True)
            return
        try:
            entries = discovery.parse_feed(response.body, response.url)
        except DiscoveryError as exc:
            self._count(run, f"error/{exc.kind or 'bad_feed'}")
            logger.warning("Feed %s is unreadable: %s", response.url, exc)
            return
        self._count(run, "discover/feed_entries", len(entries))
        self._remember(run, response)
        yield from self.articles(run, entries, listing=url_key(response.url))

    def sitemap(
        self, run: SourceRun, response: Response, counted: bool = False
    ) -> Iterator[Request]:
        """A sitemap's articles, or an index's child sitemaps."""
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
            yield from self.articles(run, sitemap.entries, listing=url_key(response.url))
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
            yield self.listing(run, child.url, self.spider.parse_sitemap, conditional=True)
        return [child.url for child in children]

    def page(self, run: SourceRun, response: Response, counted: bool = False) -> Iterator[Request]:
        """A section page's article links, and its links to deeper section pages."""
        if not counted:
            self._count(run, "fetch/pages")
        if not isinstance(response, TextResponse) or not is_html(response):
            self._count(run, "error/not_html")
            return
        depth = int(response.meta.get("pw_depth", 1))
        articles: list[Entry] = []
        for link in self._links.extract_links(response):
            if self._is_article(run, link.url):
                articles.append(Entry(url=link.url))
            elif depth < self.spider.config.crawl.page_depth and run.allowed(host_of(link.url)):
                key = url_key(link.url)
                if key not in run.listings:
                    run.listings.add(key)
                    yield self.listing(run, link.url, self.spider.parse_page, depth=depth + 1)
        self._count(run, "discover/page_links", len(articles))
        yield from self.articles(run, articles)

    def _check_known(self, run: SourceRun, keys: list[str]) -> None:
        """Which of ``keys`` are stored articles (and when each was last fetched), and which
        of the others are pages remembered without article text: one read for both."""
        try:
            with self.reads() as session:
                found = article_store.known_urls(session, keys)
                empty = empty_store.remembered(session, [k for k in keys if k not in found])
        except SQLAlchemyError:
            logger.warning("Known-URL check failed; fetching the listed URLs", exc_info=True)
            found, empty = {}, {}
        for key in keys:
            run.known[key] = found.get(key)
        run.empty.update(empty)

    @staticmethod
    def _is_article(run: SourceRun, url: str) -> bool:
        if run.pattern is not None:
            return bool(run.pattern.search(url))
        return discovery.looks_like_article(url)

    @staticmethod
    def _too_old(run: SourceRun, entry: Entry) -> bool:
        return entry.dated is not None and entry.dated < run.age_cutoff

    def articles(
        self, run: SourceRun, entries: Iterable[Entry], listing: str | None = None
    ) -> Iterator[Request]:
        """Requests for the entries worth fetching: allowed, recent, not requested yet in this
        run, not stored already (or stored before their listing says they changed), and not
        remembered without article text (or their listing's date for them changed since, or
        they were last tried longer ago than ``empty_retry``)."""
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
            self._check_known(run, unknown)
        retry_before = datetime.now(UTC) - self.spider.config.crawl.empty_retry
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
            empty = run.empty.get(key)
            if (
                empty is not None
                and empty.last_tried > retry_before
                and not _newer(entry.changed, empty.listed_changed)
            ):
                self._count(run, "discover/known_empty")
                continue
            run.requested.add(key)
            meta: dict[str, Any] = {
                "pw_listed": entry.published,
                "pw_changed": entry.changed,
                "pw_listing": listing,
            }
            if run.external:
                meta["pw_claim"] = key  # across workers: the run's scheduler claims it
            yield self.request(
                run,
                entry.url,
                self.spider.parse_article,
                # Duplicates are filtered by URL key above; a redirect loop must reach the
                # redirect limit (and be counted) instead of vanishing in the dupefilter.
                dont_filter=True,
                meta=meta,
            )
