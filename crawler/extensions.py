"""Crawl-run accounting, progress lines, and urgent alerts when a crawl ends."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import task, threads
from twisted.internet.defer import Deferred

from crawler.config import Config
from storage import repository
from storage.engine import make_engine, make_sessionmaker

logger = logging.getLogger(__name__)
progress_logger = logging.getLogger("presswatch.progress")


def run_counts(stats: dict[str, object]) -> repository.RunCounts:
    def get(key: str) -> int:
        value = stats.get(key, 0)
        return value if isinstance(value, int) else 0

    errors = {
        key.removeprefix("error/"): value
        for key, value in stats.items()
        if key.startswith("error/") and isinstance(value, int)
    }
    return repository.RunCounts(
        pages_fetched=get("fetch/pages"),
        articles_fetched=get("fetch/articles"),
        new=get("store/new"),
        updated=get("store/updated"),
        duplicate=get("store/duplicate"),
        unchanged=get("store/unchanged"),
        empty=get("extract/empty"),
        flagged=get("flag/articles"),
        errors=errors,
    )


class CrawlRunRecorder:
    """Writes the crawl-run row: opened when the spider opens, completed when it closes.

    A crawl killed outright leaves its row ``running``; whoever reads runs (the daemon, status)
    treats a running row whose process is gone as interrupted.
    """

    def __init__(self, crawler: Crawler) -> None:
        url = crawler.settings.get("PRESSWATCH_DATABASE_URL")
        if not url:
            raise NotConfigured("PRESSWATCH_DATABASE_URL is not set")
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.sessions = make_sessionmaker(make_engine(url))
        self.run_id: int | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        source = getattr(getattr(spider, "source", None), "name", None)
        if source is None:
            return
        cluster_run = getattr(spider, "run_id", None)
        if cluster_run is not None:
            # One worker's share of a run the daemon opened: the spider adds its counts.
            self.run_id = cluster_run
            self.stats.set_value("presswatch/run_id", cluster_run)
            return
        try:
            with self.sessions.begin() as session:
                self.run_id = repository.start_run(session, source, datetime.now(UTC), os.getpid())
        except SQLAlchemyError:
            logger.error("Cannot record the crawl run", exc_info=True)
            return
        self.stats.set_value("presswatch/run_id", self.run_id)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.run_id is None:
            return
        if getattr(spider, "run_id", None) is not None:
            return  # a worker's share of a distributed run: the spider reports it
        status = (
            "finished"
            if reason == "finished"
            else "timeout"
            if "timeout" in reason
            else ("stopped" if reason in ("shutdown", "cancelled") else "failed")
        )
        try:
            with self.sessions.begin() as session:
                repository.finish_run(
                    session,
                    self.run_id,
                    finished_at=datetime.now(UTC),
                    status=status,
                    finish_reason=reason,
                    counts=run_counts(self.stats.get_stats()),
                )
        except SQLAlchemyError:
            logger.error("Cannot complete crawl run %s", self.run_id, exc_info=True)


class ProgressReporter:
    """Logs one line per source every ``PRESSWATCH_PROGRESS_SECONDS`` while a crawl runs."""

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
        source = getattr(spider, "source", None)
        if source is not None:
            progress_logger.info(
                "%s: started (%d feeds, %d sitemaps, %d pages)",
                source.name,
                len(source.feeds),
                len(source.sitemaps),
                len(source.pages),
            )
        self._loop.start(self.interval, now=False)

    def spider_closed(self, spider: Spider) -> None:
        if self._loop.running:
            self._loop.stop()

    def report(self) -> None:
        c = run_counts(self.stats.get_stats())
        source = getattr(getattr(self.crawler.spider, "source", None), "name", "?")
        progress_logger.info(
            "%s: %d pages fetched, %d articles: %d new, %d updated, %d duplicate, %d errors",
            source,
            c.pages_fetched,
            c.articles_fetched,
            c.new,
            c.updated,
            c.duplicate + c.unchanged,
            sum(c.errors.values()),
        )


class UrgentAlerts:
    """Sends the articles this crawl flagged for an ``urgent`` watchlist to its watchers as
    soon as the crawl has stored them (after the pipelines closed), through the digest outbox,
    so the next digest does not repeat them. Alerts left pending by an earlier failure are
    retried too."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.get("PRESSWATCH_DATABASE_URL"):
            raise NotConfigured("PRESSWATCH_DATABASE_URL is not set")
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.since: datetime | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        self.since = datetime.now(UTC)

    def spider_closed(self, spider: Spider) -> Deferred[None] | None:
        config = getattr(spider, "config", None)
        if config is None or self.since is None:
            return None
        urgent = {w.name for w in config.watchlists if w.priority == "urgent"}
        if not any(set(w.watchlists) & urgent for w in config.watchers):
            return None
        return threads.deferToThread(self._send, config, self.since)

    def _send(self, config: Config, since: datetime) -> None:
        from crawler.watch.outbox import Outbox

        engine = make_engine(config.database_url)
        try:
            for outcome in Outbox(engine, config).run_alerts(since):
                if outcome.kind == "alert":
                    self.stats.inc_value(f"alert/{outcome.status}")
        except SQLAlchemyError:
            logger.error("Cannot send the urgent alerts", exc_info=True)
        finally:
            engine.dispose()
