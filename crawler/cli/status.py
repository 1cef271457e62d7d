"""`presswatch status`: each source's last and next crawl and health, the watchers' digests,
the daemon and its engine, for people or as JSON."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crawler.cli.common import every_text, load, open_database, some_names
from crawler.config import Config
from crawler.escaping import terminal_text
from storage import deliveries, runs
from storage.health import source_health
from storage.lock import daemon_state, engine_state
from storage.schedule import CRAWL_JOB_PREFIX as JOB_PREFIX
from storage.schedule import DIGEST_JOB_PREFIX as DIGEST_PREFIX
from storage.schedule import next_runs
from storage.types import iso


def cmd_status(args: argparse.Namespace) -> int:
    config = load(args)
    sources: list[dict[str, Any]]
    url = config.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        # Nothing crawled yet: every source is "never", and nothing is created.
        never: list[dict[str, Any]] = [
            {
                "source": s.name,
                "every": int(s.every.total_seconds()),
                "last_run": None,
                "next_run": None,
                "health": {"state": "unknown", "reason": "not crawled yet"},
            }
            for s in config.sources
        ]
        return _print_status(args, config, never, _watchers_status(config, None, {}))
    engine = open_database(config, write=False)
    try:
        with engine.connect() as connection:
            upcoming = next_runs(connection)
            sources = []
            latest = runs.last_runs(Session(bind=connection))
            for source in config.sources:
                run = latest.get(source.name)
                sources.append(
                    {
                        "source": source.name,
                        "every": int(source.every.total_seconds()),
                        "last_run": None
                        if run is None
                        else {
                            "started_at": iso(run.started_at, precise=True),
                            "finished_at": iso(run.finished_at, precise=True),
                            "status": run.status,
                            "new": run.new,
                            "updated": run.updated,
                            "flagged": run.flagged,
                            "errors": sum(dict(run.errors).values()),
                        },
                        "next_run": iso(upcoming.get(JOB_PREFIX + source.name), precise=True),
                        "health": source_health(
                            Session(bind=connection),
                            source.name,
                            failures=config.daemon.unhealthy_after_failures,
                            quiet_after=config.daemon.quiet_after,
                            listings=source.start_urls,
                            max_age=config.crawl.max_article_age,
                        ).as_dict(),
                    }
                )
            watchers = _watchers_status(config, Session(bind=connection), upcoming)
    finally:
        engine.dispose()
    return _print_status(args, config, sources, watchers)


def _watchers_status(
    config: Config, session: Any, next_runs: dict[str, datetime | None]
) -> list[dict[str, Any]]:
    """Each watcher's schedule, last and next digest, and its deliveries' state per channel."""

    last_runs = deliveries.last_digest_runs(session) if session is not None else {}
    rows = []
    for watcher in config.watchers:
        latest = deliveries.latest_deliveries(session, watcher.name) if session else []
        rows.append(
            {
                "watcher": watcher.name,
                "schedule": watcher.schedule,
                "timezone": watcher.timezone,
                "channels": watcher.channels,
                "last_digest": iso(last_runs.get(watcher.name), precise=True),
                "next_digest": iso(next_runs.get(DIGEST_PREFIX + watcher.name), precise=True),
                "pending": deliveries.pending_count(session, watcher.name) if session else 0,
                "deliveries": [
                    {
                        "channel": d.channel,
                        "kind": d.kind,
                        "status": d.status,
                        "created_at": iso(d.created_at, precise=True),
                        "sent_at": iso(d.sent_at, precise=True),
                        "attempts": d.attempts,
                        "last_error": d.last_error,
                    }
                    for d in latest
                ],
            }
        )
    return rows


def _print_status(
    args: argparse.Namespace,
    config: Config,
    sources: list[dict[str, Any]],
    watchers: list[dict[str, Any]],
) -> int:

    daemon: dict[str, Any] = daemon_state(config.database_url) or {}
    status: dict[str, Any] = {
        "daemon": {"running": bool(daemon), **daemon},
        "sources": sources,
        "watchers": watchers,
    }
    engines = engine_state(config.database_url, config.path) if daemon else None
    if engines is not None:
        status["engine"] = engines
    if config.cluster is not None:
        status["cluster"] = _cluster_status(config)
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    if daemon:
        print(
            terminal_text(
                f"daemon: running (pid {daemon.get('pid')} on {daemon.get('host')}, "
                f"since {daemon.get('started_at')})"
            )
        )
    else:
        print("daemon: not running (start it with `presswatch run`)")
    for engine in (engines or {}).get("engines", []):
        print(terminal_text(_engine_text(engine)))
    header = f"{'source':<16} {'every':>7}  {'last run':<20} {'result':<11} {'new':>5} "
    print(header + f"{'errors':>6}  {'next run':<20} health")
    for row in sources:
        last = row["last_run"] or {}
        print(
            f"{row['source']:<16} {every_text(row['every']):>7}  "
            f"{(last.get('started_at') or '-')[:19]:<20} {last.get('status', 'never'):<11} "
            f"{last.get('new', 0):>5} {last.get('errors', 0):>6}  "
            f"{(row['next_run'] or '-')[:19]:<20} {_health_text(row['health'])}"
        )
    cluster = status.get("cluster")
    if cluster is not None:
        if cluster["reachable"]:
            print(
                f"cluster: {len(cluster['workers'])} workers alive, "
                f"{cluster['frontier_length']} requests waiting in the frontier, "
                f"{len(cluster['active_runs'])} runs in progress"
            )
            for w in cluster["workers"]:
                print(f"  worker {w['worker']} (heartbeat {w['last_heartbeat_seconds_ago']} s ago)")
        else:
            print(
                f"cluster: Redis at {cluster['redis']} NOT reachable: "
                f"{terminal_text(cluster['error'])}"
            )
    if watchers:
        print()
        print(f"{'watcher':<16} {'schedule':<18} {'last digest':<20} {'next digest':<20} delivery")
        for row in watchers:
            print(
                f"{row['watcher']:<16} {row['schedule']:<18} "
                f"{(row['last_digest'] or 'never')[:19]:<20} "
                f"{(row['next_digest'] or '-')[:19]:<20} {_delivery_text(row)}"
            )
    return 0


def _engine_text(engine: dict[str, Any]) -> str:
    running = engine.get("running") or []
    shown = some_names(running, 8)
    return (
        f"crawl engine: pid {engine.get('pid')}{' (draining)' if engine.get('draining') else ''}, "
        f"{len(running)} sources in progress{': ' + shown if running else ''}; "
        f"{engine.get('waiting', 0)} due sources waiting (the longest for "
        f"{engine.get('most_overdue_seconds', 0):.0f} s); "
        f"{engine.get('pages_in_flight', 0)} pages in flight; {engine.get('memory_mb', 0)} MB"
    )


def _cluster_status(config: Config) -> dict[str, Any]:
    import redis

    from crawler.cluster.frontier import Frontier

    assert config.cluster is not None
    try:
        frontier = Frontier(config.cluster)
        return {
            "redis": config.cluster.redis_url,
            "reachable": True,
            "workers": [
                {"worker": w, "last_heartbeat_seconds_ago": round(ago, 1)}
                for w, ago in sorted(frontier.workers().items())
            ],
            "frontier_length": frontier.length(),
            "active_runs": {str(r): s for r, s in frontier.active_runs().items()},
        }
    except redis.exceptions.RedisError as exc:
        return {"redis": config.cluster.redis_url, "reachable": False, "error": str(exc)}


def _delivery_text(row: dict[str, Any]) -> str:
    if not row["channels"]:
        return "no channel"
    states = [
        f"{d['channel']} {d['kind']} PENDING after {d['attempts']} attempts: "
        + terminal_text(d["last_error"] or "")
        for d in row["deliveries"]
        if d["status"] != "sent"
    ]
    return "; ".join(states) if states else "ok (" + ", ".join(row["channels"]) + ")"


def _health_text(health: dict[str, Any]) -> str:
    state = terminal_text(str(health["state"]))
    if state in ("healthy", "unknown"):
        return state
    return f"{state.upper()}: {terminal_text(str(health['reason']))}"
