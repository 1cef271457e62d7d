"""The web view at scale: every page of `presswatch serve` over 100,000 stored articles.

    python bench/web.py [--articles 100000] [--clients 4] [--requests 200] [--keep DIR]
                        [--only PAGE]

Fills a SQLite database with generated articles of about 120 words over the last 60 days
(50 sources, a third of the articles copies joining another's story), each flagged by the
watchlists whose terms it names, with the match rows and search-index rows the crawl writes
(flagged by the real matcher, so the stored hit positions fit the texts), a busy last six
hours for one watchlist, 20 crawl runs per source and a few deliveries; then starts
`presswatch serve` (the command, as a user runs it) and has ``--clients`` concurrent clients
request each page ``--requests`` times, and prints each page's median, p95 and worst time.
Generation uses SQLAlchemy core inserts: a few minutes for 100,000 articles.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from crawler.watch.flagging import analyse  # noqa: E402
from crawler.watch.matcher import Matcher, WatchlistQuery  # noqa: E402
from crawler.watch.tokens import split_words  # noqa: E402
from storage import fingerprints  # noqa: E402
from storage.engine import make_engine  # noqa: E402
from storage.migrate import ensure_schema  # noqa: E402
from storage.models import Article, CrawlRun, Delivery, WatchMatch  # noqa: E402

BATCH = 10_000
SOURCES = 50
DAYS = 60
BASE_TEXTS = 4000
COPY_SHARE = 0.33
TOPIC_SHARE = 0.25  # articles naming one of the watchlists' topics
FILLER = (
    "the of and to in a is that for on with as was by at from troops forces said reported "
    "officials government president minister border village city region week people "
    "civilians humanitarian aid refugees negotiations talks agreement council statement "
    "residents witnesses local sources according late early morning evening authorities "
    "security situation meeting capital province district spokesman agency news"
).split()
TOPICS = {
    "karabakh": (
        ["Nagorno-Karabakh", "Karabakh", "Stepanakert", "Lachin"],
        ["war", "killed", "missile", "missiles", "shelling"],
        '("Nagorno-Karabakh" OR Karabakh OR Stepanakert) AND (war OR killed OR missile*)',
    ),
    "ukraine": (
        ["Ukraine", "Kyiv", "Donbas", "Kharkiv"],
        ["shelling", "drones", "drone", "offensive"],
        "(Ukraine OR Kyiv OR Donbas OR Kharkiv) AND (shelling OR drone* OR offensive)",
    ),
    "sudan": (
        ["Sudan", "Khartoum", "Darfur", "El Fasher"],
        ["RSF", "clashes", "famine", "displaced"],
        '(Sudan OR Khartoum OR Darfur OR "El Fasher") AND (RSF OR clashes OR famine)',
    ),
    "gaza": (
        ["Gaza", "Rafah", "Khan Younis"],
        ["airstrike", "airstrikes", "ceasefire", "hostages"],
        '(Gaza OR Rafah OR "Khan Younis") AND (airstrike* OR ceasefire OR hostages)',
    ),
    "sahel": (
        ["Mali", "Burkina Faso", "Niger", "Bamako"],
        ["jihadists", "coup", "attack", "ambush"],
        '(Mali OR "Burkina Faso" OR Niger OR Bamako) AND (jihadist* OR coup OR ambush)',
    ),
}
BREAKING = "sudan"  # its last six hours are busy
LANGUAGES = ["en"] * 6 + ["fr", "id", "ru", "ar"]


def base_text(rng: random.Random) -> tuple[str, str, str | None]:
    """A title and body of about 120 words; most name one topic's places and actions."""
    topic = rng.choice(list(TOPICS)) if rng.random() < TOPIC_SHARE else None
    words = [rng.choice(FILLER) for _ in range(120)]
    title = [rng.choice(FILLER) for _ in range(7)]
    if topic is not None:
        places, actions, _ = TOPICS[topic]
        for _ in range(rng.randint(1, 4)):
            words.insert(rng.randrange(len(words)), rng.choice(places))
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words)), rng.choice(actions))
        title.insert(rng.randrange(len(title)), rng.choice(places))
    sentences, body = [], []
    for i, word in enumerate(words):
        body.append(word)
        if i % 15 == 14:
            sentences.append(" ".join(body).capitalize() + ".")
            body = []
    if body:
        sentences.append(" ".join(body).capitalize() + ".")
    paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
    return " ".join(title).capitalize(), "\n".join(paragraphs), topic


