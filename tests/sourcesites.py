"""Small loopback sites of the kinds `presswatch sources add` meets, each its own host on a
127.0.3.x address: a WordPress-shaped site (its feed declared in <head>), a site with only a
robots.txt Sitemap line to a sitemap index with a Google News sitemap, a site with neither
whose /feed/ answers, a site with nothing but a home page of article links, a site that
answers 403 to everything, and a site whose declared feed lists another domain's articles."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crawler.demo.server import SiteServer

HOSTS = {
    "wp": "127.0.3.1",
    "news": "127.0.3.2",
    "plain": "127.0.3.3",
    "pages": "127.0.3.4",
    "thief": "127.0.3.6",
}
FORBIDDEN = "127.0.3.5"
TEXT = (
    "Talks between the two delegations resumed on Monday in the capital, officials said, "
    "after a week in which shelling along the front line killed at least a dozen civilians. "
)


def _article(title: str, lang: str, when: datetime, text: str = TEXT * 8) -> str:
    paragraphs = "".join(f"<p>{escape(text)} {n}</p>" for n in range(4))
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        f'<meta property="article:published_time" content="{when.isoformat()}"></head>'
        f'<body><nav><a href="/">Home</a></nav><article><h1>{escape(title)}</h1>'
        f"{paragraphs}</article><footer>All rights reserved</footer></body></html>"
    )


def _rss(host: str, items: list[tuple[str, str, datetime]], zone: ZoneInfo | None = None) -> str:
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(when.astimezone(zone or UTC))}</pubDate></item>"
        for t, link, when in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{host}</title><link>{{{{{host}}}}}/</link><description>{host}</description>"
        f"{entries}</channel></rss>"
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def build(root: Path, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    _wordpress(root / "wp", now)
    _news_sitemap(root / "news", now)
    _plain_feed(root / "plain", now)
    _pages_only(root / "pages", now)
    _thief(root / "thief", now)


def _wordpress(folder: Path, now: datetime) -> None:
    items = []
    for n in range(4):
        when = now - timedelta(hours=3 * n + 1)
        path = f"/{when:%Y/%m/%d}/ceasefire-talks-resume-in-the-capital-{n}/"
        title = f"Ceasefire talks resume in the capital, day {n}"
        _write(folder / path.lstrip("/") / "index.html", _article(title, "en-US", when))
        items.append((title, f"{{{{wp}}}}{path}", when))
    _write(folder / "feed" / "index.html", _rss("wp", items))
    _write(folder / "comments" / "feed" / "index.html", _rss("wp", items[:1]))
    _write(
        folder / "_routes.toml",
        '["/feed/"]\ncontent_type = "application/rss+xml; charset=UTF-8"\n'
        '["/comments/feed/"]\ncontent_type = "application/rss+xml; charset=UTF-8"\n',
    )
    _write(folder / "robots.txt", "User-agent: *\nDisallow: /wp-admin/\n")
    links = "".join(
        f'<li><a href="{link.replace("{{wp}}", "")}">{t}</a></li>' for t, link, _ in items
    )
    _write(
        folder / "index.html",
        '<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8"><title>WP News</title>'
        '<meta name="generator" content="WordPress 6.4.2">'
        '<link rel="alternate" type="application/rss+xml" title="WP News &raquo; Feed" '
        'href="{{wp}}/feed/">'
        '<link rel="alternate" type="application/rss+xml" title="WP News &raquo; Comments Feed" '
        'href="{{wp}}/comments/feed/">'
        "<link rel='stylesheet' href='/wp-content/themes/news/style.css'></head>"
        f"<body><ul>{links}</ul></body></html>",
    )


def _news_sitemap(folder: Path, now: datetime) -> None:
    jakarta = ZoneInfo("Asia/Jakarta")
    urls = []
    for n in range(5):
        when = (now - timedelta(hours=2 * n + 1)).astimezone(jakarta)
        path = f"/read/{9000 + n}/41/perundingan-gencatan-senjata-dilanjutkan-{n}"
        _write(folder / path.lstrip("/"), _article(f"Perundingan dilanjutkan {n}", "id", when))
        urls.append(
            f"<url><loc>{{{{news}}}}{path}</loc><news:news><news:publication>"
            "<news:name>Warta</news:name><news:language>id</news:language></news:publication>"
            f"<news:publication_date>{when.isoformat(timespec='seconds')}</news:publication_date>"
            f"<news:title>Perundingan {n}</news:title></news:news></url>"
        )
    _write(
        folder / "sitemap-news.xml",
        '<?xml version="1.0" encoding="UTF-8"?><urlset '
        'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        + "".join(urls)
        + "</urlset>",
    )
    _write(
        folder / "sitemap-2015-01.xml",
        '<?xml version="1.0" encoding="UTF-8"?><urlset '
        'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{{news}}/read/1/41/lama'
        "</loc><lastmod>2015-01-02T00:00:00+07:00</lastmod></url></urlset>",
    )
    _write(
        folder / "sitemap_index.xml",
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
        'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{{{{news}}}}/sitemap-news.xml</loc><lastmod>{now.astimezone(jakarta).isoformat(timespec='seconds')}</lastmod></sitemap>"
        "<sitemap><loc>{{news}}/sitemap-2015-01.xml</loc><lastmod>2015-01-31T00:00:00+07:00</lastmod></sitemap>"
        "</sitemapindex>",
    )
    _write(
        folder / "robots.txt",
        "User-agent: *\nDisallow: /cari/\n\nSitemap: {{news}}/sitemap_index.xml\n",
    )
    _write(
        folder / "index.html",
        '<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"><title>Warta</title></head>'
        '<body><a href="/nasional/">Nasional</a></body></html>',
    )


def paris_offset(now: datetime) -> timedelta:
    offset = now.astimezone(ZoneInfo("Europe/Paris")).utcoffset()
    assert offset is not None
    return offset


def _plain_feed(folder: Path, now: datetime) -> None:
    paris = ZoneInfo("Europe/Paris")
    items = []
    for n in range(3):
        when = now - timedelta(hours=n + 1)
        path = f"/actualites/les-pourparlers-reprennent-dans-la-capitale-{n}.html"
        _write(folder / path.lstrip("/"), _article(f"Les pourparlers reprennent {n}", "fr", when))
        items.append((f"Les pourparlers reprennent {n}", f"{{{{plain}}}}{path}", when))
    _write(folder / "feed" / "index.html", _rss("plain", items, paris))
    _write(
        folder / "_routes.toml", '["/feed/"]\ncontent_type = "application/rss+xml; charset=utf-8"\n'
    )
    _write(
        folder / "index.html",
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Actu</title></head>'
        '<body><a href="/actualites/">Actualités</a></body></html>',
    )


def _pages_only(folder: Path, now: datetime) -> None:
    links = []
    for n in range(5):
        when = now - timedelta(hours=n + 1)
        path = f"/berita/{when:%Y}/{n + 10}/rundingan-damai-diteruskan-di-ibu-kota-{n}"
        _write(folder / path.lstrip("/"), _article(f"Rundingan damai {n}", "ms", when))
        links.append(f'<li><a href="{path}">Rundingan damai {n}</a></li>')
    _write(
        folder / "index.html",
        '<!DOCTYPE html><html lang="ms"><head><meta charset="utf-8"><title>Berita</title></head>'
        '<body><nav><a href="/">Utama</a> <a href="/berita/">Berita</a> '
        '<a href="/sukan/">Sukan</a> <a href="/tentang-kami">Tentang kami</a></nav>'
        f"<ul>{''.join(links)}</ul></body></html>",
    )


def _thief(folder: Path, now: datetime) -> None:
    items = [
        (
            f"Copied story {n}",
            f"https://other.example/world/copied-story-about-the-talks-{n}",
            now - timedelta(hours=n + 1),
        )
        for n in range(3)
    ]
    _write(folder / "feed.xml", _rss("thief", items))
    _write(
        folder / "index.html",
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Aggregator</title>'
        '<link rel="alternate" type="application/rss+xml" title="Top stories" href="/feed.xml">'
        "</head><body><p>Top stories from around the web.</p></body></html>",
    )


class _Forbidden(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"<html><body>Forbidden</body></html>"
        self.send_response(403)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Sites:
    """The five file sites and the forbidding one, served until ``stop``."""

    def __init__(self, root: Path) -> None:
        build(root)
        self.files = SiteServer([root], HOSTS).start()
        self.forbidden = ThreadingHTTPServer((FORBIDDEN, 0), _Forbidden)
        self.forbidden.daemon_threads = True
        threading.Thread(target=self.forbidden.serve_forever, daemon=True).start()

    def url(self, host: str, path: str = "/") -> str:
        if host == "forbidden":
            return f"http://{FORBIDDEN}:{self.forbidden.server_address[1]}{path}"
        return self.files.url(host, path)

    def stop(self) -> None:
        self.files.stop()
        self.forbidden.shutdown()
        self.forbidden.server_close()
