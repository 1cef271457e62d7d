"""The daemon's jobs and their schedule: APScheduler's scheduler with its job store in presswatch's
own database, the module-level job functions it stores by reference, each source's crawl on a
grid of its own phase (``SpreadInterval``), and the adding, re-timing and removing of jobs when
the daemon starts or re-reads its config.

The job functions hand their work to the running daemon (``set_runner``): APScheduler stores a
job as a reference to a function and its arguments, so the functions' module and names must not
change, and they find the daemon here rather than in their arguments. (The jobs an older
presswatch stored, naming them where they were then, are pointed here at start:
``rehome_stored_jobs``.)
"""

from __future__ import annotations

import io
import logging
import math
import pickle
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from crawler.config import Config
from storage.engine import make_sessionmaker
from storage.schedule import (
    CRAWL_JOB_PREFIX,
    DIGEST_JOB_PREFIX,
    JOB_TABLE,
    job_states,
    set_job_state,
)

logger = logging.getLogger("presswatch.daemon")

JOB_PREFIX = CRAWL_JOB_PREFIX
DIGEST_PREFIX = DIGEST_JOB_PREFIX
CATCH_UP_PREFIX = "digest-catch-up:"
MAINTENANCE_JOB = "maintenance"
# Crawls due at start are spread this far apart, so they do not all start in one second.
START_STAGGER = timedelta(seconds=2)
NO_STAGGER = timedelta(0)
_GRID_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
# Where the job functions and SpreadInterval were defined before, which the jobs stored then name.
_FORMER_HOMES = ("crawler.daemon", "crawler.service.daemon")
_STORED_NAMES = frozenset({"run_crawl", "run_digest", "run_maintenance", "SpreadInterval"})


class JobRunner(Protocol):
    """What the jobs run: the daemon (``crawler.service.daemon.Daemon``)."""

    def crawl(self, source_name: str) -> None: ...

    def digest(self, watcher_name: str) -> None: ...

    def maintain(self) -> None: ...


# The running daemon, for the job functions (APScheduler stores jobs by reference and arguments).
_RUNNER: JobRunner | None = None


def set_runner(runner: JobRunner | None) -> None:
    """The daemon whose jobs run from now on (None once it stops)."""
    global _RUNNER
    _RUNNER = runner


def run_crawl(source: str) -> None:
    """The job of each source (module level, so the job store can name it)."""
    if _RUNNER is not None:
        _RUNNER.crawl(source)


def run_maintenance() -> None:
    if _RUNNER is not None:
        _RUNNER.maintain()


def run_digest(watcher: str) -> None:
    """The job of each watcher, on its schedule."""
    if _RUNNER is not None:
        _RUNNER.digest(watcher)


class _FormerJobState(pickle.Unpickler):
    """A stored job's state, its trigger's class taken from here where it was elsewhere."""

    rehomed = False

    def find_class(self, module: str, name: str) -> Any:
        if module in _FORMER_HOMES and name in _STORED_NAMES:
            self.rehomed = True
            return globals()[name]
        return super().find_class(module, name)


def rehome_stored_jobs(engine: Engine) -> int:
    """Point the jobs an older presswatch stored (naming ``crawler.daemon:run_crawl``, say) at
    this module, before the scheduler reads them: APScheduler would drop a job it cannot
    restore, and with it the source's turn and adapted interval. The number of jobs moved."""
    moved = 0
    with engine.begin() as connection:
        for job_id, state in job_states(connection):
            if not any(home.encode() in state for home in _FORMER_HOMES):
                continue
            unpickler = _FormerJobState(io.BytesIO(state))
            try:
                job = unpickler.load()
            except Exception:  # left to APScheduler, which logs it and drops the job
                continue
            if not isinstance(job, dict):
                continue
            module, _, name = str(job.get("func", "")).partition(":")
            if module in _FORMER_HOMES and name in _STORED_NAMES:
                job["func"] = f"{__name__}:{name}"
            elif not unpickler.rehomed:
                continue  # names a former home only in its arguments, say
            set_job_state(connection, job_id, pickle.dumps(job, pickle.HIGHEST_PROTOCOL))
            moved += 1
    if moved:
        logger.info("%d jobs stored by an older presswatch moved to %s", moved, __name__)
    return moved


def make_scheduler(config: Config, jobs_engine: Engine) -> Any:
    """APScheduler's background scheduler, its jobs stored through ``jobs_engine``."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    daemon = config.daemon
    return BackgroundScheduler(
        # Its own engine, with SQLite's deferred BEGIN: each of its transactions is one
        # statement, and looking for due jobs need not take the write lock the crawl
        # engine's writer wants.
        jobstores={"default": SQLAlchemyJobStore(engine=jobs_engine, tablename=JOB_TABLE)},
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


def sync_jobs(scheduler: Any, config: Config) -> None:
    """One job per configured source; jobs of removed sources go; a job whose interval
    changed, or a new one, is due at once (staggered)."""
    wanted = {f"{JOB_PREFIX}{s.name}": s for s in config.sources}
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            logger.info("source %s is no longer configured: unscheduled", job.id[len(JOB_PREFIX) :])
            job.remove()
    scheduler.add_job(
        run_maintenance,
        trigger=IntervalTrigger(
            seconds=config.daemon.maintenance_every.total_seconds(), timezone=UTC
        ),
        id=MAINTENANCE_JOB,
        name="maintenance",
        replace_existing=True,
    )
    sync_digest_jobs(scheduler, config)
    now = datetime.now(UTC)
    due = 0
    for job_id, source in wanted.items():
        seconds = source.every.total_seconds()
        existing = scheduler.get_job(job_id)
        if existing is not None:
            current = existing.trigger.interval
            low, high = source.interval_bounds
            adapted = config.daemon.adaptive and low <= current <= high
            if adapted or current.total_seconds() == seconds:
                if not isinstance(existing.trigger, SpreadInterval):  # stored before 12/2026
                    trigger = SpreadInterval.of(source.name, current)
                    turn = trigger.get_next_fire_time(None, now)
                    if existing.next_run_time is not None:  # overdue stays due
                        turn = min(turn, existing.next_run_time)
                    existing.modify(trigger=trigger, next_run_time=turn)
                continue  # keep its schedule (and what adapting it has learnt)
        scheduler.add_job(
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


def sync_digest_jobs(scheduler: Any, config: Config) -> None:
    """One job per watcher with a channel, on its schedule in its time zone."""
    from crawler.digests.outbox import schedule_trigger

    wanted = {f"{DIGEST_PREFIX}{w.name}": w for w in config.watchers if w.channels}
    for job in scheduler.get_jobs():
        if job.id.startswith(DIGEST_PREFIX) and job.id not in wanted:
            job.remove()
    for job_id, watcher in wanted.items():
        scheduler.add_job(
            run_digest,
            trigger=schedule_trigger(watcher),
            args=[watcher.name],
            id=job_id,
            name=f"digest {watcher.name}",
            executor="digests",
            replace_existing=True,
        )


def catch_up_digests(scheduler: Any, engine: Engine, config: Config) -> None:
    """A watcher whose scheduled time passed while the daemon was down gets one digest
    now (not one per missed time): read from when its digest last ran, not from the job
    store, so a restart never loses or doubles one."""
    from crawler.digests.outbox import schedule_trigger
    from storage.deliveries import last_digest_runs

    with make_sessionmaker(engine)() as session:
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
        scheduler.add_job(
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
