"""What a site says about itself: its declared feeds, its software, its language and time zone,
and, for a site with nothing but a home page, the shape of its article addresses."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
from lxml import etree

from crawler.discover.links import looks_like_article
from storage.urlkeys import host_of

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")

# Where the big CMSs serve their main feed when a page declares none, in the order tried.
CMS_FEEDS: dict[str, tuple[str, ...]] = {
    "wordpress": ("/feed/",),
    "drupal": ("/rss.xml",),
    "joomla": ("/index.php?format=feed&type=rss",),
    "ghost": ("/rss/",),
    "blogger": ("/feeds/posts/default",),
}
# Tried in this order when the page names no software: WordPress, Drupal, Ghost, then the
# names static-site generators and many hand-built sites use; Joomla and Blogger last.
COMMON_FEEDS = ("/feed/", "/rss.xml", "/rss/", "/rss", "/feed.xml", "/atom.xml", "/index.xml")


@dataclass
class HomePage:
    url: str
    feeds: list[tuple[str, str]] = field(default_factory=list)  # (url, title)
    cms: str | None = None
    language: str | None = None
    links: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)


def read_home(body: bytes, url: str, headers: dict[str, str]) -> HomePage:
    home = HomePage(url)
    try:
        root = lxml.html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return home
    base = root.xpath("string(//base/@href)") or url
    for link in root.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().strip()
        if "alternate" in rel and kind in FEED_TYPES:
            href = urljoin(base, link.get("href").strip())
            title = (link.get("title") or "").strip()
            if not _comments_feed(href, title):
                home.feeds.append((href, title))
    generator = " ".join(root.xpath("//meta[@name='generator']/@content")).lower()
    blob = body[:200_000].lower()
    for cms in CMS_FEEDS:
        if cms in generator:
            home.cms = cms
            break
    else:
        if b"/wp-content/" in blob or b"/wp-includes/" in blob:
            home.cms = "wordpress"
    home.language = language_code(
        root.get("lang")
        or root.get("{http://www.w3.org/XML/1998/namespace}lang")
        or " ".join(root.xpath("//meta[@http-equiv='content-language']/@content"))
        or " ".join(root.xpath("//meta[@property='og:locale']/@content"))
        or headers.get("content-language")
    )
    home.links = [urljoin(base, h.strip()) for h in root.xpath("//a/@href") if h.strip()]
    home.dates = [
        str(d) for d in root.xpath("//meta[@property='article:published_time']/@content")
    ] + [str(d) for d in root.xpath("//time/@datetime")]
    return home


def _comments_feed(url: str, title: str) -> bool:
    return "/comments/" in url or "comment" in title.lower() or "komentar" in title.lower()


_LANGUAGE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][A-Za-z0-9]{2,8})*$")


def language_code(value: str | None) -> str | None:
    """``en-US`` -> ``en``; None for anything that is not a language tag."""
    match = _LANGUAGE.match((value or "").strip().split(",")[0].strip())
    return match.group(1).lower() if match else None


_FEED_LANGUAGE = re.compile(rb"<(?:dc:)?language>\s*([A-Za-z_-]{2,12})\s*</", re.I)
_XML_LANG = re.compile(rb"<feed\b[^>]*\bxml:lang=[\"']([A-Za-z_-]{2,12})[\"']", re.I)


def listing_language(body: bytes) -> str | None:
    head = body[:20_000]
    match = _FEED_LANGUAGE.search(head) or _XML_LANG.search(head)
    return language_code(match.group(1).decode("ascii")) if match else None


_RFC822_ZONE = re.compile(
    rb"\b\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d(?::\d\d)? ([+-]\d{4}|GMT|UTC|Z)\b"
)
_ISO_ZONE = re.compile(rb"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?([+-]\d\d:?\d\d|Z)\b")


def stated_offsets(text: bytes) -> list[timedelta]:
    """The UTC offsets the dates in a feed, sitemap or page are written with."""
    found = []
    for match in [*_RFC822_ZONE.finditer(text), *_ISO_ZONE.finditer(text)]:
        zone = match.group(1).decode("ascii").replace(":", "")
        if zone in ("Z", "GMT", "UTC"):
            found.append(timedelta(0))
            continue
        sign = -1 if zone[0] == "-" else 1
        found.append(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])))
    return found


# A language's zones, most populous first: a stated offset picks the one it matches today.
_LANGUAGE_ZONES = {
    "id": ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"),
    "ms": ("Asia/Kuala_Lumpur",),
    "ru": ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok"),
    "uk": ("Europe/Kyiv",),
    "hy": ("Asia/Yerevan",),
    "az": ("Asia/Baku",),
    "ka": ("Asia/Tbilisi",),
    "tr": ("Europe/Istanbul",),
    "fa": ("Asia/Tehran",),
    "ar": ("Asia/Riyadh", "Africa/Cairo", "Asia/Baghdad", "Asia/Dubai", "Africa/Casablanca"),
    "he": ("Asia/Jerusalem",),
    "fr": ("Europe/Paris", "Africa/Abidjan", "America/Montreal"),
    "de": ("Europe/Berlin",),
    "es": (
        "Europe/Madrid",
        "America/Mexico_City",
        "America/Bogota",
        "America/Argentina/Buenos_Aires",
    ),
    "pt": ("America/Sao_Paulo", "Europe/Lisbon"),
    "en": (
        "Europe/London",
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Asia/Kolkata",
        "Africa/Lagos",
        "Africa/Nairobi",
        "Australia/Sydney",
    ),
    "zh": ("Asia/Shanghai",),
    "ja": ("Asia/Tokyo",),
    "ko": ("Asia/Seoul",),
    "th": ("Asia/Bangkok",),
    "vi": ("Asia/Ho_Chi_Minh",),
    "tl": ("Asia/Manila",),
    "my": ("Asia/Yangon",),
    "bn": ("Asia/Dhaka",),
    "ur": ("Asia/Karachi",),
    "hi": ("Asia/Kolkata",),
    "am": ("Africa/Addis_Ababa",),
    "sw": ("Africa/Nairobi",),
    "so": ("Africa/Mogadishu",),
}


def zone_for(
    offsets: list[timedelta], language: str | None, now: datetime | None = None
) -> str | None:
    """The time zone the site's dates are written in: ``UTC`` for UTC dates, the zone of the
    site's language at that offset today, else a fixed ``Etc/GMT`` zone; None when the site
    writes no offset."""
    if not offsets:
        return None
    offset, _ = Counter(offsets).most_common(1)[0]
    if offset == timedelta(0):
        return "UTC"
    now = now or datetime.now(UTC)
    for name in _LANGUAGE_ZONES.get(language or "", ()):
        if now.astimezone(ZoneInfo(name)).utcoffset() == offset:
            return name
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    if rest:
        return None
    # POSIX signs: Etc/GMT-7 is seven hours ahead of UTC.
    return f"Etc/GMT{-hours:+d}"


# -- a home page of article links: the pattern of its article addresses ---------------------

_NUMBER = re.compile(r"^\d+$")
_YEAR = re.compile(r"^(19|20)\d\d$")


def article_links(home: HomePage) -> list[str]:
    host = host_of(home.url)
    seen: dict[str, None] = {}
    for link in home.links:
        parts = urlsplit(link)
        if parts.scheme in ("http", "https") and host_of(link) == host and looks_like_article(link):
            seen.setdefault(parts._replace(fragment="").geturl(), None)
    return list(seen)


def article_pattern(links: list[str], others: list[str]) -> str | None:
    """A regex for the article links, from the leading path segments most of them share
    (``/read/\\d+/...``, ``/news/...``, ``/\\d{4}/\\d+/...``), that matches none of the page's
    other links (sections, tags); None when they share no such prefix."""
    if len(links) < 3:
        return None
    paths = [[s for s in urlsplit(u).path.split("/") if s] for u in links]
    parts: list[str] = []
    for depth in range(3):
        shapes = Counter(_shape(p[depth]) for p in paths if len(p) > depth + 1)
        if not shapes:
            break
        shape, count = shapes.most_common(1)[0]
        if count < 0.8 * len(paths):
            break
        parts.append(shape)
    while parts:
        # Unanchored, as the crawl matches it against whole URLs; something must follow.
        pattern = "/" + "/".join(parts) + "/[^/?#]+"
        regex = re.compile(pattern)
        hits = sum(1 for u in links if regex.search(urlsplit(u).path))
        misses = sum(1 for u in others if regex.search(urlsplit(u).path))
        if hits >= 0.8 * len(links) and misses == 0 and parts != [r"\d+"]:
            return pattern
        parts.pop()
    return None


def _shape(segment: str) -> str:
    if _YEAR.match(segment):
        return r"\d{4}"
    if _NUMBER.match(segment):
        return r"\d+"
    return re.escape(segment)
