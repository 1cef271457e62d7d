"""`python bench/steady.py soak`: the daemon watching sites that publish, in steady state.

Every site starts with one article; once the daemon's first pass has stored them all (not
measured), each site's feed gains one new article at a random moment of every period: the page
written first, then the feed replaced in one rename, so its ETag and Last-Modified change.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import os
import random
import shutil
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.crawl import free_port, stop  # noqa: E402
from bench.daemonrun import (  # noqa: E402
    Daemon,
    cores_between,
    cpu_counters,
    epoch,
    last_run_id,
    log_problems,
    nginx_problems,
    query,
    runs_ended,
    serve_sites,
    sources_ended,
    spread,
    table,
    wait_for,
    write_config,
)
from bench.manysites import PRESSWATCH, SEED, check_server, site_host  # noqa: E402
from bench.sitegen import Entry, write_article, write_feed, write_robots  # noqa: E402
from crawler.units import parse_duration  # noqa: E402

# An article is missed when not stored within one period and the 60 s the latency target
# (p95 <= every + 60 s) allows after the window: a poll comes every period, exactly.
GRACE = 60.0

FEED_ITEMS = 30  # a site's feed lists its newest articles, up to this many


@dataclass
class Site:
    index: int
    base: str
    out: Path
    rng: random.Random
    entries: list[Entry] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Site {self.index + 1:05d}"


def publish(site: Site, staging: Path) -> tuple[str, float]:
    """One new article on ``site``: its page, then its feed replaced in one rename. Returns the
    article's URL and the moment the feed listing it appeared."""
    entry = write_article(
        site.out,
        site.base,
        site.rng,
        len(site.entries),
        datetime.now(UTC).replace(microsecond=0),
        within=timedelta(minutes=10),
    )
    site.entries.insert(0, entry)
    write_feed(staging, site.base, site.entries[:FEED_ITEMS], title=site.title)
    os.replace(staging / "rss.xml", site.out / "rss.xml")
    return entry.url, time.time()


