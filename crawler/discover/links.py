"""Finding article URLs: feeds (RSS 2.0, RSS 1.0, Atom), sitemaps (plain, index, Google News,
gzip) and section pages. Pure functions over bytes and strings; no Scrapy.

Listings come from strangers: no entity is ever expanded or fetched (a DTD declaring a
dangerous one is refused, ``UnsafeXML``), gzip is unpacked only up to a limit (``TooLarge``),
and a sitemap is read as a stream up to the protocol's 50,000 entries (``Sitemap.capped``)."""

from __future__ import annotations

import calendar
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit
from xml.parsers import expat

import feedparser
from lxml import etree

from crawler.units import parse_datetime

# The sitemaps protocol's limits for one sitemap file: 50,000 URLs and 50 MB uncompressed.
MAX_SITEMAP_ENTRIES = 50_000
MAX_SITEMAP_BYTES = 52_428_800
# A feed lists recent items; the largest real ones are a few MB. feedparser reads a feed whole
# (and in the crawl's reactor thread), so an unpacked feed larger than this is refused.
MAX_FEED_BYTES = 10_000_000
MAX_DECOMPRESSED = MAX_SITEMAP_BYTES
# A declared entity longer than this may not stand in a feed or sitemap: a named character
# (``<!ENTITY nbsp "&#160;">``) is all a real one declares, and a long one, referred to a
# million times, is an expansion bomb that needs no nesting.
MAX_ENTITY_TEXT = 16
_CHUNK = 65536


class DiscoveryError(Exception):
    """A feed or sitemap that cannot be read; the message says why. ``kind``, when set, names
    the error for the run's counts (the caller's default otherwise: ``bad_feed``, ...)."""

    kind: str | None = None


class UnsafeXML(DiscoveryError):
    """A DTD declaring external, parameter or nested entities: never expanded, never fetched."""

    kind = "unsafe_xml"


class TooLarge(DiscoveryError):
    """A listing that unpacks past its size limit."""

    kind = "too_large"


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


def _unpacked(body: bytes, max_size: int) -> Iterator[bytes]:
    """``body`` in chunks, gunzipped if it is gzip; ``TooLarge`` once past ``max_size`` bytes
    (so a gzip bomb costs what it unpacks up to the limit, never more)."""
    if not body.startswith(b"\x1f\x8b"):
        if len(body) > max_size:
            raise TooLarge(f"{len(body)} bytes, more than the limit of {max_size}")
        view = memoryview(body)
        for start in range(0, len(body), _CHUNK):
            yield bytes(view[start : start + _CHUNK])
        return
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    size = 0
    try:
        # The input in slices, so that each call's unconsumed input stays small.
        for start in range(0, len(body), _CHUNK):
            data = body[start : start + _CHUNK]
            while data and not decompressor.eof:
                chunk = decompressor.decompress(data, _CHUNK)
                data = decompressor.unconsumed_tail
                size += len(chunk)
                if size > max_size:
                    raise TooLarge(f"gzip data unpacks to more than {max_size} bytes")
                if chunk:
                    yield chunk
            if decompressor.eof:
                return
    except zlib.error as exc:
        raise DiscoveryError(f"gzip data is corrupt ({exc})") from None


def maybe_gunzip(body: bytes, max_size: int = MAX_DECOMPRESSED) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body
    return b"".join(_unpacked(body, max_size))


class _RootReached(Exception):
    pass


