"""Before a crawl: has the source published anything since its last finished crawl?

A crawl of a source that published nothing costs a process, Python, Scrapy and SQLAlchemy
starting (about a second of CPU) to learn that its feeds and sitemaps answer 304 Not Modified.
A monitor polls each source every few minutes and most polls find nothing, so that fixed cost
is most of what keeping many sources fresh costs. Here the same conditional requests the
crawl would make are made first, with the standard library: the feeds and sitemaps (and the
sitemaps their indexes listed last time), with the validators the last finished crawl saved,
after robots.txt allows them. When every one answers 304, there is nothing new to find: the
run is recorded as finished (``not_modified``, the listings counted as fetched) and no crawl
starts. Anything else means a full crawl, which fetches and records as it always does: a
listing that changed or answers otherwise, one without validators (never seen whole, or one
of its articles failed last time), a source with section pages (HTML pages carry no
validators), a robots.txt that forbids a listing or cannot be read, any error.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine

from crawler.config import Config, SourceConfig
from storage import repository
from storage.engine import make_sessionmaker
from storage.urlkeys import url_key

logger = logging.getLogger(__name__)

MAX_CONNECTIONS = 8
MAX_ROBOTS_BYTES = 512 * 1024  # what Google reads of a robots.txt
SECTION_PAGES = "it has section pages"


@dataclass(frozen=True, slots=True)
class Precheck:
    """``run_id`` is set when every listing was unchanged and the run was recorded."""

    unchanged: bool
    why: str
    listings: int = 0
    run_id: int | None = None

    @property
    def listings_changed(self) -> bool:
        """A feed or sitemap changed or was never read whole: the crawl will find articles."""
        return not self.unchanged and self.why != SECTION_PAGES


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a moved listing: the crawl follows it and saves its new validators


class _WebRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """Follows a robots.txt's redirects to http(s) URLs only (urllib's own follows ftp:)."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, "redirect to a non-web URL", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _listings(
    source: SourceConfig, states: dict[str, repository.ListingState]
) -> Iterator[tuple[str, repository.ListingState | None]]:
    """Each feed and sitemap, and the sitemaps last listed by the indexes among them."""
    seen: set[str] = set()
    queue = [*source.feeds, *source.sitemaps]
    while queue:
        url = queue.pop(0)
        key = url_key(url)
        if key in seen:
            continue
        seen.add(key)
        state = states.get(key)
        yield url, state
        if state is not None:
            queue.extend(state.children)


def precheck(
    config: Config,
    source: SourceConfig,
    engine: Engine,
    states: dict[str, repository.ListingState] | None = None,
) -> Precheck:
    """Ask for ``source``'s listings conditionally; record a run when none has changed.
    ``states``: its listings as stored, when the caller has read many sources' at once."""
    if source.pages:
        return Precheck(False, SECTION_PAGES)
    sessions = make_sessionmaker(engine)
    if states is None:
        with sessions() as session:
            states = repository.listing_states(session, source.name)
    listings = list(_listings(source, states))
    for url, state in listings:
        if state is None or not (state.etag or state.last_modified):
            return Precheck(False, f"{url} has no validators from a finished crawl")
    agent = config.crawl.user_agent
    timeout = config.crawl.timeout.total_seconds()
    if config.crawl.obey_robots:
        refused = _robots_refusal([url for url, _ in listings], agent, timeout)
        if refused:
            return Precheck(False, refused)
    opener = urllib.request.build_opener(_NoRedirect)

    def ask(listing: tuple[str, repository.ListingState | None]) -> str | None:
        url, state = listing
        assert state is not None
        headers = {"User-Agent": agent}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout):
                return f"{url} changed"
        except urllib.error.HTTPError as exc:
            return None if exc.code == 304 else f"{url} answered {exc.code}"
        except Exception as exc:  # any failure (http.client's included) means: crawl
            return f"{url}: {exc!r}"

    # A deadline for the whole check (urllib's timeout is per socket operation): past it, the
    # crawl decides, and the requests still out are left to time out on their own.
    pool = ThreadPoolExecutor(min(MAX_CONNECTIONS, len(listings)))
    try:
        answers = list(pool.map(ask, listings, timeout=2 * timeout))
    except TimeoutError:
        return Precheck(False, f"the listings did not all answer within {2 * timeout:.0f} s")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    changed = next((answer for answer in answers if answer is not None), None)
    if changed:
        return Precheck(False, changed, len(listings))
    now = datetime.now(UTC)
    with sessions.begin() as session:
        # No process id: no crawl process ran (a crawl's row carries its own, and the daemon
        # finds its crawls' rows by it).
        run_id = repository.start_run(session, source.name, now, None)
        repository.finish_run(
            session,
            run_id,
            finished_at=datetime.now(UTC),
            status="finished",
            finish_reason="not_modified",
            counts=repository.RunCounts(pages_fetched=len(listings)),
        )
    return Precheck(True, "every listing answered 304 Not Modified", len(listings), run_id)


def _robots_refusal(urls: list[str], agent: str, timeout: float) -> str | None:
    """Why robots.txt stands in the way of asking for ``urls`` (None: it does not). As
    Scrapy reads it: a missing one (4xx) allows everything. Each site's is read within
    ``2 * timeout`` in all (urllib's timeout is per socket operation: a robots.txt sent a
    byte a second would hold the check for ever); past it, the crawl decides, and the read
    itself stops at that deadline, so no thread is left reading (one would hold up the
    process's exit: Python joins its pool threads there)."""
    by_host: dict[str, list[str]] = {}
    for url in urls:
        parts = urlsplit(url)
        by_host.setdefault(f"{parts.scheme}://{parts.netloc}", []).append(url)
    opener = urllib.request.build_opener(_WebRedirectsOnly)
    pool = ThreadPoolExecutor(min(MAX_CONNECTIONS, len(by_host)) or 1)
    deadline = time.monotonic() + 2 * timeout
    try:
        answers = list(
            pool.map(
                lambda item: _robots_of(opener, item[0], item[1], agent, timeout, deadline),
                by_host.items(),
                timeout=2 * timeout,
            )
        )
    except TimeoutError:
        return f"robots.txt did not answer within {2 * timeout:.0f} s"
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return next((answer for answer in answers if answer is not None), None)


def _robots_of(
    opener: urllib.request.OpenerDirector,
    origin: str,
    wanted: list[str],
    agent: str,
    timeout: float,
    deadline: float,
) -> str | None:
    from protego import Protego  # Scrapy's robots.txt parser

    robots = f"{origin}/robots.txt"
    request = urllib.request.Request(robots, headers={"User-Agent": agent})
    try:
        with opener.open(request, timeout=timeout) as response:
            body = _read_until(response, MAX_ROBOTS_BYTES, deadline)
        rules = Protego.parse(body.decode("utf-8", errors="replace"))
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500:
            return None
        return f"{robots} answered {exc.code}"
    except Exception as exc:  # any failure (http.client's included) means: crawl
        return f"{robots}: {exc!r}"
    for url in wanted:
        if not rules.can_fetch(url, agent):
            return f"robots.txt forbids {url}"
    return None


def _read_until(response: Any, limit: int, deadline: float) -> bytes:
    """At most ``limit`` bytes of ``response``, read as they come; past ``deadline`` the read
    stops with TimeoutError (each read waits at most the socket's own timeout)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        if time.monotonic() > deadline:
            raise TimeoutError("robots.txt was still arriving at the deadline")
        chunk = response.read1(min(16384, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
