"""Downloader middlewares for an engine that carries many sources.

``SourceGate`` takes the place of Scrapy's ``OffsiteMiddleware``, which knows one list of
domains for the whole spider: every request carries its source, and is let through only to that
source's domains (redirects included) and only while the source's run is in progress (a run
ended at its time limit has the rest of its requests dropped, not fetched).

``ExpiringRobotsTxt``: Scrapy reads each site's robots.txt once per crawler, which in a
long-lived engine would be once for ever; here a site's rules are read again after
``PRESSWATCH_ROBOTS_TTL`` seconds.
"""

from __future__ import annotations

import time
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from crawler.sourceruns import SOURCE_META
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
            raise IgnoreRequest(f"offsite for source {run.name}: {request.url}")


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
        elif self.ttl > 0 and now - read_at > self.ttl and netloc in self._parsers:
            parser = self._parsers[netloc]
            if not hasattr(parser, "addCallback"):  # not being read right now
                del self._parsers[netloc]
                self._read_at[netloc] = now
        return await super().robot_parser(request)