class EntityGuard:
    """Reads a document's prolog (its DTD) with expat, as defusedxml does, and refuses entity
    declarations that only an attack needs: an external entity (``SYSTEM "file:///etc/passwd"``,
    XXE), a parameter entity (declared or only referred to), one made of other entities
    (billion laughs) or a long one (quadratic blow-up), and a DTD that cannot be read or is
    itself a local file. A short text entity (a named character) and a DTD on the web (RSS
    0.91's) are let through. Nothing is expanded or fetched here, and reading stops at the
    root element.

    A document expat cannot start to read (an encoding it does not know, not XML) is let
    through to the parsers, which neither resolve entities nor fetch anything themselves."""

    def __init__(self) -> None:
        self.done = False
        self._in_dtd = False
        parser = expat.ParserCreate()
        # Parameter entities are parsed so that a reference to one is seen (expat otherwise
        # skips the declarations after it without a word); none is ever loaded.
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_ALWAYS)
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EndDoctypeDeclHandler = self._doctype_end
        parser.EntityDeclHandler = self._declared
        parser.SkippedEntityHandler = self._skipped
        parser.ExternalEntityRefHandler = self._external
        parser.StartElementHandler = self._root
        self._parser = parser

    def _doctype(
        self, name: str, system_id: str | None, public_id: str | None, internal: bool
    ) -> None:
        self._in_dtd = True
        if system_id and urlsplit(system_id).scheme.lower() not in ("", "http", "https"):
            raise UnsafeXML(f"its DTD is at {system_id!r}")

    def _doctype_end(self) -> None:
        self._in_dtd = False

    @staticmethod
    def _declared(
        name: str,
        is_parameter: bool,
        value: str | None,
        base: str | None,
        system_id: str | None,
        public_id: str | None,
        notation: str | None,
    ) -> None:
        if system_id or public_id or notation:
            raise UnsafeXML(f"declares an external entity {name!r} ({system_id or public_id!r})")
        if is_parameter:
            raise UnsafeXML(f"declares a parameter entity %{name}")
        if value is not None and "&" in value:
            raise UnsafeXML(f"declares entity {name!r} made of other entities (expansion bomb)")
        if value is not None and len(value) > MAX_ENTITY_TEXT:
            raise UnsafeXML(f"declares entity {name!r} of {len(value)} characters")

    @staticmethod
    def _skipped(name: str, is_parameter: bool) -> None:
        if is_parameter:
            raise UnsafeXML(f"refers to parameter entity %{name}")

    @staticmethod
    def _external(*_: Any) -> int:
        return 1  # the external DTD subset (the only external reference let through): not read

    @staticmethod
    def _root(*_: Any) -> None:
        raise _RootReached

    def feed(self, data: bytes, final: bool = False) -> None:
        if self.done:
            return
        try:
            self._parser.Parse(data, final)
        except _RootReached:
            self.done = True
        except expat.ExpatError as exc:
            self.done = True
            if self._in_dtd:
                raise UnsafeXML(f"its DTD cannot be read ({exc})") from None
        except (ValueError, LookupError):  # pyexpat: a multi-byte or unknown encoding
            self.done = True
        if final:
            self.done = True


def check_entities(data: bytes) -> None:
    """``UnsafeXML`` if ``data``'s DTD declares entities an attack needs (see ``EntityGuard``)."""
    guard = EntityGuard()
    for start in range(0, len(data), _CHUNK):
        guard.feed(data[start : start + _CHUNK])
        if guard.done:
            return
    guard.feed(b"", final=True)


Kind = Literal["feed", "sitemap", "html", "unknown"]
_XML_ROOT = re.compile(rb"<(?:[A-Za-z0-9_]+:)?(rss|feed|RDF|urlset|sitemapindex|html)\b", re.I)


def sniff(body: bytes) -> Kind:
    """What a document is, from its first root-like tag (a feed URL may serve a sitemap)."""
    head = body[:65536]
    if head.startswith(b"\x1f\x8b"):
        # The start of the unpacked document is enough (and a gzip bomb unpacks no further).
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 65536)
        except zlib.error:
            return "unknown"
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


def _web_url(base_url: str, link: str) -> str | None:
    """``link`` made absolute, if it is an http: or https: URL (never file:, data:, ...)."""
    link = link.strip()
    if link[:8].lower().startswith(("http://", "https://")):
        return link  # absolute already (most are): urljoin would return it as it is
    url = urljoin(base_url, link)
    return url if urlsplit(url).scheme in ("http", "https") else None


