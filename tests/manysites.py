"""Many small news sites on loopback, each its own host (its own 127.0.1.x address), for the
tests of one engine carrying many sources: a robots.txt, an RSS feed of a few recent
articles, article pages with distinct text, and a home page. Served by the demo's file server.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

from crawler.demo.server import SiteServer

WORDS = (
    "army troops shelling ceasefire talks president minister border village city region "
    "killed wounded missile drone attack strike forces government officials said reported "
    "week people civilians humanitarian aid refugees negotiations peace agreement parliament "
    "election market prices economy harvest school hospital water power road bridge river "
    "winter council mayor police court judge budget trade exports farmers convoy shelter"
).split()


@dataclass(frozen=True, slots=True)
class SiteSpec:
    host: str  # the host's name in the server and in the sources' names
    address: str
    feeds: dict[str, int]  # feed path -> how many articles it lists (each its own)


def specs(count: int, articles: int) -> list[SiteSpec]:
    """``count`` sites of ``articles`` articles each; the first also has a second feed, its
    world section, crawled as a source of its own (two sources on one host)."""
    sites = []
    for i in range(count):
        feeds = {"/rss.xml": articles}
        if i == 0:
            feeds["/world.xml"] = articles
        sites.append(SiteSpec(f"site{i:02d}", f"127.0.1.{i + 1}", feeds))
    return sites


def _text(rng: random.Random, sentences: int) -> list[str]:
    paragraphs = []
    for _ in range(sentences // 3):
        words = [rng.choice(WORDS) for _ in range(rng.randint(45, 70))]
        paragraphs.append(" ".join(words).capitalize() + ".")
    return paragraphs


def build(root: Path, sites: list[SiteSpec]) -> None:
    now = datetime.now(UTC)
    for site in sites:
        rng = random.Random(site.host)
        folder = root / site.host
        (folder / "news").mkdir(parents=True)
        (folder / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
        links = []
        number = 0
        for feed, count in site.feeds.items():
            items = []
            for _ in range(count):
                title = f"{site.host.title()} report {number}: " + " ".join(rng.sample(WORDS, 4))
                published = now - timedelta(hours=number + 1)
                path = f"/news/{number}.html"
                body = "".join(f"<p>{escape(p)}</p>" for p in _text(rng, 18))
                (folder / path.lstrip("/")).write_text(
                    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                    f"<title>{escape(title)}</title>"
                    f'<meta property="article:published_time" content="{published.isoformat()}">'
                    '</head><body><nav><a href="/">Home</a> <a href="/world/">World</a></nav>'
                    f"<article><h1>{escape(title)}</h1>{body}</article>"
                    f"<footer>{escape(site.host)} news, all rights reserved</footer>"
                    "</body></html>",
                    encoding="utf-8",
                )
                items.append(
                    f"<item><title>{escape(title)}</title>"
                    f"<link>{{{{{site.host}}}}}{path}</link>"
                    f"<guid>{{{{{site.host}}}}}{path}</guid>"
                    f"<pubDate>{format_datetime(published)}</pubDate></item>"
                )
                links.append(f'<li><a href="{path}">{escape(title)}</a></li>')
                number += 1
            (folder / feed.lstrip("/")).write_text(
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>{site.host}</title><link>{{{{{site.host}}}}}/</link>"
                f"<description>{site.host} news</description>{''.join(items)}</channel></rss>",
                encoding="utf-8",
            )
        (folder / "index.html").write_text(
            f"<html><body><h1>{site.host}</h1><ul>{''.join(links)}</ul></body></html>",
            encoding="utf-8",
        )


def serve(root: Path, sites: list[SiteSpec]) -> SiteServer:
    return SiteServer([root], {s.host: s.address for s in sites}).start()


def config(
    server: SiteServer,
    sites: list[SiteSpec],
    database_url: str,
    *,
    crawl: str = "",
    daemon: str = "",
    every: str = "15m",
) -> str:
    """One ``[[sources]]`` per feed, named after the host (and the feed, past the first)."""
    blocks = []
    for site in sites:
        for n, feed in enumerate(site.feeds):
            name = site.host if n == 0 else f"{site.host}-{Path(feed).stem}"
            blocks.append(
                f'[[sources]]\nname = "{name}"\nfeeds = ["{server.url(site.host, feed)}"]\n'
                f'every = "{every}"\n'
            )
    return (
        f'[storage]\nurl = "{database_url}"\n\n'
        '[crawl]\nuser_agent = "presswatch-test/0.1"\ntimeout = "10s"\nretries = 0\n'
        f"{crawl}\n\n"
        f"{'[daemon]' + chr(10) + daemon + chr(10) if daemon else ''}"
        '[[watchlists]]\nname = "ceasefire"\nquery = "ceasefire AND talks"\n\n' + "\n".join(blocks)
    )


def source_names(sites: list[SiteSpec]) -> list[str]:
    return [
        site.host if n == 0 else f"{site.host}-{Path(feed).stem}"
        for site in sites
        for n, feed in enumerate(site.feeds)
    ]
