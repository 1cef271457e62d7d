"""The crawl engine's one database writer.

Everything a crawl writes (batches of articles, crawl-run rows, listings' validators) goes
through one ``DbWriter``: jobs run one after another in a thread off the reactor, and the jobs
queued while one transaction ran go together into the next, each in its own savepoint. With
thousands of sources finishing runs, their rows cost one commit per batch, not one each; and
SQLite, which takes one writer at a time, never sees this engine's writes compete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from twisted.internet import defer, threads
from twisted.python.failure import Failure

from storage import stories
from storage.engine import make_sessionmaker

logger = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[Session], Any]


class DbWriter:
    def __init__(self, engine: Engine, story_window: timedelta | None = None) -> None:
        """Writes through ``engine`` (the crawler's writing engine, ``crawler.scrapy.database``,
        which disposes of it)."""
        self.engine = engine
        if story_window is not None:
            stories.set_window(self.engine, story_window)
        self.sessions = make_sessionmaker(self.engine)
        self._queue: list[tuple[Job, defer.Deferred[Any]]] = []
        self._busy = False
        self._drained: list[defer.Deferred[None]] = []

    def submit(self, job: Callable[[Session], T]) -> defer.Deferred[T]:
        """Run ``job(session)`` in the writer's next transaction; the Deferred fires (on the
        reactor thread) with its result once that transaction has committed, or fails with
        what the job or the commit raised."""
        done: defer.Deferred[T] = defer.Deferred()
        self._queue.append((job, done))
        self._next()
        return done

    @property
    def idle(self) -> bool:
        return not self._busy and not self._queue

    def drained(self) -> defer.Deferred[None]:
        """Fires once every job submitted so far has run."""
        if self.idle:
            return defer.succeed(None)
        waiter: defer.Deferred[None] = defer.Deferred()
        self._drained.append(waiter)
        return waiter

    def _next(self) -> None:
        if self._busy:
            return
        if not self._queue:
            waiters, self._drained = self._drained, []
            for waiter in waiters:
                waiter.callback(None)
            return
        batch, self._queue = self._queue, []
        self._busy = True
        ran = threads.deferToThread(self._run, [job for job, _ in batch])
        ran.addBoth(self._ran, [done for _, done in batch])

    def _run(self, jobs: list[Job]) -> list[tuple[bool, Any]]:
        results: list[tuple[bool, Any]] = []
        with self.sessions.begin() as session:
            if len(jobs) == 1:
                # Alone in its transaction, a job needs no savepoint (10% of a writer's time
                # went to releasing them): if it fails, the transaction rolls back.
                return [(True, jobs[0](session))]
            for job in jobs:
                try:
                    with session.begin_nested():
                        results.append((True, job(session)))
                except Exception:
                    results.append((False, Failure()))
        return results

    def _ran(self, outcome: Any, waiting: list[defer.Deferred[Any]]) -> None:
        self._busy = False
        if isinstance(outcome, Failure):
            # The commit itself failed: nothing of the batch was stored.
            logger.error(
                "A write of %d jobs failed",
                len(waiting),
                exc_info=(outcome.type, outcome.value, outcome.getTracebackObject()),
            )
            results: list[tuple[bool, Any]] = [(False, outcome)] * len(waiting)
        else:
            results = outcome
        for done, (ok, value) in zip(waiting, results, strict=True):
            if ok:
                done.callback(value)
            else:
                done.errback(value)
        self._next()