def parse_feed(body: bytes, base_url: str) -> list[Entry]:
    """Entries of an RSS or Atom feed. A feed that is broken but still yields entries is read
    for what it has; one that yields none raises ``DiscoveryError``, one that declares
    dangerous entities ``UnsafeXML`` and one over ``MAX_FEED_BYTES`` unpacked ``TooLarge``."""
    data = maybe_gunzip(body, MAX_FEED_BYTES)
    if len(data) > MAX_FEED_BYTES:
        raise TooLarge(f"{len(data)} bytes, more than a feed's limit of {MAX_FEED_BYTES}")
    check_entities(data)
    parsed = feedparser.parse(data, response_headers={"content-location": base_url})
    entries = []
    for item in parsed.entries:
        link = item.get("link") or item.get("id")
        if not link or not isinstance(link, str):
            continue
        url = _web_url(base_url, link)
        if url is None:
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
    # It listed more than the entries read (``max_entries``): the rest were not read.
    capped: bool = False


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _entry(node: etree._Element, base_url: str) -> Entry | None:
    """The entry a ``<url>`` or ``<sitemap>`` element gives, if it has a web ``<loc>``."""
    loc = lastmod = published = title = None
    for field in node:
        name = _local(field.tag)
        if name == "loc":
            loc = loc or _text(field)
        elif name == "lastmod":
            lastmod = lastmod or _text(field)
        elif name == "news":  # Google News: <news:news><news:publication_date>, <news:title>
            for item in field:
                inner = _local(item.tag)
                if inner == "publication_date":
                    published = published or _text(item)
                elif inner == "title":
                    title = title or _text(item)
    url = _web_url(base_url, loc) if loc else None
    if url is None:
        return None
    return Entry(
        url=url,
        published=parse_datetime(published, UTC) if published else None,
        modified=parse_datetime(lastmod, UTC) if lastmod else None,
        title=title,
    )


def _text(node: etree._Element) -> str | None:
    text = node.text
    return str(text).strip() or None if text else None


# Only these elements are reported by the parser (any namespace): the root and its entries.
_SITEMAP_TAGS = ["{*}urlset", "{*}sitemapindex", "{*}url", "{*}sitemap"]


def parse_sitemap(
    body: bytes,
    base_url: str,
    *,
    max_entries: int = MAX_SITEMAP_ENTRIES,
    max_size: int = MAX_SITEMAP_BYTES,
) -> Sitemap:
    """A sitemap or sitemap index, gzipped or not, with Google News publication dates.

    Read as a stream (unpacked, parsed and let go of chunk by chunk): the first
    ``max_entries`` entries are kept and reading stops there (``capped`` if more followed), so
    a sitemap of a million URLs costs what fifty thousand do. ``TooLarge`` past ``max_size``
    bytes unpacked; ``UnsafeXML`` for a DTD declaring dangerous entities (``EntityGuard``);
    libxml2's own limits on depth and text size hold (no ``huge_tree``)."""
    guard = EntityGuard()
    parser = etree.XMLPullParser(
        events=("start", "end"),
        tag=_SITEMAP_TAGS,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )
    root: etree._Element | None = None
    child = ""
    entries: list[Entry] = []
    capped = False
    for chunk in _unpacked(body, max_size):
        guard.feed(chunk)
        parser.feed(chunk)
        for event, node in parser.read_events():
            if root is None:
                root = node.getroottree().getroot()
                kind = _local(root.tag)
                if node is not root or kind not in ("urlset", "sitemapindex"):
                    raise DiscoveryError(
                        f"root element is <{kind}>, not <urlset> or <sitemapindex>"
                    )
                child = "url" if kind == "urlset" else "sitemap"
                continue
            if node.getparent() is not root or _local(node.tag) != child:
                continue
            if event == "start":
                if len(entries) >= max_entries:
                    capped = True
                    break
                continue
            entry = _entry(node, base_url)
            if entry is not None:
                entries.append(entry)
            # Let go of what is read: the tree never holds more than the entry being parsed.
            node.clear()
            while node.getprevious() is not None:
                del root[0]
        if capped:
            break
    if not capped:
        guard.feed(b"", final=True)
        try:
            whole = parser.close()
        except etree.XMLSyntaxError as exc:
            if root is None:
                raise DiscoveryError(f"not XML ({exc})") from None
        else:
            if root is None and whole is not None:
                raise DiscoveryError(
                    f"root element is <{_local(whole.tag)}>, not <urlset> or <sitemapindex>"
                )
    if root is None:
        raise DiscoveryError("not XML (no root element)")
    return Sitemap("index" if child == "sitemap" else "urlset", entries, capped)


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
