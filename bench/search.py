"""Search at scale: `presswatch search` over a million stored articles.

    python bench/search.py [--articles 1000000]

Fills a SQLite database with generated articles of about 100 words (in English, Indonesian or
Russian, each naming a few places out of thousands) and their search-index rows, then runs
`presswatch search` — the command itself, as a user would — for queries from rare to common
and prints how long each took and how many articles it found.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from bench.flagging import NAMES, PLACES, VOCABULARY  # noqa: E402
from crawler.watch.flagging import search_words  # noqa: E402
from storage import fingerprints  # noqa: E402
from storage.engine import make_engine  # noqa: E402
from storage.migrate import ensure_schema  # noqa: E402
from storage.models import Article  # noqa: E402

BATCH = 20_000
QUERIES = [
    ("a place no article names", "Zanzibarovka"),
    ("a rare place", "Stepanakert"),
    ("a place and a topic", "Karabakh AND (killed OR tewas OR погибли)"),
    ("a phrase", '"peace agreement"'),
    ("an inflected Indonesian word", "serang"),
    ("a common word", "said"),
]


def article(rng: random.Random, i: int) -> tuple[str, str, str]:
    language = rng.choice(list(VOCABULARY))
    words = VOCABULARY[language]
    places = [rng.choice(PLACES)] + ([rng.choice(NAMES)] if rng.random() < 0.05 else [])
    body = [rng.choice(words) for _ in range(100)]
    for place in places:
        body.insert(rng.randrange(len(body)), place)
    title = f"{' '.join(rng.choice(words) for _ in range(6)).capitalize()} {i}"
    return title, " ".join(body).capitalize() + ".", language


def fill(url: str, count: int) -> float:
    engine = make_engine(url)
    ensure_schema(engine)
    rng = random.Random(20201102)
    now = datetime.now(UTC)
    began = time.perf_counter()
    for start in range(0, count, BATCH):
        rows, search = [], []
        for i in range(start, min(count, start + BATCH)):
            title, body, language = article(rng, i)
            when = now - timedelta(minutes=i)
            rows.append(
                {
                    "id": i + 1,
                    "source": f"source{i % 300}",
                    "url": f"https://news{i % 300}.example.org/read/{i}",
                    "title": title,
                    "authors": [],
                    "tags": [],
                    "published_at": when,
                    "language": language,
                    "text": body,
                    "content_hash": fingerprints.content_hash(f"{i} {body}"),
                    "minhash": b"\0" * 256,
                    "story_id": i + 1,
                    "revision": 1,
                    "fetched_at": when,
                    "updated_at": when,
                    "checked_at": when,
                }
            )
            search.append({"id": i + 1, "words": search_words(title, body)})
        with engine.begin() as connection:
            connection.execute(insert(Article), rows)
            connection.execute(
                text("INSERT INTO article_search (rowid, words) VALUES (:id, :words)"), search
            )
        print(f"  {min(count, start + BATCH):,} articles stored", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    engine.dispose()
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep the database folder here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="presswatch-search-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "search.db"
    config = folder / "presswatch.toml"
    config.write_text('[storage]\nurl = "sqlite:///search.db"\n', encoding="utf-8")
    if not database.exists():
        print(f"filling {database} with {args.articles:,} articles ...", file=sys.stderr)
        seconds = fill(f"sqlite:///{database}", args.articles)
        print(f"filled in {seconds:.0f} s", file=sys.stderr)
    presswatch = str(Path(sys.executable).parent / "presswatch")
    size = sum(p.stat().st_size for p in folder.glob("search.db*")) / 1e9
    print(f"\n{args.articles:,} articles, database {size:.1f} GB\n")
    print("| query | `presswatch search … --limit 20` | seconds | results |")
    print("|---|---|---:|---:|")
    for name, query in QUERIES:
        began = time.perf_counter()
        result = subprocess.run(
            [presswatch, "--config", str(config), "search", query, "--limit", "20", "--json"],
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - began
        if result.returncode != 0:
            sys.exit(f"bench: search failed: {result.stderr[-2000:]}")
        found = result.stdout.count('"id":')
        print(f"| {name} | `{query}` | {seconds:.2f} | {found} |")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
