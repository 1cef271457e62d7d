"""What the Sources and Digests pages show: each source's last crawl, health and next crawl,
the daemon's engine at work, and each watcher's digests and what waits for them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.config import Config
from crawler.web.reads import watchlist_unindexed
from storage import runs
from storage.models import Delivery, WatchMatch
from storage.schedule import CRAWL_JOB_PREFIX, DIGEST_JOB_PREFIX, next_runs
from storage.types import iso, utc

HEALTH_FRESH_FOR = 10.0  # seconds the sources' health is served before it is read again


def health_of_all(session: Session, config: Config, now: datetime) -> dict[str, dict[str, Any]]:
    """Every source's health (``storage.health``: a few queries of its history each)."""
    from storage.health import source_health

    daemon = config.daemon
    return {
        s.name: source_health(
            session,
            s.name,
            failures=daemon.unhealthy_after_failures,
            quiet_after=daemon.quiet_after,
            now=now,
            listings=s.start_urls,
            max_age=config.crawl.max_article_age,
        ).as_dict()
        for s in config.sources
    }


def sources(session: Session, config: Config, health: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each source's last crawl, ``health`` (``health_of_all``, read a little earlier) and next
    crawl, and the daemon's engine at work."""
    from storage.lock import daemon_state, engine_state

    latest = runs.last_runs(session)
    upcoming = next_runs(session.connection())
    rows = []
    for source in config.sources:
        run = latest.get(source.name)
        rows.append(
            {
                "source": source.name,
                "every": int(source.every.total_seconds()),
                "last_run": None
                if run is None
                else {
                    "started_at": iso(run.started_at),
                    "finished_at": iso(run.finished_at),
                    "status": run.status,
                    "finish_reason": run.finish_reason,
                    "pages": run.pages_fetched,
                    "new": run.new,
                    "updated": run.updated,
                    "flagged": run.flagged,
                    "errors": dict(run.errors or {}),
                },
                "next_run": iso(upcoming.get(CRAWL_JOB_PREFIX + source.name)),
                "health": health.get(source.name)
                or {"state": "unknown", "reason": "not checked yet", "recent_errors": {}},
            }
        )
    state = daemon_state(config.database_url)
    return {
        "daemon": {"running": bool(state), **(state or {})},
        "engine": engine_state(config.database_url, config.path) if state else None,
        "sources": rows,
    }


def digests(session: Session, config: Config, now: datetime) -> list[dict[str, Any]]:
    """Each watcher's last and next digest, its deliveries, and what waits and why."""
    from storage import deliveries

    last = deliveries.last_digest_runs(session)
    upcoming = next_runs(session.connection())
    rows = []
    for watcher in config.watchers:
        since = utc(last.get(watcher.name))
        waiting = session.scalar(
            select(func.count())
            .select_from(WatchMatch)
            .where(
                # The updated_at index bounds the walk: the watchlist is checked on each row.
                watchlist_unindexed(session).in_(watcher.watchlists),
                WatchMatch.updated_at >= (since or now - timedelta(days=1)),
            )
        )
        open_rows = session.scalars(
            select(Delivery)
            .where(Delivery.watcher == watcher.name, Delivery.status.in_(deliveries.OPEN))
            .order_by(Delivery.id)
        ).all()
        rows.append(
            {
                "watcher": watcher.name,
                "watchlists": list(watcher.watchlists),
                "schedule": watcher.schedule,
                "timezone": watcher.timezone,
                "channels": watcher.channels,
                "last_digest": iso(since),
                "next_digest": iso(upcoming.get(DIGEST_JOB_PREFIX + watcher.name)),
                "matches_waiting": int(waiting or 0),
                "matches_waiting_since": iso(since or now - timedelta(days=1)),
                "pending": [_delivery(d) for d in open_rows],
                "latest": [
                    _delivery(d) for d in deliveries.latest_deliveries(session, watcher.name)
                ],
            }
        )
    return rows


def _delivery(row: Delivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel,
        "kind": row.kind,
        "status": row.status,
        "created_at": iso(row.created_at),
        "attempted_at": iso(row.attempted_at),
        "sent_at": iso(row.sent_at),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "uncertain": row.uncertain,
    }
