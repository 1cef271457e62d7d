"""Housekeeping the daemon runs daily (and ``presswatch db maintain`` on demand): retention of
raw data the config does not want kept forever, and the database's own upkeep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, delete, func, select, text

from storage.emptypages import prune_empty
from storage.engine import make_sessionmaker
from storage.models import ArticleRevision, CrawlRun, Delivery


@dataclass(frozen=True, slots=True)
class Maintenance:
    runs_deleted: int
    revisions_deleted: int
    optimised: bool
    deliveries_deleted: int = 0
    empty_pages_deleted: int = 0


def maintain(
    engine: Engine,
    *,
    keep_runs: timedelta | None,
    keep_revisions: timedelta | None,
    now: datetime | None = None,
) -> Maintenance:
    """Delete crawl-run rows and sent deliveries (with their items) older than ``keep_runs``,
    the pages remembered without article text and not tried for as long, and earlier article
    texts older than ``keep_revisions`` (None: keep them all); then let the database tidy
    itself (SQLite: merge the search index's segments, refresh the planner's statistics,
    truncate the write-ahead log)."""
    now = now or datetime.now(UTC)
    runs = revisions = deliveries = empty = 0
    with make_sessionmaker(engine).begin() as session:
        if keep_runs is not None:
            runs = _deleted(
                session.execute(
                    delete(CrawlRun).where(
                        CrawlRun.status != "running", CrawlRun.started_at < now - keep_runs
                    )
                )
            )
            # Only long-sent ones, and never a channel's latest digest: where the next digest
            # starts is read from it.
            latest = (
                select(func.max(Delivery.id))
                .where(Delivery.kind == "digest")
                .group_by(Delivery.watcher, Delivery.channel)
            )
            deliveries = _deleted(
                session.execute(
                    delete(Delivery).where(
                        Delivery.status == "sent",
                        Delivery.sent_at < now - keep_runs,
                        Delivery.id.not_in(latest),
                    )
                )
            )
            # A page still listed is tried again every [crawl] empty_retry; one not tried for
            # this long is most likely listed no more (if it is, it is fetched once more and
            # remembered anew).
            empty = prune_empty(session, now - keep_runs)
        if keep_revisions is not None:
            revisions = _deleted(
                session.execute(
                    delete(ArticleRevision).where(
                        ArticleRevision.replaced_at < now - keep_revisions
                    )
                )
            )
        if engine.dialect.name == "sqlite":
            session.execute(text("INSERT INTO article_search(article_search) VALUES ('optimize')"))
    optimised = False
    if engine.dialect.name == "postgresql":
        # Fresh planner statistics (autovacuum reclaims space on its own).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
        optimised = True
    if engine.dialect.name == "sqlite":
        # Outside any transaction (the driver connection is in autocommit mode).
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA optimize")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            raw.close()
        optimised = True
    return Maintenance(runs, revisions, optimised, deliveries, empty)


def _deleted(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)
