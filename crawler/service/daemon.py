"""``presswatch run``: the daemon that keeps every source fresh.

APScheduler 3 runs one interval job per source (its ``every``, at a phase of its own), stored in
presswatch's own database (``SQLAlchemyJobStore``), so the schedule survives restarts. Each job
hands its source to the one long-lived crawl engine (``crawler.scrapy.engine``, supervised by
``crawler.service.supervisor``), which crawls every source in one Scrapy crawler: the daemon never
runs a Twisted reactor, its memory does not grow with the crawls, and an engine that hangs or dies
is replaced without taking the schedule, the digests or the daemon with it. How a run went is read
from the crawl-run row the engine wrote.

One daemon per database: a lock (``fcntl.flock`` on a file beside a SQLite database, an
advisory lock on PostgreSQL) that the kernel or the server releases when the daemon dies, even
by SIGKILL. SIGTERM or SIGINT stops scheduling, gives running crawls ``stop_grace`` to finish
their pages, then stops them; SIGHUP re-reads the config and re-times the jobs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from crawler.config import Config, ConfigError, SourceConfig, load_config
from crawler.service.supervisor import RunEnded, Supervisor
from storage.diagnostics import Problem
from storage.engine import make_engine, make_sessionmaker
from storage.health import UNHEALTHY, failed, quiet_reason, quiet_since, source_health
from storage.lock import DaemonLock, state_path
from storage.maintenance import maintain
from storage.migrate import ensure_schema
from storage.models import CrawlRun
from storage.schedule import CRAWL_JOB_PREFIX, DIGEST_JOB_PREFIX, JOB_TABLE

logger = logging.getLogger("presswatch.daemon")

JOB_PREFIX = CRAWL_JOB_PREFIX
DIGEST_PREFIX = DIGEST_JOB_PREFIX
CATCH_UP_PREFIX = "digest-catch-up:"
MAINTENANCE_JOB = "maintenance"
# Crawls due at start are spread this far apart, so they do not all start in one second.
START_STAGGER = timedelta(seconds=2)
NO_STAGGER = timedelta(0)
_GRID_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


# The running daemon, for the job function (APScheduler stores jobs by reference and arguments).
_DAEMON: Daemon | None = None


def run_crawl(source: str) -> None:
    """The job of each source (module level, so the job store can name it)."""
    if _DAEMON is not None:
        _DAEMON.crawl(source)


def run_maintenance() -> None:
    if _DAEMON is not None:
        _DAEMON.maintain()


def run_digest(watcher: str) -> None:
    """The job of each watcher, on its schedule."""
    if _DAEMON is not None:
        _DAEMON.digest(watcher)


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
        self._health: dict[str, str] = {}  # source -> last state logged
        # source -> (first crawl, last new article), once its health has been read
        self._known: dict[str, tuple[datetime, datetime | None]] = {}
        self._reader: Engine | None = None  # reads: no write lock taken (SQLite)
        self._health_lock = threading.Lock()
        self._moves_seen: set[tuple[str, str]] = set()  # (source, listing) moves handled
        self._jobs_engine: Engine | None = None
        self._web: Any = None  # crawler.web.process.WebProcess, with [web] enabled

    # lifecycle --------------------------------------------------------------------------------

    def run(self) -> int:
        global _DAEMON
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        self.lock.acquire()
        try:
            from crawler.web.process import WebProcess

            self._web = WebProcess.configured(self.config)
            self._engine = make_engine(self.database_url)
            ensure_schema(self._engine)
            self._reader = make_engine(self.database_url, write=False)
            self._jobs_engine = make_engine(self.database_url, write=False)
            self._close_orphaned_runs()
            daemon = self.config.daemon
            self.scheduler = BackgroundScheduler(
                # Its own engine, with SQLite's deferred BEGIN: each of its transactions is one
                # statement, and looking for due jobs need not take the write lock the crawl
                # engine's writer wants.
                jobstores={
                    "default": SQLAlchemyJobStore(engine=self._jobs_engine, tablename=JOB_TABLE)
                },
                executors={
                    "default": ThreadPoolExecutor(daemon.max_parallel_crawls),
                    # Digests go one at a time, and never wait behind crawls.
                    "digests": ThreadPoolExecutor(1),
                },
                job_defaults={
                    "coalesce": True,
                    "max_instances": 1,
                    "misfire_grace_time": int(daemon.misfire_grace.total_seconds()),
                },
                timezone=UTC,
            )
            _DAEMON = self
            self._install_signals()
            # Each source's health as it stands (logged once if unhealthy), in the background:
            # at 10,000 sources that takes 10 s, which crawling need not wait for.
            threading.Thread(target=self._first_health_pass, daemon=True).start()
            if self.config.cluster is None:
                self.supervisor = Supervisor(
                    self.config, on_ended=self._run_ended, on_lost=self._runs_lost
                )
                self.supervisor.start()
            self.scheduler.start(paused=True)
            self._sync_jobs(self.config)
            self._catch_up_digests(self.config)
            self.scheduler.resume()
            if self._web is not None:
                self._web.start()
            logger.info(
                "presswatch daemon started (pid %d): %d sources, %s, database %s",
                os.getpid(),
                len(self.config.sources),
                f"at most {self.config.crawl.sources_at_once} crawled at once in one engine"
                if self.config.cluster is None
                else f"at most {daemon.max_parallel_crawls} cluster runs at once",
                make_url(self.database_url).render_as_string(hide_password=True),
            )
            while not self._stopping.is_set():
                self._stopping.wait(1.0)
                if self._reload.is_set():
                    self._reload.clear()
                    self._reload_config()
                if self.supervisor is not None and not self._stopping.is_set():
                    self.supervisor.check()
                    self._write_state()
                if self._web is not None and not self._stopping.is_set():
                    self._web.check()
            self._shutdown()
            return 0
        finally:
            _DAEMON = None
            for engine in (self._engine, self._reader, self._jobs_engine):
                if engine is not None:
                    engine.dispose()
            self.lock.release()

    def _first_health_pass(self) -> None:
        for source in self.config.sources:
            if self._stopping.is_set():
                return
            try:
                self._check_health(source.name)
            except SQLAlchemyError:
                logger.warning("Cannot read %s's health", source.name, exc_info=True)

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
        with contextlib.suppress(OSError):
            state_path(self.config.database_url, self.config.path).unlink()
        logger.info("presswatch daemon stopped")

    def _reload_config(self) -> None:
        try:
            config = load_config(self.config.path)
        except ConfigError as exc:
            logger.error("SIGHUP: the config is not valid, keeping the running one: %s", exc)
            return
        self.config = config
        if self.supervisor is not None:
            self.supervisor.reload(config)
        if self._web is not None:
            self._web.restart(config)  # it reads the config (watchlists, [web]) at its start
        self._sync_jobs(config)
        logger.info(
            "SIGHUP: config re-read, %d sources and %d watchers scheduled",
            len(config.sources),
            len(config.watchers),
        )

    # jobs -------------------------------------------------------------------------------------

    def _sync_jobs(self, config: Config) -> None:
        """One job per configured source; jobs of removed sources go; a job whose interval
        changed, or a new one, is due at once (staggered)."""
        wanted = {f"{JOB_PREFIX}{s.name}": s for s in config.sources}
        for job in self.scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                logger.info("source %s is no longer configured: unscheduled", job.id[6:])
                job.remove()
        self.scheduler.add_job(
            run_maintenance,
            trigger=IntervalTrigger(
                seconds=config.daemon.maintenance_every.total_seconds(), timezone=UTC
            ),
            id=MAINTENANCE_JOB,
            name="maintenance",
            replace_existing=True,
        )
        self._sync_digest_jobs(config)
        now = datetime.now(UTC)
        due = 0
        for job_id, source in wanted.items():
            seconds = source.every.total_seconds()
            existing = self.scheduler.get_job(job_id)
            if existing is not None:
                current = existing.trigger.interval
                low, high = source.interval_bounds
                adapted = self.config.daemon.adaptive and low <= current <= high
                if adapted or current.total_seconds() == seconds:
                    if not isinstance(existing.trigger, SpreadInterval):  # stored before 12/2026
                        trigger = SpreadInterval.of(source.name, current)
                        turn = trigger.get_next_fire_time(None, now)
                        if existing.next_run_time is not None:  # overdue stays due
                            turn = min(turn, existing.next_run_time)
                        existing.modify(trigger=trigger, next_run_time=turn)
                    continue  # keep its schedule (and what adapting it has learnt)
            self.scheduler.add_job(
                run_crawl,
                trigger=SpreadInterval.of(source.name, source.every),
                args=[source.name],
                id=job_id,
                name=f"crawl {source.name}",
                replace_existing=True,
                # The engine queues what is due; a cluster's runs each hold a job's thread.
                next_run_time=now + due * (START_STAGGER if config.cluster else NO_STAGGER),
            )
            due += 1

    def _sync_digest_jobs(self, config: Config) -> None:
        """One job per watcher with a channel, on its schedule in its time zone."""
        from crawler.digests.outbox import schedule_trigger

        wanted = {f"{DIGEST_PREFIX}{w.name}": w for w in config.watchers if w.channels}
        for job in self.scheduler.get_jobs():
            if job.id.startswith(DIGEST_PREFIX) and job.id not in wanted:
                job.remove()
        for job_id, watcher in wanted.items():
            self.scheduler.add_job(
                run_digest,
                trigger=schedule_trigger(watcher),
                args=[watcher.name],
                id=job_id,
                name=f"digest {watcher.name}",
                executor="digests",
                replace_existing=True,
            )

    def _catch_up_digests(self, config: Config) -> None:
        """A watcher whose scheduled time passed while the daemon was down gets one digest
        now (not one per missed time): read from when its digest last ran, not from the job
        store, so a restart never loses or doubles one."""
        from crawler.digests.outbox import schedule_trigger
        from storage.deliveries import last_digest_runs

        assert self._engine is not None
        with make_sessionmaker(self._engine)() as session:
            last_runs = last_digest_runs(session)
        now = datetime.now(UTC)
        for watcher in config.watchers:
            last = last_runs.get(watcher.name)
            if last is None or not watcher.channels:
                continue
            missed = schedule_trigger(watcher).get_next_fire_time(None, last + timedelta(seconds=1))
            if missed is None or missed > now:
                continue
            logger.info(
                "the digest of %s due at %s was missed while the daemon was down: sending it now",
                watcher.name,
                missed.astimezone(UTC).isoformat(timespec="minutes"),
            )
            self.scheduler.add_job(
                run_digest,
                trigger="date",
                run_date=now,
                args=[watcher.name],
                id=f"{CATCH_UP_PREFIX}{watcher.name}",
                name=f"missed digest {watcher.name}",
                executor="digests",
                replace_existing=True,
                misfire_grace_time=None,
            )

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
            "maintenance: %d crawl runs, %d sent deliveries and %d earlier article texts past "
            "retention deleted%s",
            done.runs_deleted,
            done.deliveries_deleted,
            done.revisions_deleted,
            "; database optimised" if done.optimised else "",
        )

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
            self._cluster_crawl(source)
            return
        assert self.supervisor is not None
        if not self.supervisor.crawl(source.name):
            logger.info("%s: its last run is still going on; this turn is skipped", source.name)

    def _run_ended(self, ended: RunEnded) -> None:
        """A source's run has ended in the engine (the supervisor's reader thread)."""
        assert self._reader is not None
        run = None
        if ended.run_id is not None and ended.counts is not None:
            run = CrawlRun(  # as the engine wrote it: no need to read the row back
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
        elif ended.run_id is not None:
            with make_sessionmaker(self._reader)() as session:
                run = session.get(CrawlRun, ended.run_id)
        if run is None:
            logger.error(
                "%s: the run ended (%s) without a crawl-run row", ended.source, ended.reason
            )
            return
        errors = sum(run.errors.values())
        if run.finish_reason == "not_modified":
            logger.info(
                "%s: nothing new in %.1f s: %d listings answered 304 Not Modified",
                ended.source,
                ended.seconds,
                run.pages_fetched,
            )
        else:
            logger.info(
                "%s: %s in %.1f s: %d pages, %d new, %d updated, %d flagged, %d errors",
                ended.source,
                run.status,
                ended.seconds,
                run.pages_fetched,
                run.new,
                run.updated,
                run.flagged,
                errors,
            )
        self._after_run(ended.source, run)

    def _after_run(self, source_name: str, run: CrawlRun | None) -> None:
        self._check_health(source_name, run)
        if run is None or not self.config.daemon.adaptive or self._stopping.is_set():
            return
        try:
            source = self.config.source(source_name)
        except ConfigError:
            return  # removed from the config since
        self._adapt(source, run)

    def _runs_lost(self, pid: int, sources: list[str], why: str) -> None:
        """An engine is gone: the runs it left open are failed, with the reason; their
        sources are crawled again at their next turn."""
        self._mark_run(pid, "failed", why)
        for source in sources:
            self._check_health(source)

    def _write_state(self) -> None:
        """What the engine does now, for `presswatch status` (rewritten every second)."""
        assert self.supervisor is not None
        state = {
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "engines": self.supervisor.state(),
        }
        path = state_path(self.config.database_url, self.config.path)
        try:
            partial = path.with_name(path.name + ".tmp")
            partial.write_text(json.dumps(state), encoding="utf-8")
            partial.replace(path)
        except OSError:
            logger.debug("Cannot write %s", path, exc_info=True)

    def _cluster_crawl(self, source: SourceConfig) -> None:
        """Open a run in the shared frontier with the source's seeds, and wait for the
        workers to finish it (or for the time limit)."""
        from crawler.cluster.frontier import Frontier, Seed
        from storage import runs

        assert self._engine is not None and self.config.cluster is not None
        frontier = Frontier(self.config.cluster)
        sessions = make_sessionmaker(self._engine)
        started = time.monotonic()
        with sessions.begin() as session:
            run_id = runs.start_run(session, source.name, datetime.now(UTC), None)
        seeds = [Seed(u, "feed") for u in source.feeds]
        seeds += [Seed(u, "sitemap") for u in source.sitemaps]
        seeds += [Seed(u, "page") for u in source.pages]
        frontier.announce(run_id, source.name, seeds)
        limit = self.config.daemon.crawl_time_limit.total_seconds()
        run: CrawlRun | None = None
        while True:
            with sessions() as session:
                run = session.get(CrawlRun, run_id)
                if run is None or run.status != "running":
                    break
            if time.monotonic() - started > limit or self._stopping.is_set():
                why = "time limit" if not self._stopping.is_set() else "the daemon stopped"
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
            logger.info(
                "%s: %s in %.1f s (cluster run %d): %d pages, %d new, %d updated, %d flagged",
                source.name,
                run.status,
                time.monotonic() - started,
                run_id,
                run.pages_fetched,
                run.new,
                run.updated,
                run.flagged,
            )
        self._after_run(source.name, run)

    def _adapt(self, source: SourceConfig, run: CrawlRun) -> None:
        """Poll a source more often while it publishes, less while it has nothing new:
        nothing new backs the interval off by half, up to max_every; new articles bring a
        backed-off source back to `every`, and halve the interval of one already at or below
        it, down to min_every. (Failed crawls leave it as it is: health handles those.)"""
        job = self.scheduler.get_job(f"{JOB_PREFIX}{source.name}")
        if job is None or run.status != "finished" or run.pages_fetched == 0:
            return
        current = job.trigger.interval
        low, high = source.interval_bounds
        if run.new > 0:
            wanted = source.every if current > source.every else max(low, current / 2)
            why = f"{run.new} new"
        else:
            wanted = min(high, current * 1.5)
            why = "nothing new"
        if wanted == current:
            return
        trigger = SpreadInterval.of(source.name, wanted)
        if wanted < current:
            # Sooner: the new grid's next point, at most one (shorter) interval away.
            job.modify(trigger=trigger, next_run_time=trigger.first_after(datetime.now(UTC)))
        else:
            job.reschedule(trigger)
        logger.info("%s: next crawls every %s (%s)", source.name, _duration(wanted), why)

    def _check_health(self, source: str, run: CrawlRun | None = None) -> None:
        """Log a source's health when it changes (once, not at every crawl).

        After a crawl that did not fail, the source is healthy or quiet, which the daemon tells
        from what it already knows (its first crawl and last new article), without reading
        the crawl history again: 10,000 polls a round need not cost 40,000 queries. A failed
        crawl, or a source not yet known, is read from the run rows (``source_health``).
        """
        with self._health_lock:  # the report threads and the first health pass
            moves = self._check_health_locked(source, run)
        for problem in moves:  # a request each: not while holding the lock
            self._settle_move(source, problem)

    def _check_health_locked(self, source: str, run: CrawlRun | None) -> list[Problem]:
        """The source's health noted; the moved listings not handled yet returned."""
        assert self._reader is not None
        daemon = self.config.daemon
        known = self._known.get(source)
        now = datetime.now(UTC)
        if run is not None and known is not None and run.new:
            known = self._known[source] = (known[0], now)  # even from a run that failed
        if run is not None and known is not None and not failed(run) and not _symptoms(run):
            first, last_new = known
            quiet_for = quiet_since(first, last_new, daemon.quiet_after, now)
            if quiet_for is None:
                self._note_health(source, "healthy", "ok")
            else:
                self._note_health(source, "quiet", quiet_reason(quiet_for))
            return []
        try:
            listings = self.config.source(source).start_urls
        except ConfigError:
            listings = []  # removed from the config since
        with make_sessionmaker(self._reader)() as session:
            health = source_health(
                session,
                source,
                failures=daemon.unhealthy_after_failures,
                quiet_after=daemon.quiet_after,
                listings=listings,
                max_age=self.config.crawl.max_article_age,
            )
        if health.first_crawl is not None:
            self._known[source] = (health.first_crawl, health.last_new_article)
        self._note_health(source, health.state, health.reason)
        moves = [
            p
            for p in health.problems
            if p.kind == "moved" and p.old and (source, p.old) not in self._moves_seen
        ]
        self._moves_seen.update((source, str(p.old)) for p in moves)
        return moves

    def _settle_move(self, source: str, problem: Problem) -> None:
        """A listing that answers from elsewhere: a permanent move is written into the config
        (and the config re-read), once; a temporary redirect is left alone."""
        from crawler.sources.moves import settle_move

        assert problem.old is not None and problem.new is not None
        written, message = settle_move(
            self.config.path, source, problem.old, problem.new, self.config.crawl
        )
        if written:
            logger.warning("%s", message)
            self._reload.set()  # crawl it at its new address from now on
        else:
            logger.info("%s", message)

    def _note_health(self, source: str, state: str, reason: str) -> None:
        before = self._health.get(source)
        self._health[source] = state
        if state == before or state == "unknown":
            return
        if state in UNHEALTHY:
            logger.warning("source %s is unhealthy (%s): %s", source, state, reason)
        elif before in UNHEALTHY:
            logger.info("source %s recovered", source)

    def _mark_run(self, pid: int, status: str, reason: str) -> None:
        assert self._engine is not None
        try:
            with make_sessionmaker(self._engine).begin() as session:
                session.execute(
                    update(CrawlRun)
                    .where(CrawlRun.pid == pid, CrawlRun.status == "running")
                    .values(status=status, finish_reason=reason, finished_at=datetime.now(UTC))
                )
        except SQLAlchemyError:
            logger.error("Cannot update the run row of crawl process %d", pid, exc_info=True)

    def _close_orphaned_runs(self) -> None:
        """Runs left 'running' by crawls that no longer exist (the machine or the daemon was
        killed mid-crawl) are marked interrupted."""
        assert self._engine is not None
        active: set[int] = set()
        if self.config.cluster is not None:
            from crawler.cluster.frontier import Frontier

            active = set(Frontier(self.config.cluster).active_runs())
        with make_sessionmaker(self._engine).begin() as session:
            for run in session.scalars(select(CrawlRun).where(CrawlRun.status == "running")):
                if run.id in active:
                    continue  # a distributed crawl the workers are still at
                if run.pid is None or not _alive(run.pid):
                    run.status = "interrupted"
                    run.finish_reason = "the crawl process ended without closing its run"
                    run.finished_at = run.finished_at or datetime.now(UTC)


