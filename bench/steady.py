"""Benchmark the daemon in steady state: what monitoring costs once the first pass is done.

    python bench/steady.py soak [--sources 2000] [--every 5m] [--minutes 20] [--keep DIR]
    python bench/steady.py notmodified [--sources 10000] [--every 3m] [--keep DIR]

Both serve ``--sources`` small sites with one nginx, each site at its own loopback address
(``127.0.X.Y``, as bench/manysites.py does), and run `presswatch run` with one source per site
(``[daemon] adaptive = false``, so intervals stay fixed; the crawl settings of
bench/manysites.py; the example config's first watchlist; the daemon's log in a file).

``soak``: every site starts with one article; once the daemon's first pass has stored them all
(not measured), each site's feed gains one new article at a random moment of every ``--every``
period for ``--minutes`` (the page written first, then the feed replaced atomically, so its
ETag and Last-Modified change). The time each feed was replaced is the article's appearance;
the database, read every second, says when it was stored. Reports the latency's p50, p95 and
max, the articles missed (not stored by the end of the window plus one period and the 60 s
the latency target allows; another period then tells the late from the never stored), the
daemon tree's average CPU over the window and
its peak PSS, with a minute-by-minute timeline. Targets: p95 <= every + 60 s, none missed,
<= 1 core.

``notmodified``: each site's feed lists one article older than ``max_article_age``, so the
first pass stores nothing and leaves validators (robots.txt and the feed per site). The daemon
(``every = "3m"``) runs until every source has ended a run, is stopped, its crawl jobs are
deleted from ``apscheduler_jobs`` (so every source is due at the next start), and started again.
Measured: the burst that start makes (from the first `not_modified` run's start until every
source has one, and the tree's CPU during it, flat out: every source due at once, robots.txt
fetched again by the new engine), then the steady round: the window of one ``every`` starting
two intervals after the start, when each source's turns are on its grid (see the daemon's
``SpreadInterval``), in which each source should be polled once, and the tree's CPU in it.
Targets: a full round of polls within 3 minutes, at <= 0.5 core.

Prints tables and writes bench/results/steady.json (each mode its own key). Needs nginx and
psutil (`pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.crawl import machine  # noqa: E402
from bench.daemonrun import raise_open_files_limit, table  # noqa: E402
from bench.steady_notmodified import notmodified, report_notmodified  # noqa: E402
from bench.steady_soak import report_soak, soak  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    soak_args = modes.add_parser("soak", help="new articles every period: latency, CPU, memory")
    soak_args.add_argument("--sources", type=int, default=2000)
    soak_args.add_argument("--every", default="5m", help="each source's interval, a duration")
    soak_args.add_argument("--minutes", type=float, default=20, help="the measured window")
    nm_args = modes.add_parser("notmodified", help="a round of polls that all answer 304")
    nm_args.add_argument("--sources", type=int, default=10_000)
    nm_args.add_argument("--every", default="3m", help="each source's interval, a duration")
    for sub in (soak_args, nm_args):
        sub.add_argument("--limit", type=float, default=1800, help="seconds a pass may take")
        sub.add_argument("--keep", type=Path, help="keep the sites, configs, logs and databases")
    args = parser.parse_args()
    if not 1 <= args.sources <= 254 * 254:
        parser.error("--sources must be 1 to 64516 (sites get addresses 127.0.1.1 on)")
    for package in ("crawler", "storage"):
        compileall.compile_dir(ROOT / package, quiet=1)
    soft, hard = raise_open_files_limit()
    work = (args.keep or Path(tempfile.mkdtemp(prefix=f"presswatch-bench-{args.mode}-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # nginx's workers run as another user and must read the sites
    when = datetime.now().astimezone().isoformat(timespec="seconds")
    load_before = os.getloadavg()
    result = soak(args, work) if args.mode == "soak" else notmodified(args, work)
    result.update(
        date=when,
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()],
        open_files_limit=[soft, hard],
        machine=machine(),
    )
    info = result["machine"]
    print(
        f"\n{when}; machine: {info['cores']} cores, {info['cpu']}; Python {info['python']}, "
        f"Scrapy {info['scrapy']}, trafilatura {info['trafilatura']}; load average before "
        f"{result['load_average_before']}, after {result['load_average_after']}"
    )
    checks = report_soak(result) if args.mode == "soak" else report_notmodified(result)
    problems = result["daemon_log"]
    print(f"\ndaemon log: {problems['levels'] or 'no warnings or errors'}")
    for item in problems["most_frequent"]:
        print(f"  {item['count']} x {item['example']}")
    if result["nginx_log"]["lines"]:
        print(f"nginx error log: {result['nginx_log']}")
    table(
        ["target", "measured", "wanted", "met"],
        [[n, v, w, "yes" if m else "NO"] for n, v, w, m in checks],
    )
    result["checks"] = [
        {"target": n, "measured": v, "wanted": w, "met": m} for n, v, w, m in checks
    ]

    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / "steady.json"
    saved = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    saved[args.mode] = result
    path.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
