"""`python bench/steady.py notmodified`: rounds of polls whose feeds all answer 304.

Each site's feed lists one article older than ``max_article_age``, so the first pass stores
nothing and leaves validators; the daemon is stopped, its crawl jobs deleted so every source is
due at its next start, and two rounds of the second daemon are measured: the burst that start
makes (every source due at once, robots.txt fetched again by the new engine), and, once every
source's turns are on its grid (two intervals after the start), one steady round: the window
of one ``every`` in which each source should be polled exactly once.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
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
    log_marks,
    log_problems,
    nginx_problems,
    query,
    runs_ended,
    serve_sites,
    sources_ended,
    table,
    wait_for,
    write_config,
)
from bench.manysites import PRESSWATCH, site_host  # noqa: E402
from bench.sitegen import Entry, write_feed, write_robots  # noqa: E402
from crawler.units import parse_duration  # noqa: E402


def check_not_modified(feed: str) -> None:
    """Fail unless ``feed`` answers with validators and 304 to them, and robots.txt answers."""
    try:
        urllib.request.urlopen(feed.replace("/rss.xml", "/robots.txt"), timeout=10).close()
        with urllib.request.urlopen(feed, timeout=10) as response:
            etag = response.headers.get("ETag")
        urllib.request.urlopen(
            urllib.request.Request(feed, headers={"If-None-Match": etag or ""}), timeout=10
        ).close()
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return
        sys.exit(f"bench: {feed} answered {exc.code}")
    except urllib.error.URLError as exc:
        sys.exit(f"bench: {feed} did not answer ({exc})")
    sys.exit(f"bench: {feed} did not answer 304 to its own ETag")


def notmodified(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    sites_root = work / "sites"
    shutil.rmtree(sites_root, ignore_errors=True)
    port = free_port()
    old = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    print(f"generating {args.sources} sites with one 10-day-old article ...", file=sys.stderr)
    feeds = []
    for n in range(args.sources):
        host = site_host(n)
        base, out = f"http://{host}:{port}", sites_root / host
        out.mkdir(parents=True)
        write_robots(out)
        entry = Entry(f"{base}/news/archive/old-story-{n}.html", old, f"An old story {n}")
        write_feed(out, base, [entry], title=f"Site {n + 1:05d}")
        feeds.append(f"{base}/rss.xml")
    config = write_config(work, "notmodified", feeds, args.every)
    every = parse_duration(args.every).total_seconds()
    database = work / "notmodified.db"
    nginx = serve_sites(sites_root, work, port, args.sources)
    first = second = None
    try:
        check_not_modified(feeds[0])
        check_not_modified(feeds[-1])
        print("first pass: robots.txt and the feeds, nothing stored ...", file=sys.stderr)
        first = Daemon(PRESSWATCH, config, work, "notmodified")
        complete = wait_for(first, lambda: sources_ended(database, 0) >= args.sources, args.limit)
        first_end = time.time()
        first_runs = runs_ended(database, 0)
        first_exit = first.stop()
        if not complete:
            sys.exit(
                f"bench: {sources_ended(database, 0)} of {args.sources} sources ended a run in "
                f"{args.limit:.0f} s: {dict(first_runs)}; see {work}/notmodified.log"
            )
        with contextlib.closing(sqlite3.connect(database)) as db, db:
            db.execute("DELETE FROM apscheduler_jobs WHERE id LIKE 'crawl:%'")
        after_id = last_run_id(database)
        print("second round: every feed 304 ...", file=sys.stderr)
        second = Daemon(PRESSWATCH, config, work, "notmodified-2")
        cpu_before = cpu_counters(nginx.pid)
        complete = wait_for(
            second,
            lambda: (
                sources_ended(database, after_id, "not_modified") >= args.sources
                or sources_ended(database, after_id) >= args.sources
            ),
            args.limit,
            interval=0.5,
        )
        cpu_after, cpu_after_at = cpu_counters(nginx.pid), time.time()
        second_runs = runs_ended(database, after_id)
        rows = query(
            database,
            "SELECT min(started_at), max(finished_at), count(DISTINCT source) FROM crawl_runs "
            "WHERE id > ? AND finish_reason = 'not_modified'",
            after_id,
        )
        first_run_started = query(
            database, "SELECT min(started_at) FROM crawl_runs WHERE id > ?", after_id
        )
        # The steady round: by two intervals after the start, every source's turns are on
        # its grid; the next window of one interval should hold one poll of each.
        steady_start = max(second.started + 2 * every, time.time())
        print(
            f"steady round: the {every:.0f} s from {steady_start - second.started:.0f} s after "
            "the start ...",
            file=sys.stderr,
        )
        wait_for(second, lambda: time.time() >= steady_start, 3 * every + 60)
        steady_end = steady_start + every
        wait_for(second, lambda: time.time() >= steady_end, 2 * every)
        time.sleep(5)  # the runs that started by the window's end have ended
        second.tree.sample()
        steady_runs = [
            (source, status, reason)
            for source, started, status, reason in query(
                database,
                "SELECT source, started_at, status, finish_reason FROM crawl_runs WHERE id > ?",
                after_id,
            )
            if steady_start <= epoch(started) < steady_end
        ]
        second_exit = second.stop()
    finally:
        if first is not None and first.running():
            first.stop()
        if second is not None and second.running():
            second.stop()
        stop(nginx)

    round_start, round_end, nm_sources = (epoch(rows[0][0]), epoch(rows[0][1]), rows[0][2])
    round_seconds = round_end - round_start
    tree = second.tree
    cpu = tree.cpu_between(round_start, round_end)
    to_end = tree.cpu_between(second.started, round_end)
    machine_cores = cores_between(cpu_before, cpu_after, cpu_after_at - second.started)
    machine_cores["others (machine - daemon - nginx - benchmark)"] = round(
        machine_cores["machine"]
        - machine_cores["nginx"]
        - machine_cores["benchmark"]
        - tree.cpu_between(second.started, cpu_after_at) / (cpu_after_at - second.started),
        3,
    )
    return {
        "sources": args.sources,
        "first_pass": {
            "seconds": round(first_end - first.started, 1),
            "cpu_seconds": round(first.tree.cpu_between(first.started, first_end), 1),
            "cpu_seconds_by_role": first.tree.cpu_by_role(first.started, first_end),
            "peak_pss_mb": round(first.tree.peak_pss_mb(), 1),
            "runs": dict(first_runs),
            "peak_open_files": first.tree.peak_fds,
            "open_files_limits": first.tree.fd_limits,
            "daemon_exit": first_exit,
        },
        "second_round": {
            "complete": complete,
            "sources_not_modified": nm_sources,
            "runs": dict(second_runs),
            "start_up_seconds": round(epoch(first_run_started[0][0]) - second.started, 1),
            "start_up_marks_seconds": log_marks(
                work / "notmodified.log",
                second.started,
                {
                    "engine started": "crawl engine started",
                    "jobs scheduled (daemon started)": "presswatch daemon started",
                },
            ),
            "seconds": round(round_seconds, 1),
            "cpu_seconds": round(cpu, 1),
            "cpu_seconds_by_role": tree.cpu_by_role(round_start, round_end),
            "cores": round(cpu / round_seconds, 3) if round_seconds > 0 else math.nan,
            "cpu_ms_per_source": round(1000 * cpu / max(1, nm_sources), 2),
            # The round's CPU spread over the sources' interval.
            "cores_over_every": round(cpu / every, 3),
            "machine_cores_from_start": machine_cores,
            "start_to_end_seconds": round(round_end - second.started, 1),
            "start_to_end_cpu_seconds": round(to_end, 1),
            "peak_pss_mb": round(tree.peak_pss_mb(), 1),
            "peak_open_files": tree.peak_fds,
            "open_files_limits": tree.fd_limits,
            "daemon_exit": second_exit,
        },
        "steady_round": {
            "every_seconds": every,
            "window_from_start_seconds": round(steady_start - second.started, 1),
            "polls": len(steady_runs),
            "sources_polled": len({source for source, _, _ in steady_runs}),
            "sources_polled_twice": sum(
                1 for n in Counter(source for source, _, _ in steady_runs).values() if n > 1
            ),
            "runs": dict(Counter(f"{status}/{reason}" for _, status, reason in steady_runs)),
            "cpu_seconds": round(second.tree.cpu_between(steady_start, steady_end), 1),
            "cpu_seconds_by_role": second.tree.cpu_by_role(steady_start, steady_end),
            "cores": round(second.tree.cpu_between(steady_start, steady_end) / every, 3),
            "cpu_ms_per_poll": round(
                1000 * second.tree.cpu_between(steady_start, steady_end) / max(1, len(steady_runs)),
                2,
            ),
        },
        "daemon_log": log_problems(work / "notmodified.log"),
        "nginx_log": nginx_problems(work / "error.log"),
    }


def report_notmodified(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    first, second, steady = r["first_pass"], r["second_round"], r["steady_round"]
    every = steady["every_seconds"]
    print(
        f"\n{r['sources']} sources, every feed unchanged, every = {every:.0f} s; "
        "adaptive intervals off"
    )
    table(
        ["phase", "seconds", "CPU s", "cores", "peak MB (PSS)", "runs ended"],
        [
            [
                "first pass (robots.txt + feed, nothing stored)",
                first["seconds"],
                first["cpu_seconds"],
                round(first["cpu_seconds"] / first["seconds"], 2),
                first["peak_pss_mb"],
                first["runs"],
            ],
            [
                "restart burst (all due at once): first not_modified start to the last",
                second["seconds"],
                second["cpu_seconds"],
                second["cores"],
                second["peak_pss_mb"],
                second["runs"],
            ],
            [
                f"steady round: the {every:.0f} s from {steady['window_from_start_seconds']} s "
                "after the start",
                every,
                steady["cpu_seconds"],
                steady["cores"],
                second["peak_pss_mb"],
                steady["runs"],
            ],
            [
                "second daemon: its start to the burst's end",
                second["start_to_end_seconds"],
                second["start_to_end_cpu_seconds"],
                round(second["start_to_end_cpu_seconds"] / second["start_to_end_seconds"], 2),
                second["peak_pss_mb"],
                "",
            ],
        ],
    )
    print(
        f"\nsecond daemon: {second['start_up_seconds']} s from its start to the first run "
        f"(from its start: {second['start_up_marks_seconds']}); CPU s in the round by process: "
        f"{second['cpu_seconds_by_role']}; peak open files {second['peak_open_files']} "
        f"(limits {second['open_files_limits']}); "
        f"{second['cpu_ms_per_source']} ms of CPU per source polled in the burst; cores used "
        f"from its start to the burst's end: {second['machine_cores_from_start']}\n"
        f"steady round: {steady['polls']} polls of {steady['sources_polled']} sources "
        f"({steady['sources_polled_twice']} polled twice), {steady['cpu_ms_per_poll']} ms of CPU "
        f"a poll; CPU s by process: {steady['cpu_seconds_by_role']}"
    )
    done = second["sources_not_modified"] == r["sources"]
    polled = steady["sources_polled"] == r["sources"] and steady["polls"] == r["sources"]
    not_modified = steady["runs"].get("finished/not_modified", 0) == r["sources"]
    return [
        (
            "restart burst (s), every source not_modified",
            f"{second['seconds']} ({second['sources_not_modified']} sources)",
            "<= 180",
            done and second["seconds"] <= 180,
        ),
        (
            "restart burst: daemon tree's CPU (cores), flat out",
            f"{second['cores']:.3f}",
            "(information)",
            True,
        ),
        (
            f"steady round: every source polled once, 304, within {every:.0f} s",
            f"{steady['sources_polled']} sources, {steady['polls']} polls, "
            f"{steady['runs'].get('finished/not_modified', 0)} not_modified",
            f"{r['sources']} in <= 180 s",
            polled and not_modified and every <= 180,
        ),
        (
            "steady round: daemon tree's CPU (cores)",
            f"{steady['cores']:.3f}",
            "<= 0.5",
            polled and steady["cores"] <= 0.5,
        ),
    ]
