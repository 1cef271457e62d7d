"""Finding article URLs: feeds (RSS 2.0, RSS 1.0, Atom), sitemaps (plain, index, Google News,
gzip) and section pages. Pure functions over bytes and strings; no Scrapy."""

from __future__ import annotations

import calendar
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree

from crawler.units import parse_datetime

MAX_DECOMPRESSED = 50_000_000


class DiscoveryError(Exception):
    """A feed or sitemap that cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A link to an article (or, in a sitemap index, to another sitemap)."""

    url: str
    published: datetime | None = None
    modified: datetime | None = None
    title: str | None = None

    @property
    def dated(self) -> datetime | None:
        """The date the age limit is judged by."""
        return self.published or self.modified

    @property
    def changed(self) -> datetime | None:
        """The date a revisit is judged by: a known article is fetched again when this is newer
        than when it was last fetched."""
        return self.modified or self.published


def maybe_gunzip(body: bytes, max_size: int = MAX_DECOMPRESSED) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body
    try:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = decompressor.decompress(body, max_size)
    except zlib.error as exc:
        raise DiscoveryError(f"gzip data is corrupt ({exc})") from None
    if decompressor.unconsumed_tail:
        raise DiscoveryError(f"gzip data unpacks to more than {max_size} bytes")
    return data


Kind = Literal["feed", "sitemap", "html", "unknown"]
_XML_ROOT = re.compile(rb"<(?:[A-Za-z0-9_]+:)?(rss|feed|RDF|urlset|sitemapindex|html)\b", re.I)


def sniff(body: bytes) -> Kind:
    """What a document is, from its first root-like tag (a feed URL may serve a sitemap)."""
    head = maybe_gunzip(body[:65536]) if body.startswith(b"\x1f\x8b") else body[:65536]
    match = _XML_ROOT.search(head)
    if not match:
        return "unknown"
    tag = match.group(1).lower()
    if tag in (b"rss", b"feed", b"rdf"):
        return "feed"
    if tag in (b"urlset", b"sitemapindex"):
        return "sitemap"
    return "html"


def _struct_to_datetime(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def parse_feed(body: bytes, base_url: str) -> list[Entry]:
    """Entries of an RSS or Atom feed. A feed that is broken but still yields entries is read
    for what it has; one that yields none raises ``DiscoveryError``."""
    parsed = feedparser.parse(maybe_gunzip(body), response_headers={"content-location": base_url})
    entries = []
    for item in parsed.entries:
        link = item.get("link") or item.get("id")
        if not link or not isinstance(link, str):
            continue
        url = urljoin(base_url, link.strip())
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        entries.append(
            Entry(
                url=url,
                # dict.get: FeedParserDict.get maps a missing key to a look-alike one.
                published=_struct_to_datetime(dict.get(item, "published_parsed")),
                modified=_struct_to_datetime(dict.get(item, "updated_parsed")),
                title=item.get("title"),
            )
        )
    if not entries and parsed.get("bozo"):
        reason = parsed.get("bozo_exception")
        raise DiscoveryError(f"not a readable feed ({reason})")
    return entries


@dataclass(frozen=True, slots=True)
class Sitemap:
    kind: Literal["index", "urlset"]
    entries: list[Entry]


_SITEMAP_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, recover=True, huge_tree=True, remove_comments=True
)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(node: etree._Element, *path: str) -> str | None:
    current = [node]
    for name in path:
        current = [c for parent in current for c in parent if _local(c.tag) == name]
    for found in current:
        if found.text and found.text.strip():
            return str(found.text.strip())
    return None


def parse_sitemap(body: bytes, base_url: str) -> Sitemap:
    """A sitemap or sitemap index, gzipped or not, with Google News publication dates."""
    data = maybe_gunzip(body)
    try:
        root = etree.fromstring(data, parser=_SITEMAP_PARSER)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"not XML ({exc})") from None
    if root is None:
        raise DiscoveryError("not XML (no root element)")
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"root element is <{kind}>, not <urlset> or <sitemapindex>")
    child = "url" if kind == "urlset" else "sitemap"
    entries = []
    for node in root:
        if _local(node.tag) != child:
            continue
        loc = _child_text(node, "loc")
        if not loc:
            continue
        url = urljoin(base_url, loc)
        lastmod = _child_text(node, "lastmod")
        published = _child_text(node, "news", "publication_date")
        entries.append(
            Entry(
                url=url,
                published=parse_datetime(published, UTC) if published else None,
                modified=parse_datetime(lastmod, UTC) if lastmod else None,
                title=_child_text(node, "news", "title"),
            )
        )
    return Sitemap("index" if kind == "sitemapindex" else "urlset", entries)


# -- links on section pages -------------------------------------------------------------------

_DATE_IN_PATH = re.compile(r"/(19|20)\d\d[/-](0?[1-9]|1[0-2])([/-]|$)")
_LONG_ID = re.compile(r"(?:^|[/_-])\d{5,}(?:[/_.-]|$)")
_NOT_ARTICLE = re.compile(
    r"/(tag|tags|topic|topics|category|categories|kategori|author|authors|penulis|page|search|"
    r"cari|login|register|about|contact|kontak|privacy|terms|rss|feed|sitemap|video|videos|"
    r"foto|photo|gallery|live)(/|$)",
    re.IGNORECASE,
)
_ASSET = re.compile(r"\.(jpe?g|png|gif|webp|svg|css|js|ico|mp3|mp4|zip|xml|rss|json)$", re.I)


def looks_like_article(url: str) -> bool:
    """An article-URL heuristic for sources without an ``article_pattern``: a dated path, a long
    numeric id, or a slug of four or more words, and nothing that marks a listing page."""
    path = urlsplit(url).path
    if not path or path == "/" or _NOT_ARTICLE.search(path) or _ASSET.search(path):
        return False
    if _DATE_IN_PATH.search(path) or _LONG_ID.search(path):
        return True
    last = path.rstrip("/").rsplit("/", 1)[-1]
    last = re.sub(r"\.s?html?$", "", last)
    return len([w for w in re.split(r"[-_]", last) if w]) >= 4
