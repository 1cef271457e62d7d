"""The daemon's crawl runs, as their rows tell them: a run the engine reported ended, a cluster
run opened in the shared frontier and waited for, the runs an engine that died left open, and
the runs a killed daemon left 'running'."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from crawler.config import Config, SourceConfig
from crawler.service.reporting import report_cluster_run
from crawler.service.supervisor import RunEnded
from storage.engine import make_sessionmaker
from storage.models import CrawlRun

logger = logging.getLogger("presswatch.daemon")


def ended_run(ended: RunEnded, reader: Engine) -> CrawlRun | None:
    """The run row of a run the engine reported ended: built from the counts it reported, or,
    from an engine that reports none, read back (None when there is no row)."""
    if ended.run_id is not None and ended.counts is not None:
        return CrawlRun(  # as the engine wrote it: no need to read the row back
            id=ended.run_id,
            source=ended.source,
            status=ended.status,
            finish_reason=ended.reason,
            pages_fetched=ended.counts["pages"],
            new=ended.counts["new"],
            updated=ended.counts["updated"],
            flagged=ended.counts["flagged"],
            errors=ended.counts["errors"],
            articles_fetched=ended.counts.get("articles", 0),
            empty=ended.counts.get("empty", 0),
            listed=ended.counts.get("listed", 0),
            too_old=ended.counts.get("too_old", 0),
        )
    if ended.run_id is not None:
        with make_sessionmaker(reader)() as session:
            return session.get(CrawlRun, ended.run_id)
    return None


def cluster_crawl(
    engine: Engine, config: Config, source: SourceConfig, stopping: threading.Event
) -> CrawlRun | None:
    """Open a run in the shared frontier with the source's seeds, and wait for the
    workers to finish it (or for the time limit); the run as it ended."""
    from crawler.cluster.frontier import Frontier, Seed
    from storage import runs

    assert config.cluster is not None
    frontier = Frontier(config.cluster)
    sessions = make_sessionmaker(engine)
    started = time.monotonic()
    with sessions.begin() as session:
        run_id = runs.start_run(session, source.name, datetime.now(UTC), None)
    seeds = [Seed(u, "feed") for u in source.feeds]
    seeds += [Seed(u, "sitemap") for u in source.sitemaps]
    seeds += [Seed(u, "page") for u in source.pages]
    frontier.announce(run_id, source.name, seeds)
    limit = config.daemon.crawl_time_limit.total_seconds()
    run: CrawlRun | None = None
    while True:
        with sessions() as session:
            run = session.get(CrawlRun, run_id)
            if run is None or run.status != "running":
                break
        if time.monotonic() - started > limit or stopping.is_set():
            why = "time limit" if not stopping.is_set() else "the daemon stopped"
            frontier.abandon(run_id)
            with sessions.begin() as session:
                runs.close_run(
                    session,
                    run_id,
                    finished_at=datetime.now(UTC),
                    status="timeout" if why == "time limit" else "stopped",
                    finish_reason=f"cluster run ended at the {why}",
                )
            break
        time.sleep(1.0)
    with sessions() as session:
        run = session.get(CrawlRun, run_id)
        if run is not None:
            session.expunge(run)
    if run is not None:
        report_cluster_run(source.name, run, time.monotonic() - started)
    return run


def mark_runs(engine: Engine, pid: int, status: str, reason: str) -> None:
    """The runs crawl process ``pid`` left 'running' closed with ``status`` and ``reason``."""
    try:
        with make_sessionmaker(engine).begin() as session:
            session.execute(
                update(CrawlRun)
                .where(CrawlRun.pid == pid, CrawlRun.status == "running")
                .values(status=status, finish_reason=reason, finished_at=datetime.now(UTC))
            )
    except SQLAlchemyError:
        logger.error("Cannot update the run row of crawl process %d", pid, exc_info=True)


def close_orphaned_runs(engine: Engine, config: Config) -> None:
    """Runs left 'running' by crawls that no longer exist (the machine or the daemon was
    killed mid-crawl) are marked interrupted."""
    active: set[int] = set()
    if config.cluster is not None:
        from crawler.cluster.frontier import Frontier

        active = set(Frontier(config.cluster).active_runs())
    with make_sessionmaker(engine).begin() as session:
        for run in session.scalars(select(CrawlRun).where(CrawlRun.status == "running")):
            if run.id in active:
                continue  # a distributed crawl the workers are still at
            if run.pid is None or not _alive(run.pid):
                run.status = "interrupted"
                run.finish_reason = "the crawl process ended without closing its run"
                run.finished_at = run.finished_at or datetime.now(UTC)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
