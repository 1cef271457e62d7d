"""Each source's run inside one crawl engine that carries many sources at once.

A ``SourceRun`` is what a crawl process used to be for one source: its run row, its counts, its
listings' validators, the URLs it asked for. The ``RunBook`` keeps the runs in progress and the
sources waiting for their turn, and accounts for everything a run has out: every request the
spider makes for it, until its callback or errback has finished, and every page it yields, until
the page is stored or dropped. When nothing of a run is out, the run is over: its row and its
listings' validators are written (through the engine's one writer), and whoever waits for it
(``presswatch crawl``'s summary, the daemon, urgent alerts) hears of it. A source's run ends when
its own work is done, whatever the other sources are doing.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from twisted.python.failure import Failure

from crawler.config import SourceConfig
from crawler.scrapy.dbwriter import DbWriter
from storage import emptypages, runs
from storage import listings as listing_store

logger = logging.getLogger(__name__)

SOURCE_META = "pw_source"
RUN_META = "pw_run"


# The ``area/event`` counters each of the run row's counts (``storage.runs.NUMBERS``) adds up.
COUNTERS: dict[str, tuple[str, ...]] = {
    "pages_fetched": ("fetch/pages",),
    "articles_fetched": ("fetch/articles",),
    "new": ("store/new",),
    "updated": ("store/updated",),
    "duplicate": ("store/duplicate",),
    "unchanged": ("store/unchanged",),
    "empty": ("extract/empty",),
    "flagged": ("flag/articles",),
    "listed": ("discover/feed_entries", "discover/sitemap_entries"),
    "too_old": ("discover/too_old",),
}


def run_counts(counts: Counter[str] | dict[str, object]) -> runs.RunCounts:
    """The run row's counts from a run's (or a crawler's) ``area/event`` counters: each number
    from its counters (``COUNTERS``), the errors by kind from the ``error/<kind>`` ones."""

    def get(key: str) -> int:
        value = counts.get(key, 0)
        return value if isinstance(value, int) else 0

    errors = {
        key.removeprefix("error/"): value
        for key, value in counts.items()
        if key.startswith("error/") and isinstance(value, int) and value
    }
    return runs.RunCounts(
        **{name: sum(get(key) for key in COUNTERS[name]) for name in runs.NUMBERS},
        errors=errors,
    )


def status_of(reason: str) -> str:
    if reason in ("finished", "not_modified"):
        return "finished"
    if "timeout" in reason:
        return "timeout"
    if reason in ("shutdown", "cancelled", "stopped"):
        return "stopped"
    return "failed"


@dataclass(eq=False)
class SourceRun:
    """One source's run: what it has out, what it counted, what it learnt of its listings."""

    source: SourceConfig
    token: int  # in every request's meta (RUN_META): a request of an ended run is dropped
    started_at: datetime
    age_cutoff: datetime
    pattern: re.Pattern[str] | None
    validators: dict[str, listing_store.ListingState]
    started: float = field(default_factory=time.monotonic)
    run_id: int | None = None  # the row's id, once written (cluster mode: the daemon's)
    external: bool = False  # cluster mode: the run is the cluster's, closed by the frontier
    counts: Counter[str] = field(default_factory=Counter)
    pending: int = 0
    ending: bool = False
    listings_changed: bool = False  # a listing answered with content (not 304), or a page
    fetched_listings: dict[str, listing_store.ListingState] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)
    requested: set[str] = field(default_factory=set)
    listings: set[str] = field(default_factory=set)
    known: dict[str, datetime | None] = field(default_factory=dict)
    empty: dict[str, emptypages.Remembered] = field(default_factory=dict)  # without text

    @property
    def name(self) -> str:
        return self.source.name

    def allowed(self, host: str) -> bool:
        return any(host == d or host.endswith("." + d) for d in self.source.domains)


@dataclass(frozen=True, slots=True)
class EndedRun:
    source: str
    run_id: int | None
    status: str
    reason: str
    counts: runs.RunCounts
    seconds: float
    started_at: datetime


@dataclass(eq=False)
class _Batch:
    """What one writer job took: the runs it opened and the ends it wrote."""

    starts: list[SourceRun] = field(default_factory=list)
    ends: list[tuple[SourceRun, EndedRun, dict[str, listing_store.ListingState]]] = field(
        default_factory=list
    )


