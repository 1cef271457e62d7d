"""Progress lines while a crawl runs, and urgent alerts as each source's run ends.

(Each source's run row is written by the spider's run book, ``crawler.scrapy.sourceruns``.)
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import maybe_deferred_to_future
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import defer, task, threads

from crawler.config import Config
from crawler.scrapy.database import database_of
from crawler.scrapy.sourceruns import EndedRun, RunBook, SourceRun, run_counts

logger = logging.getLogger(__name__)
progress_logger = logging.getLogger("presswatch.progress")
SOURCE_LINES_UP_TO = 20


def _runs(spider: Spider | None) -> RunBook | None:
    return getattr(spider, "runs", None)


class ProgressReporter:
    """Logs one line every ``PRESSWATCH_PROGRESS_SECONDS`` while a crawl runs: sources done,
    in progress and waiting, and what all of them fetched and stored."""

    def __init__(self, crawler: Crawler) -> None:
        self.interval: float = crawler.settings.getfloat("PRESSWATCH_PROGRESS_SECONDS")
        if self.interval <= 0:
            raise NotConfigured  # off unless asked for; no warning
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.crawler = crawler
        self._loop = task.LoopingCall(self.report)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        runs = _runs(spider)
        # A line per source's start and end for a few sources; past that, the periodic line.
        if runs is not None and len(getattr(spider, "_names", ())) <= SOURCE_LINES_UP_TO:
            runs.on_start.append(self.run_started)
            runs.on_end.append(self.run_ended)
        self._loop.start(self.interval, now=False)

    def run_started(self, run: SourceRun) -> None:
        source = run.source
        progress_logger.info(
            "%s: started (%d feeds, %d sitemaps, %d pages)",
            source.name,
            len(source.feeds),
            len(source.sitemaps),
            len(source.pages),
        )

    def run_ended(self, ended: EndedRun) -> None:
        c = ended.counts
        progress_logger.info(
            "%s: %s in %.1f s: %d pages, %d new, %d updated, %d flagged, %d errors",
            ended.source,
            ended.reason if ended.status != "finished" else ended.status,
            ended.seconds,
            c.pages_fetched,
            c.new,
            c.updated,
            c.flagged,
            sum(c.errors.values()),
        )

    def spider_closed(self, spider: Spider) -> None:
        if self._loop.running:
            self._loop.stop()

    def report(self) -> None:
        c = run_counts(self.stats.get_stats())
        runs = _runs(self.crawler.spider)
        where = ""
        if runs is not None:
            where = (
                f"{len(runs.ended)} sources done, {runs.running} in progress, "
                f"{len(runs.waiting)} waiting; "
            )
        progress_logger.info(
            "%s%d pages fetched, %d articles: %d new, %d updated, %d duplicate, %d errors",
            where,
            c.pages_fetched,
            c.articles_fetched,
            c.new,
            c.updated,
            c.duplicate + c.unchanged,
            sum(c.errors.values()),
        )


class UrgentAlerts:
    """Sends the articles a source's run flagged for an ``urgent`` watchlist to its watchers
    as soon as that run has stored them, through the digest outbox, so the next digest does not
    repeat them (alerts left pending by an earlier failure are retried too). Sending happens in
    a thread of its own, one send at a time; runs that end while one is out are covered by the
    next, so a slow mail server delays alerts, never a crawl."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.get("PRESSWATCH_DATABASE_URL"):
            raise NotConfigured("PRESSWATCH_DATABASE_URL is not set")
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.crawler = crawler
        self._since: datetime | None = None  # the earliest start of the runs not yet covered
        self._sending: defer.Deferred[None] | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        runs = _runs(spider)
        if runs is not None:
            runs.on_end.append(self.run_ended)

    def _config(self) -> Config | None:
        config: Config | None = getattr(self.crawler.spider, "config", None)
        if config is None:
            return None
        urgent = {w.name for w in config.watchlists if w.priority == "urgent"}
        if not any(set(w.watchlists) & urgent for w in config.watchers):
            return None
        return config

    def run_ended(self, ended: EndedRun) -> None:
        if self._config() is None:
            return
        if self._since is None or ended.started_at < self._since:
            self._since = ended.started_at
        self._next()

    def _next(self) -> None:
        config = self._config()
        if self._sending is not None or self._since is None or config is None:
            return
        since, self._since = self._since, None
        engine = database_of(self.crawler, config.database_url).writer
        self._sending = threads.deferToThread(self._send, engine, config, since)
        self._sending.addBoth(self._sent)

    def _sent(self, _: object) -> None:
        self._sending = None
        self._next()

    async def spider_closed(self, spider: Spider) -> None:
        """The crawl waits for the alerts of its last runs."""
        runs = _runs(spider)

        def settled() -> bool:
            return self._sending is None and self._since is None and not (runs and runs.busy)

        if self._config() is None or settled():
            return
        waiting: defer.Deferred[None] = defer.Deferred()

        def check() -> None:
            if settled():
                loop.stop()
                waiting.callback(None)

        loop = task.LoopingCall(check)
        loop.start(0.1)
        await maybe_deferred_to_future(waiting)

    def _send(self, engine: Engine, config: Config, since: datetime) -> None:
        from crawler.digests.outbox import Outbox

        try:
            for outcome in Outbox(engine, config).run_alerts(since):
                if outcome.kind == "alert":
                    self.stats.inc_value(f"alert/{outcome.status}")
        except SQLAlchemyError:
            logger.error("Cannot send the urgent alerts", exc_info=True)
