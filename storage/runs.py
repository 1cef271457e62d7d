"""Crawl runs: one row per source per crawl, opened when it starts and closed with its counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from storage.models import (
    CrawlRun,
)

if TYPE_CHECKING:
    pass


@dataclass(slots=True)
class RunCounts:
    pages_fetched: int = 0
    articles_fetched: int = 0
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    unchanged: int = 0
    empty: int = 0
    flagged: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    listed: int = 0  # entries of its feeds and sitemaps ...
    too_old: int = 0  # ... of which older than max_article_age

    def minus(self, earlier: RunCounts) -> RunCounts:
        """What was counted since ``earlier`` (a worker's share reported in parts)."""
        errors = {k: v - earlier.errors.get(k, 0) for k, v in self.errors.items()}
        return RunCounts(
            pages_fetched=self.pages_fetched - earlier.pages_fetched,
            articles_fetched=self.articles_fetched - earlier.articles_fetched,
            new=self.new - earlier.new,
            updated=self.updated - earlier.updated,
            duplicate=self.duplicate - earlier.duplicate,
            unchanged=self.unchanged - earlier.unchanged,
            empty=self.empty - earlier.empty,
            flagged=self.flagged - earlier.flagged,
            errors={k: v for k, v in errors.items() if v},
            listed=self.listed - earlier.listed,
            too_old=self.too_old - earlier.too_old,
        )

    def any(self) -> bool:
        return bool(
            self.pages_fetched
            or self.articles_fetched
            or self.new
            or self.updated
            or self.duplicate
            or self.unchanged
            or self.empty
            or self.flagged
            or self.errors
            or self.listed
            or self.too_old
        )


def start_run(session: Session, source: str, started_at: datetime, pid: int | None) -> int:
    run = CrawlRun(source=source, started_at=started_at, pid=pid, status="running", errors={})
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    *,
    finished_at: datetime,
    status: str,
    finish_reason: str,
    counts: RunCounts,
) -> None:
    session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id)
        .values(
            finished_at=finished_at,
            status=status,
            finish_reason=finish_reason,
            pages_fetched=counts.pages_fetched,
            articles_fetched=counts.articles_fetched,
            new=counts.new,
            updated=counts.updated,
            duplicate=counts.duplicate,
            unchanged=counts.unchanged,
            empty=counts.empty,
            flagged=counts.flagged,
            errors=dict(counts.errors),
            listed=counts.listed,
            too_old=counts.too_old,
        )
    )


def start_runs(session: Session, runs: Sequence[tuple[str, datetime, int | None]]) -> list[int]:
    """Open many runs ``(source, started_at, pid)`` in one statement; their ids in order."""
    if not runs:
        return []
    ids = session.scalars(
        insert(CrawlRun).returning(CrawlRun.id, sort_by_parameter_order=True),
        [
            {"source": source, "started_at": started, "pid": pid, "status": "running", "errors": {}}
            for source, started, pid in runs
        ],
    )
    return list(ids)


@dataclass(frozen=True, slots=True)
class RunEnd:
    run_id: int
    finished_at: datetime
    status: str
    finish_reason: str
    counts: RunCounts


def finish_runs(session: Session, ends: Sequence[RunEnd]) -> None:
    """Complete many runs in one statement (by primary key, executemany)."""
    if not ends:
        return
    session.execute(
        update(CrawlRun),
        [
            {
                "id": end.run_id,
                "finished_at": end.finished_at,
                "status": end.status,
                "finish_reason": end.finish_reason,
                "pages_fetched": end.counts.pages_fetched,
                "articles_fetched": end.counts.articles_fetched,
                "new": end.counts.new,
                "updated": end.counts.updated,
                "duplicate": end.counts.duplicate,
                "unchanged": end.counts.unchanged,
                "empty": end.counts.empty,
                "flagged": end.counts.flagged,
                "errors": dict(end.counts.errors),
                "listed": end.counts.listed,
                "too_old": end.counts.too_old,
            }
            for end in ends
        ],
    )


def close_run(
    session: Session, run_id: int, *, finished_at: datetime, status: str, finish_reason: str
) -> None:
    """End a run whose counts were added as it went (a distributed crawl's)."""
    session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id, CrawlRun.status == "running")
        .values(finished_at=finished_at, status=status, finish_reason=finish_reason)
    )


def add_run_counts(session: Session, run_id: int, counts: RunCounts) -> None:
    """Add one worker's share of a distributed crawl to its run (locked while read and
    written, so that workers finishing together each add theirs)."""
    run = session.scalars(
        select(CrawlRun).where(CrawlRun.id == run_id).with_for_update()
    ).one_or_none()
    if run is None:
        return
    run.pages_fetched += counts.pages_fetched
    run.articles_fetched += counts.articles_fetched
    run.new += counts.new
    run.updated += counts.updated
    run.duplicate += counts.duplicate
    run.unchanged += counts.unchanged
    run.empty += counts.empty
    run.flagged += counts.flagged
    run.listed += counts.listed
    run.too_old += counts.too_old
    errors = dict(run.errors)
    for kind, count in counts.errors.items():
        errors[kind] = errors.get(kind, 0) + count
    run.errors = errors


def get_runs(session: Session, run_ids: Sequence[int]) -> list[CrawlRun]:
    return list(session.scalars(select(CrawlRun).where(CrawlRun.id.in_(run_ids))))