def fill(url: str, count: int) -> dict[str, int]:
    engine = make_engine(url)
    ensure_schema(engine)
    rng = random.Random(20201102)
    matcher = Matcher([WatchlistQuery(name, t[2]) for name, t in TOPICS.items()])
    bases = []
    for _ in range(BASE_TEXTS):
        title, body, _topic = base_text(rng)
        records, _words = analyse(matcher, title, body, "en")
        bases.append((title, body, records))
    now = datetime.now(UTC)
    start = now - timedelta(days=DAYS)
    span = (now - start).total_seconds()
    stories: list[tuple[int, int]] = []  # (story id, base index) of articles so far
    made = {"articles": 0, "matches": 0}
    article_id = 0
    for first in range(0, count, BATCH):
        articles, matches, search = [], [], []
        for _ in range(first, min(count, first + BATCH)):
            article_id += 1
            copy = stories and rng.random() < COPY_SHARE
            if copy:
                story_id, base = stories[rng.randrange(max(0, len(stories) - 2000), len(stories))]
            else:
                story_id, base = article_id, rng.randrange(BASE_TEXTS)
            stories.append((story_id, base))
            title, body, records = bases[base]
            # The breaking watchlist's stories crowd the last six hours.
            if not copy and any(r.watchlist == BREAKING for r in records) and rng.random() < 0.1:
                published = now - timedelta(seconds=rng.uniform(0, 6 * 3600))
            else:
                published = start + timedelta(seconds=span * article_id / count)
                published -= timedelta(seconds=rng.uniform(0, 3600))
            source = f"source{rng.randrange(SOURCES)}"
            suffix = f"\nDispatch {article_id} from {source}."
            text_ = body + suffix
            fetched = min(now, published + timedelta(minutes=rng.uniform(1, 20)))
            articles.append(
                {
                    "id": article_id,
                    "source": source,
                    "url": f"https://{source}.example.org/read/{article_id}/",
                    "title": title,
                    "authors": [],
                    "tags": [],
                    "published_at": published,
                    "language": rng.choice(LANGUAGES),
                    "text": text_,
                    "site_name": source.capitalize(),
                    "content_hash": fingerprints.content_hash(text_),
                    "minhash": b"\0" * 256,
                    "story_id": story_id,
                    "revision": 1,
                    "fetched_at": fetched,
                    "updated_at": fetched,
                    "checked_at": fetched,
                }
            )
            extra = len(split_words(suffix))
            for record in records:
                hits = dict(record.hits)
                if hits.get("field") == "body" and hits.get("words"):
                    hits["words"] = int(hits["words"]) + extra
                matches.append(
                    {
                        "article_id": article_id,
                        "watchlist": record.watchlist,
                        "terms": record.terms,
                        "score": record.score,
                        "hits": hits,
                        "snippets": [],
                        "status": "new",
                        "article_revision": 1,
                        "matched_at": fetched,
                        "updated_at": fetched,
                    }
                )
            search.append({"id": article_id, "words": _search_words(title, text_)})
        with engine.begin() as connection:
            connection.execute(insert(Article), articles)
            if matches:
                connection.execute(insert(WatchMatch), matches)
            connection.execute(
                text("INSERT INTO article_search (rowid, words) VALUES (:id, :words)"), search
            )
        made["articles"] += len(articles)
        made["matches"] += len(matches)
        print(f"  {made['articles']:,} articles stored", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    with engine.begin() as connection:
        runs = []
        for s in range(SOURCES):
            for k in range(20):
                began = now - timedelta(minutes=15 * (20 - k))
                runs.append(
                    {
                        "source": f"source{s}",
                        "started_at": began,
                        "finished_at": began + timedelta(seconds=20),
                        "status": "failed" if s % 17 == 0 and k > 15 else "finished",
                        "finish_reason": "finished",
                        "pages_fetched": 0 if s % 17 == 0 and k > 15 else 30,
                        "new": rng.randrange(6),
                        "errors": {"http_404": 1, "timeout": 2} if s % 5 == 0 else {},
                    }
                )
        connection.execute(insert(CrawlRun), runs)
        connection.execute(
            insert(Delivery),
            [
                {
                    "watcher": f"desk{w}",
                    "channel": "email",
                    "kind": "digest",
                    "status": "pending" if w == 0 else "sent",
                    "message_id": f"<bench-{w}@presswatch>",
                    "period_start": now - timedelta(days=1),
                    "period_end": now,
                    "created_at": now,
                    "attempts": 2 if w == 0 else 1,
                    "last_error": "SMTP 451: try again later" if w == 0 else None,
                    "sent_at": None if w == 0 else now,
                }
                for w in range(3)
            ],
        )
    engine.dispose()
    return made


def _search_words(title: str, body: str) -> str:
    from crawler.watch.flagging import search_words

    return search_words(title, body)


def write_config(folder: Path) -> Path:
    config = folder / "presswatch.toml"
    parts = ['[storage]\nurl = "sqlite:///web.db"\n']
    for s in range(SOURCES):
        parts.append(
            f'[[sources]]\nname = "source{s}"\nfeeds = ["https://source{s}.example.org/rss"]\n'
        )
    for name, (_places, _actions, query) in TOPICS.items():
        parts.append(f"[[watchlists]]\nname = \"{name}\"\nquery = '''{query}'''\n")
    for w in range(3):
        watchlists = json.dumps(list(TOPICS)[w : w + 2])
        parts.append(
            f'[[watchers]]\nname = "desk{w}"\nwatchlists = {watchlists}\n'
            f'schedule = "daily 07:00"\nemail = "desk{w}@example.org"\n'
        )
    config.write_text("\n".join(parts), encoding="utf-8")
    return config


def pages(folder: Path, rng: random.Random) -> list[tuple[str, list[str]]]:
    """Each page measured, with the paths requested for it (in turn)."""
    engine = make_engine(f"sqlite:///{folder / 'web.db'}", write=False)
    with engine.connect() as connection:
        flagged = [
            row[0]
            for row in connection.execute(
                text(
                    "SELECT DISTINCT a.story_id FROM matches m JOIN articles a"
                    " ON a.id = m.article_id ORDER BY m.id DESC LIMIT 2000"
                )
            )
        ]
    engine.dispose()
    stories = [f"/stories/{rng.choice(flagged)}" for _ in range(200)]
    q = urllib.parse.quote
    return [
        ("overview", ["/"]),
        ("watchlist", [f"/watchlists/{name}" for name in TOPICS]),
        ("story", stories),
        ("search: a watchlist's query", [f"/search?q={q(TOPICS['karabakh'][2])}"]),
        ("search: a word", ["/search?q=Rafah"]),
        (
            "search: a phrase, 7 days",
            [f"/search?q={q(chr(34) + 'Burkina Faso' + chr(34))}&since=7d"],
        ),
        ("search: filtered", ["/search?q=Kyiv&source=source3&language=en"]),
        ("search: no match", ["/search?q=Zanzibarovka"]),
        ("search: a page further", []),  # filled in from the first page's next link
        ("try a watchlist, 7 days", [f"/search?q={q('Darfur AND famine')}&try=7"]),
        ("sources", ["/sources"]),
        ("digests", ["/digests"]),
        ("API: overview", ["/api/"]),
        ("API: search", [f"/api/search?q={q('Gaza AND ceasefire')}"]),
        ("Atom feed", [f"/feeds/{name}.atom" for name in TOPICS]),
    ]


def measure(base: str, paths: list[str], clients: int, requests: int) -> list[float]:
    times: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def work() -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            began = time.perf_counter()
            with urllib.request.urlopen(base + paths[n % len(paths)], timeout=60) as reply:
                reply.read()
                if reply.status != 200:
                    raise RuntimeError(f"{paths[n % len(paths)]}: {reply.status}")
            elapsed = time.perf_counter() - began
            with lock:
                times.append(elapsed)

    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(work) for _ in range(clients)]:
            future.result()
    return times


