"""The store at scale: lookups and inserts with a million articles already stored.

    python bench/store.py [--articles 1000000] [--keep FILE]

Fills a fresh SQLite database (WAL, as the crawl uses it) with generated articles, their URL
keys and their story keys (MinHash bands), in bulk, fetched over the last 69 days; then
measures, against the full database:

- the known-URL check the spider makes before downloading (``articles.known_urls``), one
  key per call and a listing's 100 keys per call: latency percentiles;
- the content-hash check ``store_article`` makes for every page: latency percentiles;
- storing new articles through the crawl's own path (``store_new_articles`` and the search
  index, in the crawl's batches of 50): articles/s into an empty database and into the full one,
  in five rounds that alternate the two;
- what a writing process pays once, at its first store: loading the story window's band keys
  (7 days, about a tenth of the articles here) into memory: seconds and resident memory.
- what a 4 KB read at random places in the database file costs on this machine, against one
  page read again: the price of an index page SQLite has not cached.

The generated articles' search-index rows are left out of the fill (the FTS5 trigram index of a
million texts takes long to build and no measured path reads it); the stored new ones have them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from sqlalchemy import Engine, insert, select  # noqa: E402

from storage import articles, fingerprints, search, stories  # noqa: E402
from storage.engine import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import ensure_schema  # noqa: E402
from storage.models import Article, ArticleUrl, StoryKeys  # noqa: E402
from storage.urlkeys import url_key  # noqa: E402

WORDS = (
    "the army said on monday that troops had crossed the border near the village after "
    "shelling overnight killed three civilians and wounded others officials reported"
).split()
FILL_BATCH = 20_000
SPAN = timedelta(days=69)
ROUNDS = 5


def url_of(i: int) -> str:
    return f"https://news.example.org/read/{i}/world/generated-article-{i}"


def text_of(rng: random.Random, i: int) -> str:
    return f"Article {i}. " + " ".join(rng.choice(WORDS) for _ in range(60)) + "."


def fill(engine: Engine, count: int, start: int = 0) -> float:
    """Insert ``count`` articles (ids from ``start``) in bulk; return the seconds taken."""
    rng = random.Random(start)
    began = time.perf_counter()
    now = datetime.now(UTC)
    done = 0
    while done < count:
        size = min(FILL_BATCH, count - done)
        article_rows, url_rows, key_rows = [], [], []
        for i in range(start + done, start + done + size):
            text = text_of(rng, i)
            signature = os.urandom(fingerprints.NUM_PERM * 4)
            # Oldest first, one every 6 s back to 69 days ago: ids follow time, as in a crawl.
            when = now - SPAN * (count + start - i) / count
            article_rows.append(
                {
                    "id": i + 1,
                    "source": f"source{i % 500}",
                    "url": url_of(i),
                    "title": f"Generated article {i}",
                    "authors": [],
                    "tags": [],
                    "published_at": when,
                    "language": "en",
                    "text": text,
                    "content_hash": fingerprints.content_hash(text),
                    "minhash": signature,
                    "story_id": i + 1,
                    "revision": 1,
                    "fetched_at": when,
                    "updated_at": when,
                    "checked_at": when,
                }
            )
            url_rows.append(
                {
                    "url_key": url_key(url_of(i)),
                    "url": url_of(i),
                    "article_id": i + 1,
                    "first_seen_at": when,
                }
            )
            key_rows.append(stories.key_rows(i + 1, fingerprints.band_keys(signature), when))
        with engine.begin() as connection:
            connection.execute(insert(Article), article_rows)
            connection.execute(insert(ArticleUrl), url_rows)
            connection.execute(insert(StoryKeys), key_rows)
        done += size
        print(f"  {start + done:,} articles stored", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return time.perf_counter() - began


def latencies(call: Callable[[], object], times: int) -> list[float]:
    out = []
    for _ in range(times):
        began = time.perf_counter()
        call()
        out.append((time.perf_counter() - began) * 1000)
    return out


def percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100)
    return statistics.median(values), cuts[98], max(values)


def new_records(count: int, offset: int) -> Iterator[articles.ArticleRecord]:
    rng = random.Random(offset)
    now = datetime.now(UTC)
    for i in range(offset, offset + count):
        yield articles.ArticleRecord(
            source="bench",
            url=f"https://other.example.net/news/{i}/fresh-{i}",
            text=text_of(rng, i) + " " + " ".join(rng.choice(WORDS) for _ in range(300)),
            fetched_at=now,
            title=f"Fresh article {i}",
            language="en",
        )


def load_window(engine: Engine) -> tuple[float, float, int]:
    """What a process's first store pays: (seconds, MB of resident memory, articles) to load
    the story window's keys."""
    process = psutil.Process()
    before, began = process.memory_info().rss, time.perf_counter()
    with make_sessionmaker(engine).begin() as session:
        index = stories.index_of(session)
        index.candidates(session, [])
    seconds = time.perf_counter() - began
    return seconds, (process.memory_info().rss - before) / 1e6, len(index) // fingerprints.BANDS


