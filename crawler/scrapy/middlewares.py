"""Downloader middlewares for an engine that carries many sources.

``SourceGate`` takes the place of Scrapy's ``OffsiteMiddleware``, which knows one list of
domains for the whole spider: every request carries its source, and is let through only to that
source's domains (redirects included) and only while the source's run is in progress (a run
ended at its time limit has the rest of its requests dropped, not fetched).

``TransferGuard`` holds what a response may do to the crawl: a redirect is followed only to an
``http:`` or ``https:`` URL (a ``file:``, ``data:`` or ``ftp:`` one is refused as
``redirect_not_http``, not answered as a plain 3xx), and a body still trickling in when
``DOWNLOAD_TIMEOUT`` (which Scrapy counts over the whole transfer, headers and body) runs out
is cut as ``too_slow`` and not retried: a server that sends a byte a second would do it again,
and each retry would hold the source's run for another timeout.

``ExpiringRobotsTxt``: Scrapy reads each site's robots.txt once per crawler, which in a
long-lived engine would be once for ever; here a site's rules are read again after
``PRESSWATCH_ROBOTS_TTL`` seconds.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.scrapy.failures import Refused
from crawler.scrapy.sourceruns import SOURCE_META
from storage.urlkeys import host_of


class SourceGate:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if SOURCE_META not in request.meta:
            return  # robots.txt and other requests of Scrapy's own
        runs = getattr(self.crawler.spider, "runs", None)
        if runs is None:
            return
        run = runs.run_of(request.meta)
        if run is None:
            raise IgnoreRequest(f"the run of {request.meta[SOURCE_META]} has ended")
        if not run.allowed(host_of(request.url)):
            raise Refused("offsite", f"offsite for source {run.name}: {request.url}")


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_WEB_SCHEMES = frozenset({"http", "https"})


class TransferGuard:
    def __init__(self, crawler: Crawler) -> None:
        self.timeout: float = crawler.settings.getfloat("DOWNLOAD_TIMEOUT")
        # Requests whose response headers have arrived: their body is being read. Kept by
        # identity, not in meta, which a retried or redirected copy of the request inherits.
        self._receiving: weakref.WeakSet[Request] = weakref.WeakSet()
        crawler.signals.connect(self._headers_received, signal=signals.headers_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _headers_received(self, request: Request, **_: Any) -> None:
        self._receiving.add(request)

    def process_response(self, request: Request, response: Response) -> Response:
        self._receiving.discard(request)
        if response.status in _REDIRECTS and b"Location" in response.headers:
            location = (response.headers[b"Location"] or b"").decode("latin-1").strip()
            scheme = urlsplit(urljoin(request.url, location)).scheme.lower()
            if scheme not in _WEB_SCHEMES:
                raise Refused(
                    "redirect_not_http",
                    f"{request.url} redirects to a {scheme or 'schemeless'}: URL "
                    f"({location[:200]!r}); only http: and https: are followed",
                )
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if request in self._receiving:
            self._receiving.discard(request)
            if isinstance(exception, DownloadTimeoutError):
                timeout = request.meta.get("download_timeout") or self.timeout
                # Raised here, before RetryMiddleware sees the timeout: not retried.
                raise Refused(
                    "too_slow",
                    f"{request.url}: the body was still arriving after {timeout:g} s "
                    "(the download time limit); cut, not retried",
                )


class ExpiringRobotsTxt(RobotsTxtMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.ttl: float = crawler.settings.getfloat("PRESSWATCH_ROBOTS_TTL")
        self._read_at: dict[str, float] = {}

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        now = time.monotonic()
        read_at = self._read_at.get(netloc)
        if read_at is None:
            self._read_at[netloc] = now
        # RobotsTxtMiddleware._parsers is Scrapy's private cache of each site's rules: it has
        # no public way to forget a site's rules, and replacing the cache would mean copying
        # its fetching and parsing (also private) here.
        elif self.ttl > 0 and now - read_at > self.ttl and netloc in self._parsers:
            parser = self._parsers[netloc]
            if not hasattr(parser, "addCallback"):  # not being read right now
                del self._parsers[netloc]
                self._read_at[netloc] = now
        return await super().robot_parser(request)