class SpreadInterval(IntervalTrigger):
    """Every ``interval`` exactly, on a grid of the source's own phase within it.

    The phase comes from the source's name (its CRC-32 as a fraction of the interval), so a
    thousand sources with one ``every`` poll evenly spread over it rather than in one burst,
    as Prometheus spreads its scrapes, and each source keeps its place across restarts. After
    a turn the next one is the grid's first point more than half an interval later: a late
    turn does not push the later ones back (APScheduler's own jitter is added to the previous
    turn's time, so a source's polls drift apart by half the jitter each turn, and an article
    could wait more than ``every``), and a source crawled off its grid (at once, when it is
    new or its interval changed) is not polled again within half an interval.
    """

    @classmethod
    def of(cls, name: str, every: timedelta) -> SpreadInterval:
        # Phases fall on whole seconds: the sources due in one second are handed over in one
        # wake-up of the scheduler (its job-store reads and the engine's run-row writes are
        # shared by them), not one each; 10,000 sources every 3 minutes still spread over
        # 180 distinct seconds.
        phase = math.floor(every.total_seconds() * zlib.crc32(name.encode("utf-8")) / 2**32)
        return cls(
            seconds=every.total_seconds(),
            start_date=_GRID_ORIGIN + timedelta(seconds=phase),
            timezone=UTC,
        )

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        after = (now if previous_fire_time is None else previous_fire_time) + self.interval / 2
        return self.first_after(after)

    def first_after(self, when: datetime) -> datetime:
        """The grid's first point after ``when``."""
        turns = math.floor((when - self.start_date).total_seconds() / self.interval_length) + 1
        return (self.start_date + turns * self.interval).astimezone(self.timezone)


def _symptoms(run: CrawlRun) -> bool:
    """Whether a crawl that did not fail may show a problem worth reading the history for
    (storage.diagnostics): it stored articles (their length), half its pages gave no text,
    or everything its listings listed was too old. A crawl answered 304 shows none."""
    if run.finish_reason == "not_modified":
        return False
    articles, listed = run.articles_fetched or 0, run.listed or 0
    return bool(
        run.new
        or (articles and 2 * (run.empty or 0) >= articles)
        or (listed and (run.too_old or 0) >= listed)
    )


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = [(seconds // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