def _ms(times: list[float]) -> tuple[float, float, float]:
    """Median, 95th percentile and worst, in milliseconds."""
    ms = sorted(t * 1000 for t in times)
    return statistics.median(ms), ms[max(0, math.ceil(len(ms) * 0.95) - 1)], ms[-1]


def stored(database: Path) -> int:
    """How many articles the database holds (a kept one may hold more or fewer than asked)."""
    engine = make_engine(f"sqlite:///{database}", write=False)
    with engine.connect() as connection:
        count = connection.scalar(text("SELECT count(*) FROM articles")) or 0
    engine.dispose()
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200, help="per page")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the database folder here")
    parser.add_argument(
        "--workers", type=int, help="processes serving pages (default: serve's, [web] workers)"
    )
    parser.add_argument(
        "--only", action="append", help="measure the pages whose name has this text (repeatable)"
    )
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="presswatch-web-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "web.db"
    config = write_config(folder)
    if not database.exists():
        print(f"filling {database} with {args.articles:,} articles ...", file=sys.stderr)
        began = time.perf_counter()
        made = fill(f"sqlite:///{database}", args.articles)
        print(
            f"filled in {time.perf_counter() - began:.0f} s: {made['matches']:,} matches",
            file=sys.stderr,
        )
    presswatch = str(Path(sys.executable).parent / "presswatch")
    server = subprocess.Popen(
        [presswatch, "--config", str(config), "serve", "--port", "0"]
        + (["--workers", str(args.workers)] if args.workers else []),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stderr is not None
    line = server.stderr.readline()
    found = re.search(r"(http://\S+?)/?$", line.strip())
    if not found:
        server.kill()
        sys.exit(f"bench: serve did not start: {line}")
    base = found.group(1)
    size = sum(p.stat().st_size for p in folder.glob("web.db*")) / 1e9
    rng = random.Random(7)
    try:
        print(
            f"\n{stored(database):,} articles (database {size:.1f} GB); each page requested "
            f"{args.requests // 2} times by one client, then {args.requests} times by "
            f"{args.clients} concurrent clients (no pause between requests)\n"
        )
        n = args.clients
        print(f"| page | 1 client: median ms | p95 ms | {n} clients: median ms | p95 ms | max ms |")
        print("|---|---:|---:|---:|---:|---:|")
        measured = pages(folder, rng)
        for name, paths in measured:
            if args.only and not any(part in name for part in args.only):
                continue
            if not paths:
                first = measured[3][1][0]
                with urllib.request.urlopen(base + first, timeout=60) as reply:
                    page = reply.read().decode("utf-8")
                link = re.search(r'<a href="(/search\?[^"]+)" rel="next"', page)
                if not link:
                    continue
                paths = [link.group(1).replace("&amp;", "&")]
            measure(base, paths, 1, min(3, len(paths)))  # warm the caches once
            alone = _ms(measure(base, paths, 1, args.requests // 2))
            together = _ms(measure(base, paths, args.clients, args.requests))
            print(
                f"| {name} | {alone[0]:.0f} | {alone[1]:.0f} | {together[0]:.0f} | "
                f"{together[1]:.0f} | {together[2]:.0f} |"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
