"""Benchmark many small sites with a few new articles each: the workload monitoring is.

    python bench/manysites.py [--sources 300] [--articles-per-source 5] [--rounds 1]
                              [--daemon] [--daemon-limit 900] [--not-modified] [--keep DIR]

Generates ``--sources`` small news sites (robots.txt, an RSS 2.0 feed of the site's articles
published within the last day, and the articles: pages of bench/sitegen.py, 70-90 KB as a
CMS makes them, every text different), all served by one nginx on 0.0.0.0, each site at its
own loopback address (``http://127.0.X.Y:PORT/``, nginx choosing the site's folder by
``$host``), writes a presswatch config with one source per site, and measures in one run, so
the ratios hold on a noisy machine:

1. the obvious design (bench/obvious_many.py: Scrapy over every feed, trafilatura.extract
   inline, JSON lines);
2. `presswatch crawl` of every source into a fresh SQLite database (fastest of ``--rounds``
   rounds of 1-2, interleaved);
3. with ``--not-modified``: the same crawl again, every feed answering 304 Not Modified;
4. with ``--daemon``: `presswatch run` on a fresh database, stopped (SIGTERM) once every
   article is stored or after ``--daemon-limit`` seconds; its seconds are those until every
   article was stored (the database read every second), with the 50% and 90% marks.

For each: articles, seconds, articles/s, CPU seconds and peak PSS of the whole process tree,
and the most processes the tree had at once; then whether the targets hold. Results also go
to bench/results/manysites.json. Needs nginx (`apt-get install nginx-light`) and psutil.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.crawl import (  # noqa: E402
    free_port,
    machine,
    measure,
    scrapy_responses,
    start_nginx,
    stop,
)
from bench.sitegen import write_article, write_feed, write_robots  # noqa: E402

PRESSWATCH = str(Path(sys.executable).parent / "presswatch")
SCRAPY = str(Path(sys.executable).parent / "scrapy")
SEED = 20201102
# nginx picks the site's folder by the request's host; feeds are RSS, the only .xml files.
SERVER = (
    "listen 0.0.0.0:{port}; root {root}/$host; "
    "types {{ text/html html; application/rss+xml xml; text/plain txt; }} "
    "charset_types application/rss+xml text/plain;"
)


@dataclass
class Row:
    design: str
    articles: int
    pages: int
    seconds: float
    cpu_seconds: float
    peak_mb: float  # PSS of the process tree
    peak_rss_mb: float  # sum of RSS of the process tree
    max_processes: int
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.articles / self.seconds if self.seconds else 0.0


def site_host(index: int) -> str:
    """The loopback address site ``index`` (from 0) is served at: 127.0.1.1, 127.0.1.2, ..."""
    return f"127.0.{1 + index // 254}.{1 + index % 254}"


def generate_sites(root: Path, port: int, sources: int, per_source: int) -> list[str]:
    """Write the sites under ``root``, one folder per host; return their feed URLs."""
    now = datetime.now(UTC).replace(microsecond=0)
    feeds = []
    for n in range(sources):
        host = site_host(n)
        base = f"http://{host}:{port}"
        out = root / host
        out.mkdir(parents=True)
        rng = random.Random(SEED + n)  # a seed per site: no text repeats another site's
        entries = [
            write_article(out, base, rng, i, now, within=timedelta(days=1))
            for i in range(per_source)
        ]
        entries.sort(key=lambda e: e.published, reverse=True)
        write_feed(out, base, entries, title=f"Site {n + 1:04d}")
        write_robots(out)
        feeds.append(f"{base}/rss.xml")
    return feeds


def check_server(feed: str, site: Path) -> None:
    """Fail unless ``feed``'s site answers as the benchmark assumes: its own files, the right
    content types, validators, and 304 to a conditional request."""
    base = feed.removesuffix("/rss.xml")
    article = next(site.glob("news/**/*.html")).relative_to(site)
    for url, wanted in (
        (f"{base}/robots.txt", "text/plain"),
        (feed, "application/rss+xml; charset=utf-8"),
        (f"{base}/{urllib.request.pathname2url(str(article))}", "text/html; charset=utf-8"),
    ):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                headers = response.headers
        except urllib.error.URLError as exc:
            sys.exit(
                f"bench: {url} did not answer as served by nginx ({exc}); if 403, nginx's "
                f"workers cannot read {site.parent}: keep the sites in a folder all users can read"
            )
        if not headers.get("Content-Type", "").startswith(wanted):
            sys.exit(f"bench: {url} answered Content-Type {headers.get('Content-Type')!r}")
        if not (headers.get("ETag") and headers.get("Last-Modified")):
            sys.exit(f"bench: {url} answered without ETag and Last-Modified")
        request = urllib.request.Request(url, headers={"If-None-Match": headers["ETag"]})
        try:
            urllib.request.urlopen(request, timeout=10).close()
            code = 200
        except urllib.error.HTTPError as exc:
            code = exc.code
        if code != 304:
            sys.exit(f"bench: {url} answered {code} to If-None-Match, not 304")


def write_config(
    work: Path,
    feeds: list[str],
    name: str,
    *,
    every: str = "10m",
    digits: int = 4,
    sections: str = "",
) -> Path:
    """A config with one source per feed (every ``every``, named ``site`` and ``digits``
    digits), a fresh database ``name``.db beside it, and ``sections`` (TOML) before the
    watchlist."""
    example = tomllib.loads((ROOT / "crawler" / "example.toml").read_text(encoding="utf-8"))
    watchlist = example["watchlists"][0]
    for suffix in ("", "-wal", "-shm"):
        (work / f"{name}.db{suffix}").unlink(missing_ok=True)
    sources = "".join(
        f'\n[[sources]]\nname = "site{n + 1:0{digits}d}"\nfeeds = ["{feed}"]\nevery = "{every}"\n'
        for n, feed in enumerate(feeds)
    )
    config = work / f"{name}.toml"
    # The crawl settings of bench/crawl.py's config, so the two benchmarks compare.
    config.write_text(f"""[storage]
