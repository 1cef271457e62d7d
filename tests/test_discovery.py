from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from crawler.discover.links import (
    DiscoveryError,
    looks_like_article,
    parse_feed,
    parse_sitemap,
    sniff,
)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><title>A</title><link>https://n.example/read/1/41/a-1?utm_source=rss</link>
<pubDate>Mon, 02 Nov 2020 09:06:00 +0700</pubDate></item>
<item><title>B</title><link>/read/2/41/b-2</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title>A</title><link href="https://n.example/en/read/3/a"/><id>x</id>
<published>2020-11-01T10:00:00Z</published><updated>2020-11-03T10:00:00Z</updated></entry>
</feed>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://n.example/"><title>t</title><link>https://n.example/</link></channel>
<item rdf:about="https://n.example/read/9/x"><title>X</title><link>https://n.example/read/9/x</link>
<dc:date>2020-11-02T01:00:00+00:00</dc:date></item></rdf:RDF>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://n.example/ru/read/5/x</loc>
<news:news><news:publication><news:name>N</news:name><news:language>ru</news:language>
</news:publication><news:publication_date>2020-11-02T09:06:00+07:00</news:publication_date>
<news:title>Headline</news:title></news:news></url>
<url><loc>https://n.example/read/6/y</loc><lastmod>2020-11-01</lastmod></url>
</urlset>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://n.example/sitemap-news.xml</loc></sitemap>
<sitemap><loc>https://n.example/sitemap-2015-01.xml</loc><lastmod>2015-01-31</lastmod></sitemap>
</sitemapindex>"""


def test_rss_entries_with_dates_and_relative_links() -> None:
    entries = parse_feed(RSS, "https://n.example/rss")
    assert [e.url for e in entries] == [
        "https://n.example/read/1/41/a-1?utm_source=rss",
        "https://n.example/read/2/41/b-2",
    ]
    assert entries[0].published == datetime(2020, 11, 2, 2, 6, tzinfo=UTC)
    assert entries[1].published is None


def test_atom_entries_keep_published_and_updated() -> None:
    (entry,) = parse_feed(ATOM, "https://n.example/atom")
    assert entry.url == "https://n.example/en/read/3/a"
    assert entry.published == datetime(2020, 11, 1, 10, tzinfo=UTC)
    assert entry.changed == datetime(2020, 11, 3, 10, tzinfo=UTC)


def test_rss_1_0() -> None:
    (entry,) = parse_feed(RDF, "https://n.example/rdf")
    assert entry.url == "https://n.example/read/9/x"
    assert entry.dated == datetime(2020, 11, 2, 1, tzinfo=UTC)


def test_broken_feed_is_an_error_not_a_crash() -> None:
    with pytest.raises(DiscoveryError):
        parse_feed(b"<rss><channel><item><title>cut off", "https://n.example/rss")
    with pytest.raises(DiscoveryError):
        parse_feed(b"\x00\x01 binary", "https://n.example/rss")


def test_google_news_sitemap_dates() -> None:
    sitemap = parse_sitemap(NEWS_SITEMAP, "https://n.example/sitemap-news.xml")
    assert sitemap.kind == "urlset"
    news, plain = sitemap.entries
    assert news.published == datetime(2020, 11, 2, 2, 6, tzinfo=UTC)
    assert news.title == "Headline"
    assert plain.published is None
    assert plain.modified == datetime(2020, 11, 1, tzinfo=UTC)


def test_sitemap_index_and_gzip() -> None:
    sitemap = parse_sitemap(gzip.compress(INDEX), "https://n.example/sitemap.xml")
    assert sitemap.kind == "index"
    assert [e.url for e in sitemap.entries][1] == "https://n.example/sitemap-2015-01.xml"
    assert sitemap.entries[1].dated == datetime(2015, 1, 31, tzinfo=UTC)


@pytest.mark.parametrize("body", [b"not xml at all", b"<html><body>x</body></html>", b""])
def test_broken_sitemap_is_an_error(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_sitemap(body, "https://n.example/sitemap.xml")


def test_sniff_tells_feeds_sitemaps_and_pages_apart() -> None:
    assert sniff(RSS) == "feed"
    assert sniff(ATOM) == "feed"
    assert sniff(RDF) == "feed"
    assert sniff(INDEX) == "sitemap"
    assert sniff(gzip.compress(NEWS_SITEMAP)) == "sitemap"
    assert sniff(b"<!doctype html><html lang=id>") == "html"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://n.example/read/221330/41/azerbaijan-bersumpah-1604282760", True),
        ("https://n.example/2020/11/02/some-story", True),
        ("https://n.example/story/wire-copy-of-a-news-story", True),
        ("https://n.example/internasional/", False),
        ("https://n.example/tag/armenia", False),
        ("https://n.example/about", False),
        ("https://n.example/img/peta-123456.png", False),
    ],
)
def test_article_url_heuristic(url: str, expected: bool) -> None:
    assert looks_like_article(url) is expected
