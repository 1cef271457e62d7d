"""A cluster worker's share of the runs: one long-lived engine takes part in every run.

`presswatch worker` runs the ``news`` spider in serve mode with ``-a cluster=true``. Twice a second
this joins the runs the daemon has announced in the shared frontier (``crawler.cluster.frontier``):
each becomes a run in the spider's run book (the row is the daemon's), its seeds are taken, and its
requests come and go through the frontier (``crawler.cluster.scheduler.ClusterScheduler``). When the
worker has nothing of a run in hand (no request out, every page stored), its counts since the last
report go into the run's row and its processing list for the run is cleared; the worker that finds
nothing of a run left anywhere closes the row. A run abandoned at the daemon's time limit is left.
Heartbeats and the reaping of dead workers' holdings run here too.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis
from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import task

from crawler.cluster.frontier import Frontier, new_worker_id
from crawler.config import ConfigError
from crawler.scrapy.sourceruns import SourceRun, run_counts
from storage import runs

if TYPE_CHECKING:
    from crawler.scrapy.spiders.news import NewsSpider

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.5
# Meta of the request that wakes the engine's request loop (see ClusterShare.tick).
WAKE_META = "pw_wake"


class ClusterShare:
    def __init__(self, spider: NewsSpider) -> None:
        cluster = spider.config.cluster
        assert cluster is not None
        self.spider = spider
        self.cluster = cluster
        self.frontier = Frontier(cluster)
        self.worker = new_worker_id()
        self.joined: dict[int, SourceRun] = {}
        self._left: set[int] = set()
        self._reported: dict[int, runs.RunCounts] = {}
        self._loops: list[task.LoopingCall] = []
        self._wake = Request("data:,", meta={WAKE_META: True}, dont_filter=True)

    def settings(self) -> dict[str, Any]:
        return {"SCHEDULER": "crawler.cluster.scheduler.ClusterScheduler"}

    def start(self) -> None:
        self.frontier.redis.ping()
        self.spider.crawler.signals.connect(self._wake_only, signal=signals.request_scheduled)
        self.heartbeat()
        for call, seconds in (
            (self.tick, TICK_SECONDS),
            (self.heartbeat, self.cluster.heartbeat.total_seconds() / 2),
        ):
            loop = task.LoopingCall(call)
            loop.start(seconds, now=True)
            self._loops.append(loop)
        logger.info("presswatch worker %s: taking part in every announced run", self.worker)

    def run_ids(self) -> list[int]:
        return list(self.joined)

    def took(self, run_id: int) -> None:
        """A request of ``run_id`` taken from the frontier is this worker's until done."""
        run = self.joined.get(run_id)
        if run is not None:
            self.spider.runs.taken(run)

    def released(self, run_id: int) -> None:
        """A request of ``run_id`` this worker took went back to the frontier (redirected or
        retried): no longer this worker's."""
        run = self.joined.get(run_id)
        if run is not None:
            self.spider.runs.done(run)

    # -- every half second ----------------------------------------------------------------------

    def heartbeat(self) -> None:
        try:
            self.frontier.heartbeat(self.worker)
            given_back = self.frontier.reap()
        except redis.RedisError:
            logger.warning("Cannot reach the frontier for a heartbeat", exc_info=True)
            return
        if given_back:
            logger.info("gave back %d requests held by dead workers", given_back)

    def tick(self) -> None:
        try:
            self._join_new_runs()
            self._settle_idle_runs()
        except (redis.RedisError, SQLAlchemyError):
            # Not a reason to leave a run: tried again at the next tick.
            logger.warning("Cannot settle this worker's runs", exc_info=True)
        self._wake_engine()

    def _wake_engine(self) -> None:
        """Another worker may push requests at any moment: have the engine ask the scheduler
        for them now rather than at its idle heartbeat (5 s). Scrapy's public way to wake its
        request loop is ``engine.crawl()``; the request given is dropped before the scheduler
        (``_wake_only``: an ``IgnoreRequest`` raised by a ``request_scheduled`` handler), and
        the loop runs all the same."""
        engine = self.spider.crawler.engine
        if engine is not None and engine.spider is not None:
            engine.crawl(self._wake)

    @staticmethod
    def _wake_only(request: Request, **_: Any) -> None:
        if request.meta.get(WAKE_META):
            raise IgnoreRequest("wakes the engine; not a request")

    def _join_new_runs(self) -> None:
        for run_id, name in self.frontier.active_runs().items():
            if run_id in self.joined or run_id in self._left:
                continue
            if any(run.name == name for run in self.joined.values()):
                continue  # an earlier run of the source is still being settled here

            try:
                source = self.spider.config.source(name)
            except ConfigError:
                logger.warning("run %d is of source %s, which this config lacks", run_id, name)
                self._left.add(run_id)
                continue
            validators = self.spider.validators_of([name]).get(name, {})
            self.joined[run_id] = self.spider.runs.open(source, validators, run_id=run_id)
            self.frontier.join(run_id, self.worker)
            self._take_seeds(run_id)
            logger.info("run %d (%s): joined", run_id, name)

    def _take_seeds(self, run_id: int) -> bool:
        """Seeds of the run (its first, or given back by a worker that died holding them)."""
        run = self.joined[run_id]
        engine = self.spider.crawler.engine
        assert engine is not None
        taken = False
        while (seed := self.frontier.take_seed(run_id, self.worker)) is not None:
            engine.crawl(self.spider.listings.seed(run, seed.kind, seed.url))
            taken = True
        return taken

    def _settle_idle_runs(self) -> None:
        settled = self.spider.settled()
        for run_id, run in list(self.joined.items()):
            state = self.frontier.state(run_id)
            if state == "abandoned":
                self._leave(run_id, "abandoned at the daemon's time limit", finished=False)
                continue
            if run.pending > 0 or not settled:
                continue
            # Idle: all this worker took of the run is done (pages fetched, links pushed,
            # articles stored).
            self._report(run_id)
            self.frontier.done_with_all(run_id, self.worker)
            if self._take_seeds(run_id):
                continue
            if state == "finished" or self.frontier.pending(run_id) == 0:
                self._close_if_last(run_id)
                self._leave(run_id, "nothing of it left", finished=True)

    def _report(self, run_id: int) -> None:
        """Add what this worker counted of the run since its last report to the run's row."""
        run = self.joined[run_id]
        now = run_counts(run.counts)
        before = self._reported.get(run_id)
        delta = now.minus(before) if before is not None else now
        if delta.any():
            with self.spider.writer.sessions.begin() as session:
                runs.add_run_counts(session, run_id, delta)
        self._reported[run_id] = now

    def _close_if_last(self, run_id: int) -> None:
        """The worker that finds nothing of the run left anywhere closes its row."""
        if self.frontier.pending(run_id) == 0 and self.frontier.claim_final(run_id):
            with self.spider.writer.sessions.begin() as session:
                runs.close_run(
                    session,
                    run_id,
                    finished_at=datetime.now(UTC),
                    status="finished",
                    finish_reason="finished",
                )
            logger.info("run %d (%s): finished; its row closed", run_id, self.joined[run_id].name)

    def _leave(self, run_id: int, why: str, *, finished: bool) -> None:
        run = self.joined.pop(run_id)
        self._left.add(run_id)
        self._reported.pop(run_id, None)
        self.spider.runs.leave(run, finished=finished)
        logger.info("run %d (%s): left (%s)", run_id, run.name, why)

    # -- stopping -------------------------------------------------------------------------------

    def close(self, reason: str) -> None:
        """Report every run's share; stopped mid-run, give back what this worker holds."""
        for loop in self._loops:
            if loop.running:
                loop.stop()
        for run_id in list(self.joined):
            try:
                self._report(run_id)
                if reason != "finished":
                    self.frontier.requeue(run_id, self.worker)
            except Exception:
                logger.error("Cannot close this worker's part of run %s", run_id, exc_info=True)
            self._leave(run_id, f"the worker stops ({reason})", finished=False)
        try:
            self.frontier.leave(self.worker)
        except redis.RedisError:
            logger.warning("Cannot leave the frontier", exc_info=True)