url = "sqlite:///{name}.db"

[crawl]
obey_robots = true
autothrottle = false
concurrency = 32
concurrency_per_domain = 32
max_article_age = "7d"
timeout = "30s"
{sections}
[[watchlists]]
name = {json.dumps(watchlist["name"])}
query = {json.dumps(watchlist["query"])}
{sources}""")
    return config


def stored_articles(database: Path) -> int:
    """Articles in ``database``, read without writing (0 while it has no schema yet)."""
    if not database.exists():
        return 0
    try:
        with contextlib.closing(
            sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=10)
        ) as db:
            return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.Error:  # not created yet, or being created
        return 0


def obvious_row(feeds_file: Path, work: Path) -> Row:
    output = work / "obvious.jsonl"
    output.unlink(missing_ok=True)
    command = [
        SCRAPY,
        "runspider",
        str(ROOT / "bench" / "obvious_many.py"),
        "-a",
        f"feeds={feeds_file}",
        "-o",
        str(output),
    ]
    # From a folder without scrapy.cfg above it, so presswatch's project settings do not apply.
    in_project = any((folder / "scrapy.cfg").exists() for folder in (work, *work.parents))
    result, usage = measure(command, Path(tempfile.gettempdir()) if in_project else work)
    if result.returncode != 0:
        sys.exit(f"bench: the obvious design failed:\n{result.stderr[-3000:]}")
    pages = scrapy_responses(result.stderr)
    return Row(
        "obvious design (Scrapy + trafilatura.extract inline)",
        sum(1 for _ in output.open(encoding="utf-8")),
        pages,
        usage.seconds,
        usage.cpu_seconds,
        usage.peak_pss_mb,
        usage.peak_rss_mb,
        usage.max_processes,
    )


def crawl_row(design: str, config: Path, work: Path) -> Row:
    """`presswatch crawl` of every source; its articles are those it added to the database."""
    database = config.with_suffix(".db")
    before = stored_articles(database)
    command = [PRESSWATCH, "--config", str(config), "crawl", "-q", "--json"]
    result, usage = measure(command, work)
    try:
        summaries = json.loads(result.stdout)
    except json.JSONDecodeError:
        sys.exit(f"bench: presswatch crawl failed:\n{result.stderr[-3000:]}")
    reasons: dict[str, int] = {}
    errors: dict[str, int] = {}
    for summary in summaries:
        reasons[summary["finish_reason"]] = reasons.get(summary["finish_reason"], 0) + 1
        for kind, count in summary["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    if result.returncode != 0 or errors:
        print(f"bench: {design}: exit {result.returncode}, errors {errors}", file=sys.stderr)
    return Row(
        design,
        stored_articles(database) - before,
        sum(s["pages_fetched"] for s in summaries),
        usage.seconds,
        usage.cpu_seconds,
        usage.peak_pss_mb,
        usage.peak_rss_mb,
        usage.max_processes,
        {"finish_reasons": reasons, "errors": errors, "exit": result.returncode},
    )


def daemon_row(config: Path, work: Path, expected: int, limit: float) -> Row:
    """`presswatch run` from a fresh database until ``expected`` articles are stored."""
    database = config.with_suffix(".db")
    marks: dict[str, float] = {}
    progress = {"stored": 0, "read_at": 0.0}
    started = time.perf_counter()

    def all_stored_or_late() -> bool:
        now = time.perf_counter()
        if now - progress["read_at"] >= 1.0:
            progress["read_at"] = now
            progress["stored"] = stored_articles(database)
            for share in (0.5, 0.9, 1.0):
                if progress["stored"] >= share * expected:
                    marks.setdefault(f"{share:.0%}", round(now - started, 1))
        return "100%" in marks or now - started > limit

    command = [PRESSWATCH, "--config", str(config), "run"]
    result, usage = measure(command, work, until=all_stored_or_late, stop_grace=90)
    (work / "daemon.log").write_text(result.stderr, encoding="utf-8")
    return Row(
        "presswatch run (first pass, fresh database)",
        stored_articles(database),
        0,
        marks.get("100%", usage.seconds),
        usage.cpu_seconds,
        usage.peak_pss_mb,
        usage.peak_rss_mb,
        usage.max_processes,
        {"seconds_to_share_stored": marks, "run_seconds": round(usage.seconds, 1)},
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--articles-per-source", type=int, default=5)
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds of 1-2; each one's fastest kept"
    )
    parser.add_argument("--daemon", action="store_true", help="also measure `presswatch run`")
    parser.add_argument(
        "--daemon-limit", type=float, default=900, help="seconds the daemon gets at most"
    )
    parser.add_argument(
        "--not-modified", action="store_true", help="also crawl the unchanged sites again"
    )
    parser.add_argument("--keep", type=Path, help="keep the sites, configs and databases here")
    args = parser.parse_args()
    if not 1 <= args.sources <= 254 * 254:
        parser.error("--sources must be 1 to 64516 (sites get addresses 127.0.1.1 on)")
    if args.articles_per_source < 1 or args.rounds < 1:
        parser.error("--articles-per-source and --rounds must be at least 1")
    # Bytecode compiled, as an install leaves it (as bench/crawl.py does).
    for package in ("crawler", "storage"):
        compileall.compile_dir(ROOT / package, quiet=1)
    work = (args.keep or Path(tempfile.mkdtemp(prefix="presswatch-bench-many-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # nginx's workers run as another user and must read the sites
    sites = work / "sites"
    shutil.rmtree(sites, ignore_errors=True)
    port = free_port()
    expected = args.sources * args.articles_per_source
    print(f"generating {args.sources} sites of {args.articles_per_source} ...", file=sys.stderr)
    feeds = generate_sites(sites, port, args.sources, args.articles_per_source)
    feeds_file = work / "feeds.txt"
    feeds_file.write_text("".join(f"{feed}\n" for feed in feeds), encoding="utf-8")
    # Thousands of hosts each keep a connection or two alive between requests.
    nginx = start_nginx(
        sites,
        port,
        work,
        name="manysites",
        server=SERVER.format(port=port, root=sites),
        connections=max(4096, 8 * args.sources),
    )
    workers = len(os.sched_getaffinity(0))  # presswatch's workers = "auto"
    rounds: list[list[Row]] = []
    not_modified = daemon = None
    try:
        check_server(feeds[0], sites / site_host(0))
        check_server(feeds[-1], sites / site_host(args.sources - 1))
        for round_ in range(1, args.rounds + 1):
            print(f"round {round_} of {args.rounds} ...", file=sys.stderr)
            config = write_config(work, feeds, "crawl")  # a fresh database each round
            rounds.append(
                [obvious_row(feeds_file, work), crawl_row("presswatch crawl", config, work)]
            )
        if args.not_modified:
            print("the crawl again, nothing changed ...", file=sys.stderr)
            not_modified = crawl_row("presswatch crawl (every feed 304)", config, work)
        if args.daemon:
            print("the daemon ...", file=sys.stderr)
            daemon = daemon_row(
                write_config(work, feeds, "daemon"), work, expected, args.daemon_limit
            )
    finally:
        stop(nginx)
    rows = [min(runs, key=lambda r: r.seconds) for runs in zip(*rounds, strict=True)]
    obvious, crawl = rows
    rows += [row for row in (not_modified, daemon) if row is not None]

    info = machine()
    print(
        f"\nmachine: {info['cores']} cores, {info['cpu']}; Python {info['python']}, "
        f"Scrapy {info['scrapy']}, trafilatura {info['trafilatura']}"
    )
    print(
        f"{args.sources} sites of {args.articles_per_source} new articles ({expected} in all), "
        f"one nginx, each site at its own 127.0.x.y; extraction workers: {workers}"
    )
    paired = [r[1].per_second / r[0].per_second for r in rounds if r[0].per_second]
    if args.rounds > 1:
        print(f"fastest of {args.rounds} interleaved rounds; seconds of every round:")
        for runs in zip(*rounds, strict=True):
            print(f"  {runs[0].design}: {', '.join(f'{r.seconds:.1f}' for r in runs)}")
        print(
            f"  presswatch / obvious design, within each round: "
            f"{', '.join(f'{x:.2f}' for x in paired)} (median {statistics.median(paired):.2f})"
        )
    print(
        "\n| design | articles | seconds | articles/s | CPU s | peak MB (PSS) | max processes |"
        "\n|---|---:|---:|---:|---:|---:|---:|"
    )
    for row in rows:
        print(
            f"| {row.design} | {row.articles} | {row.seconds:.1f} | {row.per_second:.1f} | "
            f"{row.cpu_seconds:.1f} | {row.peak_mb:.0f} | {row.max_processes} |"
        )
    for row in rows:
        if row.articles != expected and row is not not_modified:
            print(f"note: {row.design} stored {row.articles} of {expected} articles")
    if not_modified is not None:
        print(f"note: the second crawl's runs ended {not_modified.notes['finish_reasons']}")
    if daemon is not None:
        marks = daemon.notes["seconds_to_share_stored"]
        print(
            f"note: the daemon stored 50% / 90% / 100% after "
            f"{' / '.join(str(marks.get(s, '-')) for s in ('50%', '90%', '100%'))} s"
        )

    scale = (args.sources, args.articles_per_source)
    target = {(300, 5): "target 1", (3000, 1): "target 2"}.get(
        scale, f"at {scale[0]} x {scale[1]} (targets are set at 300 x 5 and 3000 x 1)"
    )
    memory_limit = 500 if scale == (3000, 1) else 400
    ratio = crawl.per_second / obvious.per_second if obvious.per_second else 0.0
    checks = [
        ("presswatch / obvious design, articles/s", f"{ratio:.2f}", ">= 1.5x", ratio >= 1.5),
        (
            "presswatch crawl peak memory (MB PSS)",
            f"{crawl.peak_mb:.0f}",
            f"<= {memory_limit}",
            crawl.peak_mb <= memory_limit,
        ),
        (
            "presswatch crawl processes at once",
            str(crawl.max_processes),
            f"<= {workers + 3} (workers + 3)",
            crawl.max_processes <= workers + 3,
        ),
    ]
    if daemon is not None:
        checks.append(
            (
                "target 3: daemon first pass, all stored (s)",
                f"{daemon.seconds:.1f}",
                f"<= {1.5 * crawl.seconds:.1f} (1.5x the crawl)",
                daemon.articles >= expected and daemon.seconds <= 1.5 * crawl.seconds,
            )
        )
    print(f"\n{target}:\n| target | measured | wanted | met |\n|---|---:|---|---|")
    for name, value, wanted, met in checks:
        print(f"| {name} | {value} | {wanted} | {'yes' if met else 'NO'} |")

    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "manysites.json").write_text(
        json.dumps(
            {
                "machine": info,
                "sources": args.sources,
                "articles_per_source": args.articles_per_source,
                "workers": workers,
                "rows": [asdict(r) for r in rows],
                "rounds": [[asdict(r) for r in runs] for runs in rounds],
                "checks": [
                    {"target": n, "measured": v, "wanted": w, "met": m} for n, v, w, m in checks
                ],
            },
            indent=2,
        )
        + "\n"
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