def page_reads(path: Path, count: int = 5000) -> tuple[float, float]:
    """Microseconds per 4 KB read of the database file: (at random places, of one page again).

    What a random index leaf costs on this machine when it is not in SQLite's page cache; the
    URL-key and text-hash indexes of a large database cost one such read per new article.
    """
    rng = random.Random(7)
    pages = path.stat().st_size // 4096
    places = [rng.randrange(pages) * 4096 for _ in range(count)]
    fd = os.open(path, os.O_RDONLY)
    try:
        began = time.perf_counter()
        for place in places:
            os.pread(fd, 4096, place)
        scattered = (time.perf_counter() - began) / count * 1e6
        began = time.perf_counter()
        for _ in places:
            os.pread(fd, 4096, 0)
        same = (time.perf_counter() - began) / count * 1e6
    finally:
        os.close(fd)
    return scattered, same


def store_rate(engine: Engine, count: int, offset: int) -> float:
    """Articles/s storing ``count`` new articles in batches of 50, as the crawl's writer does
    (after the process's first store: ``load_window``)."""
    sessions = make_sessionmaker(engine)
    records = list(new_records(count, offset))
    # Fingerprints come from the extraction workers in a crawl: not part of the store's cost.
    records = [
        replace(
            r,
            content_hash=fingerprints.content_hash(r.text),
            signature=fingerprints.minhash_signature(r.text),
        )
        for r in records
    ]
    began = time.perf_counter()
    for start in range(0, len(records), 50):
        batch = records[start : start + 50]
        with sessions.begin() as session:
            stored = articles.store_new_articles(session, batch)
            search.add_search_words(
                session,
                [(result.article_id, batch[i].text.lower()) for i, result in stored.items()],
            )
            assert len(stored) == len(batch)
    return count / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="keep the database at this path")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="presswatch-store-"))
    path = args.keep or folder / "store.db"
    url = f"sqlite:///{path}"

    engine = make_engine(url)
    ensure_schema(engine)
    print(f"filling {path} with {args.articles:,} articles ...", file=sys.stderr)
    fill_seconds = fill(engine, args.articles)

    rng = random.Random(1)
    reader = make_sessionmaker(make_engine(url, write=False))
    with reader() as session:
        keys = [url_key(url_of(rng.randrange(args.articles))) for _ in range(args.lookups)]
        misses = [url_key(f"https://news.example.org/read/x{i}") for i in range(args.lookups)]
        hashes = list(
            session.scalars(
                select(Article.content_hash).where(
                    Article.id.in_([rng.randrange(args.articles) + 1 for _ in range(args.lookups)])
                )
            )
        )
        key_iter, miss_iter, hash_iter = iter(keys), iter(misses), iter(hashes)
        one_key = latencies(lambda: articles.known_urls(session, [next(key_iter)]), len(keys))
        one_miss = latencies(lambda: articles.known_urls(session, [next(miss_iter)]), len(misses))
        listing = [keys[i : i + 100] for i in range(0, len(keys), 100)]
        list_iter = iter(listing)
        hundred = latencies(lambda: articles.known_urls(session, next(list_iter)), len(listing))
        by_hash = latencies(
            lambda: session.scalar(
                select(Article.id).where(Article.content_hash == next(hash_iter))
            ),
            len(hashes),
        )
    load_seconds, load_mb, window_articles = load_window(engine)
    # Rounds alternate an empty database (a fresh one each) and the full one, so that a slow
    # spell of this machine weighs on both sides of the ratio.
    rounds: list[tuple[float, float]] = []
    for round_ in range(ROUNDS):
        empty_path = folder / f"empty{round_}.db"
        empty = make_engine(f"sqlite:///{empty_path}")
        ensure_schema(empty)
        load_window(empty)
        empty_rate = store_rate(empty, 2000, 10_000_000 + round_ * 10_000)
        empty.dispose()
        full_rate = store_rate(engine, 2000, 20_000_000 + round_ * 10_000)
        rounds.append((empty_rate, full_rate))
    scattered, same = page_reads(path)
    size_mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    engine.dispose()

    print(
        f"\n{args.articles:,} articles stored in {fill_seconds:.0f} s "
        f"({args.articles / fill_seconds:,.0f}/s bulk fill); database {size_mb:,.0f} MB\n"
    )
    print("| check (against the full database) | calls | median ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for name, values in (
        ("known-URL check, 1 stored key", one_key),
        ("known-URL check, 1 unknown key", one_miss),
        ("known-URL check, a listing of 100 keys", hundred),
        ("content-hash check", by_hash),
    ):
        median, p99, worst = percentiles(values)
        print(f"| {name} | {len(values)} | {median:.3f} | {p99:.3f} | {worst:.3f} |")
    print(
        "\n| storing 2,000 new articles (batches of 50), articles/s | into an empty database "
        f"| into the database of {args.articles:,} | kept |\n|---|---:|---:|---:|"
    )
    for round_, (empty_rate, full_rate) in enumerate(rounds, 1):
        kept_now = full_rate / empty_rate
        print(f"| round {round_} | {empty_rate:,.0f} | {full_rate:,.0f} | {kept_now:.0%} |")
    kept = statistics.median(full / empty for empty, full in rounds)
    print(f"\nstore rate kept: {kept:.0%} of the empty database's (median of {ROUNDS} rounds)")
    print(
        f"a writing process's first store loads the story window's keys: {window_articles:,} "
        f"articles in {load_seconds:.2f} s, {load_mb:.0f} MB of memory"
    )
    print(
        f"a 4 KB read of the database file: {scattered:.1f} us at random places, "
        f"{same:.1f} us for one page again (this machine's cost of a page SQLite has not cached)"
    )
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
