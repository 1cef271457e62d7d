"""The obvious design, kept as the reference presswatch is measured against.

A minimal Scrapy ``SitemapSpider`` that runs ``trafilatura.extract`` inline in its callback and
writes JSON lines: what most people would write first. ``bench/crawl.py`` runs it as

    scrapy runspider bench/obvious.py -a sitemap=URL -o articles.jsonl

from a folder without ``scrapy.cfg``, so only the settings below apply (the same concurrency
as the presswatch run, robots.txt obeyed, no AutoThrottle).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import trafilatura
from scrapy.http import Response
from scrapy.spiders import SitemapSpider


class ObviousSpider(SitemapSpider):
    name = "obvious"
    custom_settings = {  # noqa: RUF012 - Scrapy declares it an instance attribute
        "ROBOTSTXT_OBEY": True,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        "AUTOTHROTTLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "TELNETCONSOLE_ENABLED": False,
        "FEED_EXPORT_ENCODING": "utf-8",
    }

    def __init__(self, sitemap: str, **kwargs: Any) -> None:
        self.sitemap_urls = [sitemap]
        super().__init__(**kwargs)

    def parse(self, response: Response) -> Iterator[dict[str, Any]]:
        extracted = trafilatura.extract(
            response.text, url=response.url, output_format="json", with_metadata=True
        )
        if extracted:
            yield json.loads(extracted)