class RunBook:
    """The runs in progress and the sources waiting, at most ``limit`` runs at once.

    Run rows are written in batches: the runs opened and ended while the writer was busy go
    into its next transaction together (thousands of sources polled at once cost a few
    statements, not a few per source)."""

    def __init__(
        self,
        writer: DbWriter,
        *,
        limit: int,
        max_article_age: timedelta,
        time_limit: timedelta | None = None,
        count_global: Callable[[str, int], None] | None = None,
        keep_ended: bool = True,
    ) -> None:
        self.writer = writer
        self.limit = max(1, limit)
        self.max_article_age = max_article_age
        self.time_limit = time_limit
        self._count_global = count_global
        self._keep_ended = keep_ended  # a long-lived engine reports ends and keeps none
        self.active: dict[str, SourceRun] = {}
        self.waiting: dict[str, tuple[SourceConfig, float]] = {}  # in order: when it came due
        self.ended: list[EndedRun] = []
        self.running = 0  # runs in progress, not ending
        self._tokens = 0
        self._writes_out = 0
        self._lock = threading.Lock()
        self._starts: list[SourceRun] = []
        self._ends: list[tuple[SourceRun, EndedRun, dict[str, listing_store.ListingState]]] = []
        self._write_queued = False
        # Called with each run that starts (to request its seeds) and each that ends.
        self.on_start: list[Callable[[SourceRun], None]] = []
        self.on_end: list[Callable[[EndedRun], None]] = []

    # -- sources coming due ---------------------------------------------------------------------

    def due(self, source: SourceConfig) -> bool:
        """Queue ``source`` for a run; False when it is running or waiting already."""
        if source.name in self.active or source.name in self.waiting:
            return False
        self.waiting[source.name] = (source, time.monotonic())
        return True

    def forget(self, name: str) -> None:
        """A source removed from the config: it waits no more (a run in progress finishes)."""
        self.waiting.pop(name, None)

    def start_waiting(
        self, read_validators: Callable[[list[str]], dict[str, dict[str, Any]]]
    ) -> list[SourceRun]:
        """Start as many waiting sources as the limit allows, their validators read at once."""
        free = self.limit - self.running
        if free <= 0 or not self.waiting:
            return []
        names = list(itertools.islice(self.waiting, free))
        validators = read_validators(names)
        started = []
        for name in names:
            source, _ = self.waiting.pop(name)
            started.append(self.open(source, validators.get(name, {})))
        return started

    @property
    def busy(self) -> bool:
        return bool(self.active or self.waiting or self._writes_out)

    def most_overdue(self) -> float:
        """Seconds the longest-waiting source has waited for its turn."""
        if not self.waiting:
            return 0.0
        return time.monotonic() - next(iter(self.waiting.values()))[1]

    # -- a run's life ---------------------------------------------------------------------------

    def open(
        self,
        source: SourceConfig,
        validators: dict[str, listing_store.ListingState],
        *,
        run_id: int | None = None,
    ) -> SourceRun:
        """Start a run of ``source``; its row is written with the writer's next batch
        (``run_id``: the cluster's, whose row the daemon wrote)."""
        self._tokens += 1
        now = datetime.now(UTC)
        run = SourceRun(
            source=source,
            token=run_id if run_id is not None else self._tokens,
            started_at=now,
            age_cutoff=now - self.max_article_age,
            pattern=re.compile(source.article_pattern) if source.article_pattern else None,
            validators=validators,
            run_id=run_id,
            external=run_id is not None,
        )
        self.active[source.name] = run
        self.running += 1
        if not run.external:
            with self._lock:
                self._starts.append(run)
            self._queue_write()
        for listener in self.on_start:
            listener(run)
        return run

    def run_of(self, meta: dict[str, Any]) -> SourceRun | None:
        """The run a request (or an item) belongs to, if it is still in progress."""
        run = self.active.get(meta.get(SOURCE_META, ""))
        if run is None or run.token != meta.get(RUN_META) or run.ending:
            return None
        return run

    def count(self, run: SourceRun | None, key: str, value: int = 1) -> None:
        if run is not None:
            run.counts[key] += value
        if self._count_global is not None:
            self._count_global(key, value)

    def taken(self, run: SourceRun) -> None:
        """A request made or a page yielded for ``run``."""
        run.pending += 1

    def done(self, run: SourceRun | None) -> None:
        """A request's callback or errback has finished, or a page is stored or dropped."""
        if run is None or run.ending:
            return
        run.pending -= 1
        if run.pending <= 0 and not run.external:
            self.end(run, "not_modified" if self._not_modified(run) else "finished")

    @staticmethod
    def _not_modified(run: SourceRun) -> bool:
        return (
            not run.listings_changed
            and bool(run.counts.get("fetch/not_modified"))
            and not any(k.startswith("error/") for k in run.counts)
        )

    def overdue(self) -> list[SourceRun]:
        """Runs past the time limit."""
        if self.time_limit is None:
            return []
        limit = self.time_limit.total_seconds()
        now = time.monotonic()
        return [r for r in self.active.values() if not r.ending and now - r.started > limit]

    def end(self, run: SourceRun, reason: str) -> None:
        """End ``run``: its row and (when it finished) its listings' validators go with the
        writer's next batch, and it is reported once written; what it still had out is
        dropped as it comes back."""
        if run.ending:
            return
        run.ending = True
        self.running -= 1
        status = status_of(reason)
        ended = EndedRun(
            run.name,
            run.run_id,
            status,
            reason,
            run_counts(run.counts),
            time.monotonic() - run.started,
            run.started_at,
        )
        states = self._states_to_save(run) if status == "finished" else {}
        with self._lock:
            self._ends.append((run, ended, states))
        self._queue_write()

    def leave(self, run: SourceRun, *, finished: bool) -> None:
        """This worker is done with an external run (a cluster run; its row is the cluster's):
        the validators of the listings it read are saved if the run finished, and its share
        is reported to the listeners (urgent alerts for what it stored)."""
        if self.active.get(run.name) is not run:
            return
        del self.active[run.name]
        if not run.ending:
            run.ending = True
            self.running -= 1
        ended = EndedRun(
            run.name,
            run.run_id,
            "finished" if finished else "stopped",
            "finished" if finished else "left",
            run_counts(run.counts),
            time.monotonic() - run.started,
            run.started_at,
        )
        states = self._states_to_save(run) if finished else {}
        if states:
            now = datetime.now(UTC)
            self._writes_out += 1

            def save(session: Session) -> None:
                listing_store.save_listing_states(session, run.name, states, now)

            self.writer.submit(save).addBoth(self._saved)
        for listener in self.on_end:
            try:
                listener(ended)
            except Exception:
                logger.error("Reporting the end of %s's share failed", run.name, exc_info=True)

    def _saved(self, outcome: Any) -> None:
        self._writes_out -= 1
        if isinstance(outcome, Failure):
            logger.error(
                "Cannot save the listings' validators",
                exc_info=(outcome.type, outcome.value, outcome.getTracebackObject()),
            )

    def end_all(self, reason: str) -> None:
        for run in list(self.active.values()):
            if not run.external:
                self.end(run, reason)
        self.waiting.clear()

    @staticmethod
    def _states_to_save(run: SourceRun) -> dict[str, listing_store.ListingState]:
        """Validators for the next run's conditional requests; a listing with an article that
        failed to come home is saved without them, so it is read whole next time."""
        return {
            key: state
            if key not in run.incomplete
            else listing_store.ListingState(state.url, None, None, state.children)
            for key, state in run.fetched_listings.items()
        }

    # -- writing --------------------------------------------------------------------------------

    def _queue_write(self) -> None:
        with self._lock:
            if self._write_queued:
                return
            self._write_queued = True
        self._writes_out += 1
        batch = _Batch()
        self.writer.submit(lambda session: self._write(session, batch)).addBoth(
            self._written, batch
        )

    def _write(self, session: Session, batch: _Batch) -> None:
        """In the writer's thread: every start and end queued so far."""
        with self._lock:
            self._write_queued = False
            batch.starts, self._starts = self._starts, []
            batch.ends, self._ends = self._ends, []
        pid = os.getpid()
        ids = runs.start_runs(session, [(r.name, r.started_at, pid) for r in batch.starts])
        for run, run_id in zip(batch.starts, ids, strict=True):
            run.run_id = run_id  # read by the ends below, in this thread
        now = datetime.now(UTC)
        runs.finish_runs(
            session,
            [
                runs.RunEnd(run.run_id, now, ended.status, ended.reason, ended.counts)
                for run, ended, _ in batch.ends
                if run.run_id is not None and not run.external
            ],
        )
        listing_store.save_many_listing_states(
            session, [(run.name, states) for run, _, states in batch.ends if states], now
        )

    def _written(self, outcome: Any, batch: _Batch) -> None:
        self._writes_out -= 1
        if isinstance(outcome, Failure):
            logger.error(
                "Cannot write %d crawl runs",
                len(batch.starts) + len(batch.ends),
                exc_info=(outcome.type, outcome.value, outcome.getTracebackObject()),
            )
            # Rolled back: those ids may be handed out again (SQLite) and must not be
            # written to. The runs go on without a row; their ends are reported without one.
            for run in batch.starts:
                run.run_id = None
        for run, ended, _ in batch.ends:
            if self.active.get(run.name) is run:
                del self.active[run.name]
            reported = dataclasses.replace(ended, run_id=run.run_id)
            if self._keep_ended:
                self.ended.append(reported)
            for listener in self.on_end:
                try:
                    listener(reported)
                except Exception:
                    logger.error("Reporting the end of %s's run failed", run.name, exc_info=True)
