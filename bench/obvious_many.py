"""The obvious design for many small sites, kept as the reference presswatch is measured against.

A minimal Scrapy ``XMLFeedSpider`` over every site's RSS feed that follows each item's link
and runs ``trafilatura.extract`` inline in the article callback, writing JSON lines: what most
people would write first to watch many sites. ``bench/manysites.py`` runs it as

    scrapy runspider bench/obvious_many.py -a feeds=FILE -o articles.jsonl

(FILE: one feed URL a line) from a folder without ``scrapy.cfg``, so only the settings below
apply (the same concurrency as the presswatch run, robots.txt obeyed, no AutoThrottle).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import trafilatura
from parsel import Selector
from scrapy import Request
from scrapy.http import Response
from scrapy.spiders import XMLFeedSpider


class ObviousManySpider(XMLFeedSpider):
    name = "obvious_many"
    iterator = "iternodes"
    itertag = "item"
    custom_settings = {  # noqa: RUF012 - Scrapy declares it an instance attribute
        "ROBOTSTXT_OBEY": True,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        "AUTOTHROTTLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "TELNETCONSOLE_ENABLED": False,
        "FEED_EXPORT_ENCODING": "utf-8",
    }

    def __init__(self, feeds: str, **kwargs: Any) -> None:
        self.start_urls = Path(feeds).read_text(encoding="utf-8").split()
        super().__init__(**kwargs)

    def parse_node(self, response: Response, selector: Selector) -> Iterator[Request]:
        link = selector.xpath("link/text()").get()
        if link:
            yield response.follow(link.strip(), callback=self.parse_article)

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        extracted = trafilatura.extract(
            response.text, url=response.url, output_format="json", with_metadata=True
        )
        if extracted:
            yield json.loads(extracted)
