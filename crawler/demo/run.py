"""``presswatch demo``: the whole job on the bundled site, with no internet and no set-up."""

from __future__ import annotations

import json
import sys
import tempfile
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.config import Config, load_config
from crawler.demo import SITE
from crawler.demo.server import SiteServer
from crawler.escaping import terminal_text
from crawler.scrapy.crawl import crawl_sources
from crawler.watch.snippets import snippets_of
from storage import matches as match_store
from storage.engine import make_engine
from storage.models import Article

# The demo site's stories are from late October and early November 2020.
SITE_OLDEST_STORY = datetime(2020, 10, 1, tzinfo=UTC)


def site_max_age_days(now: datetime | None = None) -> int:
    """A ``max_article_age`` in days that admits the demo site's stories (and not its 2015
    archive), whatever today's date is."""
    return ((now or datetime.now(UTC)) - SITE_OLDEST_STORY).days + 1


def demo_config(
    server: SiteServer,
    database: str = "demo.db",
    *,
    extra_pages: tuple[str, ...] = (),
    timeout: str = "10s",
    retries: int = 1,
) -> str:
    """The demo's config for ``server``; tests add their extra pages and tighter limits.
    ``database`` is a SQLite file name, or a whole database URL."""
    news, wire = server.base("news"), server.base("wire")
    url = database if "://" in database else f"sqlite:///{database}"
    pages = ", ".join(
        f'"{news}{path}"'
        for path in ("/", "/internasional/", "/en/", "/ru/", "/berita-lain/", *extra_pages)
    )
    return f"""\
# Written by `presswatch demo` for the bundled site it served on {news} and {wire}.
[storage]
url = "{url}"

[crawl]
user_agent = "presswatch-demo/0.1 (+https://example.org/presswatch)"
max_article_age = "{site_max_age_days()}d"
timeout = "{timeout}"
retries = {retries}
concurrency_per_domain = 8

[[sources]]
name = "warta"
feeds = ["{news}/rss", "{news}/feed/world.atom", "{news}/feed/rusak.rss"]
sitemaps = ["{news}/sitemap.xml", "{news}/sitemap-rusak.xml"]
pages = [{pages}]
article_pattern = "/read/\\\\d+/"
language = "id"
timezone = "Asia/Jakarta"
every = "15m"

[[watchlists]]
name = "karabakh"
description = "Nagorno-Karabakh conflict"
query = '''("Nagorno-Karabakh" OR Karabakh OR Artsakh OR "Dağlıq Qarabağ" OR Qarabağ
          OR "Нагорный Карабах" OR Карабах OR "Լեռնային Ղարաբաղ" OR Ղարաբաղ)
         AND (war OR perang OR rudal OR missile* OR tewas OR killed OR serang OR tempur OR
              война OR погиб* OR savaş OR müharibə OR պատերազմ OR մարտ*)'''

[[sources]]
name = "wire"
feeds = ["{wire}/feed.rss"]
sitemaps = ["{wire}/sitemap.xml"]
pages = ["{wire}/"]
language = "en"
timezone = "UTC"
every = "30m"
"""


# The demo's watcher gets its digest as files (no mail server needed) right after the crawl.
DEMO_WATCHER = """
[[watchers]]
name = "analyst"
watchlists = ["karabakh"]
schedule = "daily 07:00"
timezone = "Asia/Jakarta"
directory = "digests/"
feed = "feeds/karabakh.xml"
"""


def _write_digest(config: Config) -> list[str]:
    from crawler.digests.outbox import Outbox

    engine = make_engine(config.database_url)
    try:
        outcomes = Outbox(engine, config).run_digest(config.watcher("analyst"))
    finally:
        engine.dispose()
    return [o.target for o in outcomes if o.target]


def _marked(snippet: dict[str, Any]) -> str:
    """The snippet on one line with its hits in brackets, without control characters."""
    text, out, position = snippet["text"], [], 0
    for start, end in sorted(snippet["highlights"]):
        if start < position:
            continue
        out += [text[position:start], "[", text[start:end], "]"]
        position = end
    out.append(text[position:])
    return "".join(terminal_text(piece) for piece in out)


def run_demo(directory: Path | None, *, quiet: bool = False, as_json: bool = False) -> int:
    directory = directory or Path(tempfile.mkdtemp(prefix="presswatch-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "presswatch.toml"
    say = (lambda *a: None) if quiet or as_json else (lambda *a: print(*a, file=sys.stderr))

    with SiteServer([SITE]) as server:
        config_path.write_text(demo_config(server) + DEMO_WATCHER, encoding="utf-8")
        config = load_config(config_path)
        say(f"Serving the demo news site on {server.base('news')} and {server.base('wire')}")
        say(f"Config and database in {directory}")
        summaries = crawl_sources(
            config, [s.name for s in config.sources], progress_seconds=0 if quiet else 2
        )

    engine = make_engine(config.database_url, write=False)
    with Session(engine) as session:
        articles = list(session.scalars(select(Article).order_by(Article.published_at)))
        matches = match_store.matches_of(session, [a.id for a in articles])
    engine.dispose()

    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": a.id,
                        "source": a.source,
                        "title": a.title,
                        "language": a.language,
                        "published_at": a.published_at.isoformat() if a.published_at else None,
                        "story_id": a.story_id,
                        "url": a.url,
                        "text": a.text,
                    }
                    for a in articles
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0

    from crawler.scrapy.crawl import print_summaries

    print()
    print_summaries(summaries)
    print(
        f"\n{len(articles)} articles stored (the demo site also serves broken pages, feeds and "
        "redirects on purpose: they are the errors counted above)\n"
    )
    print(f"{'id':>3} {'source':<6} {'lang':<4} {'published (UTC)':<17} {'story':>5}  title")
    t = terminal_text
    for a in articles:
        published = a.published_at.strftime("%Y-%m-%d %H:%M") if a.published_at else "-"
        title = t(a.title or "")[:70]
        print(
            f"{a.id:>3} {t(a.source):<6} {t(a.language or '-'):<4} {published:<17} "
            f"{a.story_id or a.id:>5}  {title}"
        )
    if matches:
        print("\nFlagged by the 'karabakh' watchlist (terms that matched, and the best snippet):")
        for a in articles:
            for m in matches.get(a.id, []):
                terms = t(", ".join(f"{term['term']} ×{term['count']}" for term in m.terms))
                print(f"  #{a.id} {t(a.title or '')[:60]}\n      {terms}")
                snippets = snippets_of(m, a, limit=1)
                if snippets:
                    print("      " + textwrap.shorten(_marked(snippets[0]), 160))
    seed = next((a for a in articles if "Nagorno-Karabakh" in (a.title or "")), None)
    if seed is not None:
        print(f"\nThe text extracted from {t(seed.url)}:\n")
        for paragraph in seed.text.split("\n")[:4]:
            print(
                textwrap.fill(t(paragraph), width=96, initial_indent="  ", subsequent_indent="  ")
            )
        print("  …")
    digest_files = _write_digest(config)
    print(f"\nThe watcher 'analyst' got its digest: {t(', '.join(digest_files))}")
    print(
        f"\nNext: presswatch --config {config_path} export | less   "
        f"(or --format csv -o articles.csv)"
    )
    return 0 if all(s.status == "finished" for s in summaries) else 1
