"""``presswatch check --source NAME --url URL``: what a crawl would make of one page, field by
field, with that source's settings (time zone, language, CSS selectors) and the config's
watchlists: for checking a source's selectors, or why a page comes out wrong, before a crawl.

The page is fetched as the crawl would (the config's user agent, timeout and size limit,
robots.txt obeyed when the config says so; one request, or two with robots.txt), or read from
a saved file (``--file``), and goes through the extraction workers' own function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3
from lxml import html as lxml_html
from protego import Protego

from crawler.config import Config, SourceConfig
from crawler.extract.decoding import decode_html
from crawler.extract.pageselectors import css_xpath
from crawler.extract.pool import PageTask, Processed, process_page, start_worker
from crawler.watch.matcher import WatchlistQuery
from storage.types import iso


class PageCheckError(Exception):
    """The page could not be had; the message says why and what to do."""


@dataclass(slots=True)
class PageCheck:
    url: str
    status: int | None  # None for a file
    size: int
    encoding: str | None
    processed: Processed | None
    # Per selector of the source: (selector, elements it matched in the page).
    selectors: dict[str, tuple[str, int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        article = self.processed.article if self.processed else None
        return {
            "url": self.url,
            "status": self.status,
            "bytes": self.size,
            "encoding": self.encoding,
            "article": None
            if article is None
            else {
                "title": article.title,
                "published_at": iso(article.published_at, precise=True),
                "authors": list(article.authors),
                "language": article.language,
                "site_name": article.site_name,
                "description": article.description,
                "canonical_url": article.canonical_url,
                "tags": list(article.tags),
                "text_chars": len(article.text),
                "text": article.text,
            },
            "watchlists": [m.watchlist for m in self.processed.matches] if self.processed else [],
            "selectors": {
                name: {"selector": css, "matched": count}
                for name, (css, count) in self.selectors.items()
            },
        }


def fetch(config: Config, url: str) -> tuple[int, bytes, str | None, str]:
    """(status, body, declared charset, final URL) of ``url``, as the crawl would fetch it."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise PageCheckError(f"{url!r} is not an http(s) URL: give the page's address")
    crawl = config.crawl
    timeout = crawl.timeout.total_seconds()
    pool = urllib3.PoolManager(
        headers={"User-Agent": crawl.user_agent},
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=urllib3.Retry(total=1, redirect=5, raise_on_redirect=False),
    )
    try:
        if crawl.obey_robots:
            robots = pool.request("GET", urljoin(url, "/robots.txt"))
            if robots.status == 200:
                parser = Protego.parse(robots.data.decode("utf-8", "replace"))
                if not parser.can_fetch(url, crawl.user_agent):
                    raise PageCheckError(
                        f"{url}: robots.txt disallows it for {crawl.user_agent!r}; a crawl would "
                        "not fetch it either (check a saved copy with --file)"
                    )
        response = pool.request("GET", url, preload_content=False)
        body = response.read(int(crawl.max_page_size) + 1)
        response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise PageCheckError(f"{url}: no answer ({exc.__class__.__name__}: {exc})") from None
    if len(body) > crawl.max_page_size:
        raise PageCheckError(
            f"{url}: larger than max_page_size ({crawl.max_page_size} bytes); a crawl would cut it"
        )
    content_type = response.headers.get("Content-Type", "")
    charset = None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip("\"' ")
    final = response.geturl() or url
    return response.status, body, charset, urljoin(url, final)


def check_page(
    config: Config, source: SourceConfig, *, url: str | None = None, file: Path | None = None
) -> PageCheck:
    """Fetch (or read) one page and extract it as a crawl of ``source`` would."""
    if file is not None:
        try:
            body = file.read_bytes()
        except OSError as exc:
            raise PageCheckError(f"{file}: cannot be read ({exc.strerror})") from None
        status, charset, where = None, None, url or file.resolve().as_uri()
    else:
        assert url is not None
        status, body, charset, where = fetch(config, url)
    start_worker([WatchlistQuery(w.name, w.query, tuple(w.languages)) for w in config.watchlists])
    processed = process_page(
        PageTask(where, body, charset, source.timezone, source.language, None, source.selectors)
    )
    check = PageCheck(where, status, len(body), charset, processed)
    if source.selectors is not None:
        tree = lxml_html.document_fromstring(decode_html(body, charset))
        for name, css in (
            ("body", source.body_selector),
            ("title", source.title_selector),
            ("date", source.date_selector),
        ):
            if css:
                check.selectors[name] = (css, len(css_xpath(css)(tree)))
    return check