def soak(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    every = parse_duration(args.every).total_seconds()
    window = args.minutes * 60.0
    sites_root, staging = work / "sites", work / "staging"
    shutil.rmtree(sites_root, ignore_errors=True)
    staging.mkdir(exist_ok=True)
    port = free_port()
    print(f"generating {args.sources} sites of one article ...", file=sys.stderr)
    sites = []
    for n in range(args.sources):
        host = site_host(n)
        site = Site(n, f"http://{host}:{port}", sites_root / host, random.Random(SEED + n))
        site.out.mkdir(parents=True)
        write_robots(site.out)
        publish(site, staging)
        sites.append(site)
    feeds = [f"{s.base}/rss.xml" for s in sites]
    config = write_config(work, "soak", feeds, args.every)
    database = work / "soak.db"
    nginx = serve_sites(sites_root, work, port, args.sources)
    daemon = None
    try:
        check_server(feeds[0], sites[0].out)
        check_server(feeds[-1], sites[-1].out)
        print("the daemon's first pass (not measured) ...", file=sys.stderr)
        daemon = Daemon(PRESSWATCH, config, work, "soak")

        def first_pass_stored() -> bool:
            stored = query(database, "SELECT count(*) FROM articles")
            return (
                bool(stored)
                and stored[0][0] >= args.sources
                and (sources_ended(database, 0) >= args.sources)
            )

        complete = wait_for(daemon, first_pass_stored, args.limit)
        first_pass_end = time.time()
        first_stored = int((query(database, "SELECT count(*) FROM articles") or [(0,)])[0][0])
        first_runs = runs_ended(database, 0)
        if not complete:
            print(
                f"bench: the first pass stored {first_stored} of {args.sources} articles in "
                f"{args.limit:.0f} s; measuring anyway",
                file=sys.stderr,
            )
        window_after_id = last_run_id(database)
        last_article_id = int((query(database, "SELECT max(id) FROM articles") or [(0,)])[0][0])

        # Each site gains one article at a random moment of each period of the window.
        start = time.time()
        end = start + window
        rng = random.Random(SEED)
        due: list[tuple[float, int]] = [
            (t, s.index)
            for s in sites
            for k in range(math.ceil(window / every))
            if (t := start + k * every + rng.uniform(0, every)) < end
        ]
        heapq.heapify(due)
        appeared: dict[str, float] = {}
        stored_at: dict[str, float] = {}
        fetched_at: dict[str, float] = {}
        unknown_rows = 0
        timeline: list[dict[str, Any]] = []
        cpu_before = cpu_counters(nginx.pid)
        cpu_at_end: dict[str, float] | None = None
        missed_at_grace: set[str] | None = None
        print(
            f"measuring: {len(due)} articles appear over {args.minutes:g} min (+ up to "
            f"{every + GRACE:.0f} s of grace, and another period for the late) ...",
            file=sys.stderr,
        )
        next_tick = start
        while True:
            now = time.time()
            while due and due[0][0] <= now:
                _, index = heapq.heappop(due)
                url, when = publish(sites[index], staging)
                appeared[url] = when
            if now >= next_tick:
                next_tick += 1.0
                daemon.tree.sample()
                if not daemon.running():
                    sys.exit(f"bench: the daemon ended (exit {daemon.process.returncode})")
                polled = time.time()
                rows = query(
                    database,
                    "SELECT id, url, fetched_at FROM articles WHERE id > ? ORDER BY id",
                    last_article_id,
                )
                for article_id, url, fetched in rows:
                    last_article_id = max(last_article_id, article_id)
                    url = urllib.parse.unquote(url)  # stored percent-encoded
                    if url in appeared:
                        stored_at[url] = polled
                        fetched_at[url] = epoch(fetched)
                    else:
                        unknown_rows += 1
                if now - start >= 60 * (len(timeline) + 1):
                    timeline.append(
                        {
                            "minute": len(timeline) + 1,
                            "appeared": len(appeared),
                            "stored": len(stored_at),
                        }
                    )
            if now >= end and cpu_at_end is None:
                cpu_at_end = cpu_counters(nginx.pid)
            if now >= end + every + GRACE and missed_at_grace is None:
                missed_at_grace = set(appeared) - set(stored_at)
            # Past the grace, a second period tells the late from the lost.
            if now >= end and (len(stored_at) == len(appeared) or now >= end + 2 * every + GRACE):
                break
            time.sleep(max(0.0, min(due[0][0] if due else next_tick, next_tick) - time.time()))
        finished = time.time()
        daemon.tree.sample()
        window_runs = runs_ended(database, window_after_id)
        runs = query(
            database,
            "SELECT source, started_at, finished_at FROM crawl_runs WHERE id > ? "
            "AND status != 'running' ORDER BY source, id",
            window_after_id,
        )
        run_seconds = [epoch(f) - epoch(s) for _, s, f in runs]
        # How far apart a source's runs start: its interval, jitter and waiting included.
        poll_gaps = [epoch(b[1]) - epoch(a[1]) for a, b in itertools.pairwise(runs) if a[0] == b[0]]
    finally:
        exit_code = daemon.stop() if daemon is not None else None
        stop(nginx)

    tree = daemon.tree
    latencies = [stored_at[u] - appeared[u] for u in stored_at]
    by_fetch = [fetched_at[u] - appeared[u] for u in fetched_at]
    missed = sorted(missed_at_grace or ())
    never = sorted(set(appeared) - set(stored_at))
    cpu_window = tree.cpu_between(start, end)
    for mark in timeline:
        t1 = start + 60 * mark["minute"]
        mark["cores"] = round(tree.cpu_between(t1 - 60, t1) / 60, 3)
        mark["pss_mb"] = round(tree.at(t1).pss_mb, 1)
    busy = cores_between(cpu_before, cpu_at_end or cpu_before, window)
    busy["others (machine - daemon - nginx - benchmark)"] = round(
        busy["machine"] - busy["nginx"] - busy["benchmark"] - cpu_window / window, 3
    )
    return {
        "sources": args.sources,
        "every_seconds": every,
        "minutes": args.minutes,
        "first_pass": {
            "complete": complete,
            "seconds": round(first_pass_end - daemon.started, 1),
            "articles": first_stored,
            "cpu_seconds": round(tree.cpu_between(daemon.started, first_pass_end), 1),
            "peak_pss_mb": round(tree.peak_pss_mb(0, first_pass_end), 1),
            "runs": dict(first_runs),
        },
        "window": {
            "seconds": round(window, 1),
            "grace_used_seconds": round(max(0.0, finished - end), 1),
            "appeared": len(appeared),
            "stored": len(stored_at),
            "missed": len(missed),
            "missed_examples": missed[:10],
            "missed_then_stored_within_another_period": len(missed) - len(never),
            "never_stored": len(never),
            "never_stored_examples": never[:10],
            "other_articles_stored": unknown_rows,
            "latency_seconds": spread(latencies),
            "latency_by_fetched_at_seconds": spread(by_fetch),
            "over_one_period": sum(1 for x in latencies if x > every),
            "cpu_seconds": round(cpu_window, 1),
            "cpu_seconds_by_role": tree.cpu_by_role(start, end),
            "cores": round(cpu_window / window, 3),
            "peak_pss_mb": round(tree.peak_pss_mb(start, end), 1),
            "pss_mb_at_start": round(tree.at(start).pss_mb, 1),
            "pss_mb_at_end": round(tree.at(end).pss_mb, 1),
            "most_processes": max(s.processes for s in tree.samples),
            "machine_cores": busy,
            "runs": dict(window_runs),
            "run_seconds": spread(run_seconds),
            "seconds_between_a_sources_runs": spread(poll_gaps),
        },
        "timeline": timeline,
        "peak_pss_mb": round(tree.peak_pss_mb(), 1),
        "peak_open_files": tree.peak_fds,
        "open_files_limits": tree.fd_limits,
        "daemon_exit": exit_code,
        "daemon_log": log_problems(work / "soak.log"),
        "nginx_log": nginx_problems(work / "error.log"),
    }


def report_soak(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    first, w, every = r["first_pass"], r["window"], r["every_seconds"]
    print(
        f"\n{r['sources']} sites, each gaining one article per {every:.0f} s period over "
        f"{r['minutes']:g} min; adaptive intervals off"
    )
    table(
        ["phase", "seconds", "articles stored", "CPU s", "cores", "peak MB (PSS)"],
        [
            [
                "first pass (not measured)",
                first["seconds"],
                first["articles"],
                first["cpu_seconds"],
                round(first["cpu_seconds"] / first["seconds"], 2),
                first["peak_pss_mb"],
            ],
            [
                "measured window",
                w["seconds"],
                f"{w['stored']} of {w['appeared']}",
                w["cpu_seconds"],
                w["cores"],
                w["peak_pss_mb"],
            ],
        ],
    )
    table(
        ["seconds", "p50", "p95", "max"],
        [
            ["latency: appearance to first seen in the database", *w["latency_seconds"].values()],
            ["latency: appearance to fetched_at", *w["latency_by_fetched_at_seconds"].values()],
            ["each run's length (start to end)", *w["run_seconds"].values()],
            [
                "from a source's run to its next (start to start)",
                *w["seconds_between_a_sources_runs"].values(),
            ],
        ],
    )
    table(
        ["minute", "appeared", "stored", "cores", "PSS MB"],
        [[m["minute"], m["appeared"], m["stored"], m["cores"], m["pss_mb"]] for m in r["timeline"]],
    )
    print(
        f"\nruns in the window: {w['runs']}; articles missed: {w['missed']} (stored within "
        f"another period: {w['missed_then_stored_within_another_period']}, never stored: "
        f"{w['never_stored']}); "
        f"stored later than one period: {w['over_one_period']}; CPU s in the window by "
        f"process: {w['cpu_seconds_by_role']}; PSS {w['pss_mb_at_start']} MB "
        f"at the window's start, {w['pss_mb_at_end']} MB at its end; cores used over the "
        f"window: {w['machine_cores']}"
    )
    p95 = w["latency_seconds"]["p95"]
    return [
        ("p95 latency (s)", f"{p95}", f"<= {every + 60:.0f} (every + 60 s)", p95 <= every + 60),
        ("articles missed", str(w["missed"]), "0", w["missed"] == 0 and w["appeared"] > 0),
        ("daemon tree's average CPU (cores)", f"{w['cores']:.3f}", "<= 1", w["cores"] <= 1),
    ]
