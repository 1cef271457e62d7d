"""What the hostile site (tests/hostile.py) serves, made as it is sent: normal articles,
feeds and sitemaps, and the abuse (compression bombs, deep nesting, huge single lines, entity
bombs, sitemaps of 100,000 sitemaps and of 1,000,000 URLs)."""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime
from html import escape

WORDS = (
    "river council harvest bridge mayor budget school hospital water power road election "
    "market prices farmers convoy shelter winter court judge trade exports village region "
    "officials reported week people minister border talks agreement parliament economy"
).split()

NESTED_ELEMENTS = 100_000
BIG_LINE = 50_000_000  # past max_page_size (10 MB)
NINE_MB_LINE = 9_000_000  # under it
BOMB_SIZE = 200_000_000  # what each compression bomb inflates to (20x max_page_size)
INDEX_SITEMAPS = 100_000
MILLION_URLS = 1_000_000
SITEMAP_ARTICLES = 2  # recent articles at the head of the million-URL sitemap; the rest is old
DRIP_INTERVAL = 1.0  # seconds between the slow drip's bytes

_MB = 1 << 20


def article_html(title: str, seed: str, published: datetime) -> bytes:
    rng = random.Random(seed)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(60)).capitalize() + ".</p>"
        for _ in range(6)
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        f'<meta property="article:published_time" content="{published.isoformat()}">'
        '</head><body><nav><a href="/">Home</a></nav>'
        f"<article><h1>{escape(title)}</h1>{paragraphs}</article>"
        "<footer>All rights reserved</footer></body></html>"
    ).encode()


def rss(
    base: str,
    items: list[tuple[str, str]],
    published: datetime,
    prolog: str = "",
    markup: bool = False,
) -> bytes:
    """An RSS feed of ``items`` (path, title); ``prolog`` goes before the root (a DTD), and
    with ``markup`` the titles go in as they are (entity references and all)."""
    entries = "".join(
        f"<item><title>{title if markup else escape(title)}</title><link>{base}{path}</link>"
        f"<guid>{base}{path}</guid><pubDate>{format_datetime(published)}</pubDate></item>"
        for path, title in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel>'
        f"<title>t</title><link>{base}/</link><description>d</description>{entries}"
        "</channel></rss>"
    ).encode()


def nested_page(depth: int = NESTED_ELEMENTS) -> bytes:
    head = b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Deep</title></head><body>"
    text = b"<p>" + b"Deep inside the page, a paragraph of text that goes on. " * 20 + b"</p>"
    return head + b"<div>" * depth + text + b"</div>" * depth + b"</body></html>"


def one_line(size: int) -> Iterator[bytes]:
    """An article-like page of ``size`` bytes with no line break, in chunks."""
    head = (
        b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>One line</title></head>"
        b"<body><article><h1>One line</h1>"
    )
    tail = b"</article></body></html>"
    paragraph = b"<p>" + b"the council met the farmers by the river bridge again " * 30 + b"</p>"
    yield head
    left = size - len(head) - len(tail)
    block = paragraph * (_MB // len(paragraph))
    while left > 0:
        piece = block[:left]
        left -= len(piece)
        yield piece
    yield tail


def compressed_zeros(encoding: str, size: int = BOMB_SIZE) -> bytes:
    """``size`` bytes of spaces compressed with ``encoding`` (gzip, deflate, br, zstd), made a
    megabyte at a time."""
    chunk = b" " * _MB
    if encoding in ("gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        zipper = zlib.compressobj(9, zlib.DEFLATED, wbits)
        parts = [zipper.compress(chunk) for _ in range(size // _MB)]
        return b"".join([*parts, zipper.flush()])
    if encoding == "br":
        import brotli

        compressor = brotli.Compressor(quality=5)
        parts = [compressor.process(chunk) for _ in range(size // _MB)]
        return b"".join([*parts, compressor.finish()])
    if encoding == "zstd":
        from backports import zstd

        zcompressor = zstd.ZstdCompressor()
        parts = [zcompressor.compress(chunk) for _ in range(size // _MB)]
        return b"".join([*parts, zcompressor.flush()])
    raise ValueError(encoding)


def sitemap_index(base: str, count: int = INDEX_SITEMAPS) -> Iterator[bytes]:
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    )
    for start in range(0, count, 1000):
        yield "".join(
            f"<sitemap><loc>{base}/sitemaps/{n}.xml</loc></sitemap>"
            for n in range(start, min(start + 1000, count))
        ).encode()
    yield b"</sitemapindex>"


def urlset(base: str, paths: list[str], published: datetime | None) -> bytes:
    date = f"<lastmod>{published.isoformat()}</lastmod>" if published else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{base}{p}</loc>{date}</url>" for p in paths)
        + "</urlset>"
    ).encode()


def million_urls(base: str, recent: datetime, count: int = MILLION_URLS) -> Iterator[bytes]:
    """A sitemap of ``count`` URLs: the first ``SITEMAP_ARTICLES`` are recent articles, the
    rest dated 2015 (too old to fetch)."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    )
    yield "".join(
        f"<url><loc>{base}/news/listed-{n}.html</loc><lastmod>{recent.isoformat()}</lastmod></url>"
        for n in range(SITEMAP_ARTICLES)
    ).encode()
    for start in range(SITEMAP_ARTICLES, count, 10_000):
        yield "".join(
            f"<url><loc>{base}/archive/{n}.html</loc><lastmod>2015-01-01</lastmod></url>"
            for n in range(start, min(start + 10_000, count))
        ).encode()
    yield b"</urlset>"


def gzipped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    zipper = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in chunks:
        out = zipper.compress(chunk)
        if out:
            yield out
    yield zipper.flush()


BILLION_LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    + "]>"
).replace("&lol0;", "&lol;")
