"""``presswatch run``: the daemon that keeps every source fresh.

APScheduler 3 runs one interval job per source (its ``every``, at a phase of its own), stored in
presswatch's own database (``SQLAlchemyJobStore``), so the schedule survives restarts
(``crawler.service.jobs``). Each job hands its source to the one long-lived crawl engine
(``crawler.scrapy.engine``, supervised by ``crawler.service.supervisor``), which crawls every
source in one Scrapy crawler: the daemon never runs a Twisted reactor, its memory does not grow
with the crawls, and an engine that hangs or dies is replaced without taking the schedule, the
digests or the daemon with it. How a run went is read from the crawl-run row the engine wrote
(``crawler.service.crawls``); after each run the daemon checks the source's health
(``crawler.service.health``) and adapts its interval (``crawler.service.adaptive``).

One daemon per database: a lock (``fcntl.flock`` on a file beside a SQLite database, an
advisory lock on PostgreSQL) that the kernel or the server releases when the daemon dies, even
by SIGKILL. SIGTERM or SIGINT stops scheduling, gives running crawls ``stop_grace`` to finish
their pages, then stops them; SIGHUP re-reads the config and re-times the jobs.

This module is the daemon itself: its start and stop, its signals, and the wiring of those parts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from crawler.config import Config, ConfigError, load_config
from crawler.service import jobs
from crawler.service.adaptive import adapt
from crawler.service.crawls import close_orphaned_runs, cluster_crawl, ended_run, mark_runs
from crawler.service.health import SourceHealth
from crawler.service.reporting import remove_state, report_run, write_state
from crawler.service.supervisor import RunEnded, Supervisor
from storage.engine import make_engine
from storage.lock import DaemonLock
from storage.maintenance import maintain
from storage.migrate import ensure_schema
from storage.models import CrawlRun

logger = logging.getLogger("presswatch.daemon")


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.database_url = config.database_url
        self.lock = DaemonLock(self.database_url)
        self._stopping = threading.Event()
        self._reload = threading.Event()
        self.supervisor: Supervisor | None = None
        self._engine: Engine | None = None
        self.scheduler: Any = None
        self.health: SourceHealth | None = None
        self._reader: Engine | None = None  # reads: no write lock taken (SQLite)
        self._jobs_engine: Engine | None = None
        self._web: Any = None  # crawler.web.process.WebProcess, with [web] enabled

    # lifecycle --------------------------------------------------------------------------------

    def run(self) -> int:
        self.lock.acquire()
        try:
            from crawler.web.process import WebProcess

            self._web = WebProcess.configured(self.config)
            self._engine = make_engine(self.database_url)
            ensure_schema(self._engine)
            self._reader = make_engine(self.database_url, write=False)
            self._jobs_engine = make_engine(self.database_url, write=False)
            self.health = SourceHealth(self.config, self._reader, self._reload.set)
            close_orphaned_runs(self._engine, self.config)
            jobs.rehome_stored_jobs(self._engine)
            self.scheduler = jobs.make_scheduler(self.config, self._jobs_engine)
            jobs.set_runner(self)
            self._install_signals()
            # Each source's health as it stands (logged once if unhealthy), in the background:
            # at 10,000 sources that takes 10 s, which crawling need not wait for.
            threading.Thread(
                target=self.health.first_pass, args=(self._stopping,), daemon=True
            ).start()
            if self.config.cluster is None:
                self.supervisor = Supervisor(
                    self.config, on_ended=self._run_ended, on_lost=self._runs_lost
                )
                self.supervisor.start()
            self.scheduler.start(paused=True)
            jobs.sync_jobs(self.scheduler, self.config)
            jobs.catch_up_digests(self.scheduler, self._engine, self.config)
            self.scheduler.resume()
            if self._web is not None:
                self._web.start()
            logger.info(
                "presswatch daemon started (pid %d): %d sources, %s, database %s",
                os.getpid(),
                len(self.config.sources),
                f"at most {self.config.crawl.sources_at_once} crawled at once in one engine"
                if self.config.cluster is None
                else f"at most {self.config.daemon.max_parallel_crawls} cluster runs at once",
                make_url(self.database_url).render_as_string(hide_password=True),
            )
            while not self._stopping.is_set():
                self._stopping.wait(1.0)
                if self._reload.is_set():
                    self._reload.clear()
                    self._reload_config()
                if self.supervisor is not None and not self._stopping.is_set():
                    self.supervisor.check()
                    write_state(self.config, self.supervisor)
                if self._web is not None and not self._stopping.is_set():
                    self._web.check()
            self._shutdown()
            return 0
        finally:
            jobs.set_runner(None)
            for engine in (self._engine, self._reader, self._jobs_engine):
                if engine is not None:
                    engine.dispose()
            self.lock.release()

    def _install_signals(self) -> None:
        def stop(signum: int, _frame: Any) -> None:
            logger.info("%s received: stopping", signal.Signals(signum).name)
            self._stopping.set()

        def reload(_signum: int, _frame: Any) -> None:
            self._reload.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)

    def _shutdown(self) -> None:
        self.scheduler.pause()
        if self._web is not None:
            self._web.stop()
        grace = self.config.daemon.stop_grace.total_seconds()
        if self.supervisor is not None:
            logger.info("stopping the crawl engine (up to %.0f s to finish its pages)", grace)
            self.supervisor.stop(grace)
        # Left paused, not shut down: APScheduler 3's shutdown wakes its loop once more, which,
        # no longer paused, hands the jobs due then to executors already closed (an ERROR per
        # job, and the job's turn skipped in the store). The executors' threads finish their
        # jobs and are joined at exit.
        for executor in ("default", "digests"):
            with contextlib.suppress(KeyError):
                self.scheduler._lookup_executor(executor).shutdown(wait=True)
        remove_state(self.config)
        logger.info("presswatch daemon stopped")

    def _reload_config(self) -> None:
        try:
            config = load_config(self.config.path)
        except ConfigError as exc:
            logger.error("SIGHUP: the config is not valid, keeping the running one: %s", exc)
            return
        self.config = config
        if self.health is not None:
            self.health.config = config
        if self.supervisor is not None:
            self.supervisor.reload(config)
        if self._web is not None:
            self._web.restart(config)  # it reads the config (watchlists, [web]) at its start
        jobs.sync_jobs(self.scheduler, config)
        logger.info(
            "SIGHUP: config re-read, %d sources and %d watchers scheduled",
            len(config.sources),
            len(config.watchers),
        )

    # what the jobs run (crawler.service.jobs) ---------------------------------------------------

    def crawl(self, source_name: str) -> None:
        """Hand ``source_name`` to the crawl engine (a scheduler thread; returns at once), or,
        with ``[cluster]``, announce its run and wait for the workers."""
        if self._stopping.is_set():
            return
        try:
            source = self.config.source(source_name)
        except ConfigError:
            return
        if self.config.cluster is not None:
            assert self._engine is not None
            run = cluster_crawl(self._engine, self.config, source, self._stopping)
            self._after_run(source.name, run)
            return
        assert self.supervisor is not None
        if not self.supervisor.crawl(source.name):
            logger.info("%s: its last run is still going on; this turn is skipped", source.name)

    def digest(self, watcher_name: str) -> None:
        """Deliver one watcher's digest (a scheduler thread)."""
        from crawler.digests.outbox import Outbox

        assert self._engine is not None
        if self._stopping.is_set():
            return
        try:
            watcher = self.config.watcher(watcher_name)
        except ConfigError:
            return
        try:
            outcomes = Outbox(self._engine, self.config).run_digest(watcher)
        except SQLAlchemyError:
            logger.error("the digest of %s failed", watcher_name, exc_info=True)
            return
        failed = [o for o in outcomes if o.status == "failed"]
        sent = [o for o in outcomes if o.status == "sent"]
        logger.info(
            "digest of %s: %d deliveries sent, %d failed (kept to retry)%s",
            watcher_name,
            len(sent),
            len(failed),
            "" if sent or failed else "; nothing new",
        )

    def maintain(self) -> None:
        assert self._engine is not None
        daemon = self.config.daemon
        try:
            done = maintain(
                self._engine, keep_runs=daemon.keep_runs, keep_revisions=daemon.keep_revisions
            )
        except SQLAlchemyError:
            logger.error("maintenance failed", exc_info=True)
            return
        logger.info(
            "maintenance: %d crawl runs, %d sent deliveries, %d pages remembered without text "
            "and %d earlier article texts past retention deleted%s",
            done.runs_deleted,
            done.deliveries_deleted,
            done.empty_pages_deleted,
            done.revisions_deleted,
            "; database optimised" if done.optimised else "",
        )

    # after a run --------------------------------------------------------------------------------

    def _run_ended(self, ended: RunEnded) -> None:
        """A source's run has ended in the engine (the supervisor's reader thread)."""
        assert self._reader is not None
        run = ended_run(ended, self._reader)
        report_run(ended, run)
        if run is not None:
            self._after_run(ended.source, run)

    def _runs_lost(self, pid: int, sources: list[str], why: str) -> None:
        """An engine is gone: the runs it left open are failed, with the reason; their
        sources are crawled again at their next turn."""
        assert self._engine is not None
        mark_runs(self._engine, pid, "failed", why)
        for source in sources:
            self._after_run(source, None)

    def _after_run(self, source_name: str, run: CrawlRun | None) -> None:
        """The one step after every run, however it ended (reported by the engine, a cluster
        run, or lost with its engine, then ``run`` is None): the source's health checked, then
        its interval adapted to what the run found."""
        assert self.health is not None
        self.health.check(source_name, run)
        if run is None or not self.config.daemon.adaptive or self._stopping.is_set():
            return
        try:
            source = self.config.source(source_name)
        except ConfigError:
            return  # removed from the config since
        adapt(self.scheduler, source, run)
