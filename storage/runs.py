"""Crawl runs: one row per source per crawl, opened when it starts and closed with its counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from storage.models import CrawlRun

# A count the row keeps for the source's diagnostics (storage.diagnostics), not shown in a
# crawl's summary.
_DIAGNOSTIC = {"diagnostic": True}


@dataclass(slots=True)
class RunCounts:
    """A run's counts, as its row holds them: the ones a crawl's summary shows (``pages_fetched``
    to ``errors``, in this order), then the ones its diagnostics read. The list of counts is
    this class's fields: everything that copies, adds or shows counts goes through them."""

    pages_fetched: int = 0
    articles_fetched: int = 0
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    unchanged: int = 0
    empty: int = 0
    flagged: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # by kind
    listed: int = field(default=0, metadata=_DIAGNOSTIC)  # entries of its feeds and sitemaps ...
    too_old: int = field(default=0, metadata=_DIAGNOSTIC)  # ... older than max_article_age

    def minus(self, earlier: RunCounts) -> RunCounts:
        """What was counted since ``earlier`` (a worker's share reported in parts)."""
        errors = {k: v - earlier.errors.get(k, 0) for k, v in self.errors.items()}
        return RunCounts(
            **{name: getattr(self, name) - getattr(earlier, name) for name in NUMBERS},
            errors={k: v for k, v in errors.items() if v},
        )

    def any(self) -> bool:
        return bool(self.errors) or any(getattr(self, name) for name in NUMBERS)

    def columns(self) -> dict[str, Any]:
        """The row's columns for these counts."""
        return {**{name: getattr(self, name) for name in NUMBERS}, "errors": dict(self.errors)}


# The counts by name: every one, the numbers among them, and those a crawl's summary shows.
COUNTS: tuple[str, ...] = tuple(f.name for f in fields(RunCounts))
NUMBERS: tuple[str, ...] = tuple(name for name in COUNTS if name != "errors")
SUMMARY_COUNTS: tuple[str, ...] = tuple(
    f.name for f in fields(RunCounts) if not f.metadata.get("diagnostic")
)


def counts_of(run: CrawlRun) -> RunCounts:
    """The counts a run's row holds."""
    return RunCounts(**{name: getattr(run, name) for name in NUMBERS}, errors=dict(run.errors))


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
            **counts.columns(),
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
                **end.counts.columns(),
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
    for name in NUMBERS:
        setattr(run, name, getattr(run, name) + getattr(counts, name))
    errors = dict(run.errors)
    for kind, count in counts.errors.items():
        errors[kind] = errors.get(kind, 0) + count
    run.errors = errors


def get_runs(session: Session, run_ids: Sequence[int]) -> list[CrawlRun]:
    return list(session.scalars(select(CrawlRun).where(CrawlRun.id.in_(run_ids))))


def last_runs(session: Session) -> dict[str, CrawlRun]:
    """Each source's latest run, by source name (one query, whatever the number of sources)."""
    latest = select(func.max(CrawlRun.id)).group_by(CrawlRun.source)
    return {r.source: r for r in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(latest)))}
