"""Each source's health as the daemon sees it after its runs: logged when it changes (once, not
at every crawl), told from what the daemon already knows when it can and read from the crawl
history when it must; a listing that moved for good is written into the config, once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from crawler.config import Config, ConfigError
from storage.diagnostics import Problem
from storage.engine import make_sessionmaker
from storage.health import UNHEALTHY, failed, quiet_reason, quiet_since, source_health
from storage.models import CrawlRun

logger = logging.getLogger("presswatch.daemon")


class SourceHealth:
    """The health of the configured sources, checked after each of their runs.

    ``config`` is the daemon's, replaced when it re-reads it; ``reader`` reads the crawl history
    without taking a write lock; ``on_config_changed`` is called when a moved listing was
    written into the config file (the daemon re-reads it).
    """

    def __init__(
        self, config: Config, reader: Engine, on_config_changed: Callable[[], None]
    ) -> None:
        self.config = config
        self._reader = reader
        self._on_config_changed = on_config_changed
        self._health: dict[str, str] = {}  # source -> last state logged
        # source -> (first crawl, last new article), once its health has been read
        self._known: dict[str, tuple[datetime, datetime | None]] = {}
        self._lock = threading.Lock()
        self._moves_seen: set[tuple[str, str]] = set()  # (source, listing) moves handled

    def first_pass(self, stopping: threading.Event) -> None:
        """Each source's health as it stands (logged once if unhealthy), until ``stopping``."""
        for source in self.config.sources:
            if stopping.is_set():
                return
            try:
                self.check(source.name)
            except SQLAlchemyError:
                logger.warning("Cannot read %s's health", source.name, exc_info=True)

    def check(self, source: str, run: CrawlRun | None = None) -> None:
        """Log a source's health when it changes (once, not at every crawl).

        After a crawl that did not fail, the source is healthy or quiet, which the daemon tells
        from what it already knows (its first crawl and last new article), without reading
        the crawl history again: 10,000 polls a round need not cost 40,000 queries. A failed
        crawl, or a source not yet known, is read from the run rows (``source_health``).
        """
        with self._lock:  # the report threads and the first health pass
            moves = self._check_locked(source, run)
        for problem in moves:  # a request each: not while holding the lock
            self._settle_move(source, problem)

    def _check_locked(self, source: str, run: CrawlRun | None) -> list[Problem]:
        """The source's health noted; the moved listings not handled yet returned."""
        daemon = self.config.daemon
        known = self._known.get(source)
        now = datetime.now(UTC)
        if run is not None and known is not None and run.new:
            known = self._known[source] = (known[0], now)  # even from a run that failed
        if run is not None and known is not None and not failed(run) and not _symptoms(run):
            first, last_new = known
            quiet_for = quiet_since(first, last_new, daemon.quiet_after, now)
            if quiet_for is None:
                self._note(source, "healthy", "ok")
            else:
                self._note(source, "quiet", quiet_reason(quiet_for))
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
        self._note(source, health.state, health.reason)
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
            self._on_config_changed()  # crawl it at its new address from now on
        else:
            logger.info("%s", message)

    def _note(self, source: str, state: str, reason: str) -> None:
        before = self._health.get(source)
        self._health[source] = state
        if state == before or state == "unknown":
            return
        if state in UNHEALTHY:
            logger.warning("source %s is unhealthy (%s): %s", source, state, reason)
        elif before in UNHEALTHY:
            logger.info("source %s recovered", source)


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
