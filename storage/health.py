"""Source health, read from the crawl-run rows: is a source answering, and is it publishing?

A crawl *failed* when it did not finish (failed, timeout, interrupted) or when it fetched no
page at all (the site or its feeds did not answer). A source is ``failing`` after
``failures`` failed crawls in a row; ``broken`` when it answers but its pages stopped yielding
article text, or their texts shrank, over its last ``failures`` crawls; ``stale`` when its
feeds and sitemaps listed only old articles over its last ``failures`` crawls (see
``storage.diagnostics``, which also notes listings that moved); ``quiet`` when it answers but
has given no new article for ``quiet_after``; ``healthy`` otherwise, and ``unknown`` before its
first crawl.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.diagnostics import Problem, diagnose
from storage.models import Article, CrawlRun
from storage.types import iso, utc

RECENT_RUNS = 20
ERROR_RUNS = 5  # error kinds are summed over this many latest crawls
UNHEALTHY = ("failing", "broken", "stale", "quiet")
# Which problem makes a source what (``moved`` makes it nothing: it still works).
_STATES = {"empty_pages": "broken", "short_texts": "broken", "old_listings": "stale"}


@dataclass(frozen=True, slots=True)
class Health:
    source: str
    state: str  # healthy, failing, broken, stale, quiet or unknown
    reason: str
    consecutive_failures: int = 0
    last_success: datetime | None = None
    last_new_article: datetime | None = None
    recent_errors: dict[str, int] = field(default_factory=dict)
    first_crawl: datetime | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def unhealthy(self) -> bool:
        return self.state in UNHEALTHY

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "reason": self.reason,
            "consecutive_failures": self.consecutive_failures,
            "last_success": iso(self.last_success, zulu=False),
            "last_new_article": iso(self.last_new_article, zulu=False),
            "recent_errors": self.recent_errors,
            "problems": [p.as_dict() for p in self.problems],
        }


def failed(run: CrawlRun) -> bool:
    return run.status in ("failed", "timeout", "interrupted") or (
        run.status == "finished" and run.pages_fetched == 0
    )


def source_health(
    session: Session,
    source: str,
    *,
    failures: int,
    quiet_after: timedelta,
    now: datetime | None = None,
    listings: Sequence[str] = (),
    max_age: timedelta | None = None,
) -> Health:
    """``failures`` is also how many crawls in a row a problem must show in before the source
    is reported broken or stale; ``listings`` (its configured feeds, sitemaps and pages) are
    checked for moves."""
    now = now or datetime.now(UTC)
    runs = list(
        session.scalars(
            select(CrawlRun)
            .where(CrawlRun.source == source, CrawlRun.status != "running")
            .order_by(CrawlRun.id.desc())
            .limit(RECENT_RUNS)
        )
    )
    if not runs:
        return Health(source, "unknown", "not crawled yet")
    streak = 0
    for run in runs:
        if not failed(run):
            break
        streak += 1
    last_success = next((r.finished_at or r.started_at for r in runs if not failed(r)), None)
    errors: Counter[str] = Counter()
    for run in runs[:ERROR_RUNS]:
        errors.update(dict(run.errors))
    last_new = session.scalar(select(func.max(Article.fetched_at)).where(Article.source == source))
    first_run = utc(
        session.scalar(select(func.min(CrawlRun.started_at)).where(CrawlRun.source == source))
        or runs[-1].started_at
    )
    common: dict[str, Any] = {
        "consecutive_failures": streak,
        "last_success": last_success,
        "last_new_article": last_new,
        "recent_errors": dict(errors.most_common()),
        "first_crawl": first_run,
        "problems": tuple(
            diagnose(
                session,
                source,
                runs,
                crawls=failures,
                max_age=_age(max_age) if max_age else "max_article_age",
                listings=listings,
            )
        ),
    }
    if streak >= failures:
        kinds = ", ".join(k for k, _ in errors.most_common(3)) or runs[0].status
        return Health(source, "failing", f"{streak} failed crawls in a row ({kinds})", **common)
    for problem in common["problems"]:
        state = _STATES.get(problem.kind)
        if state is not None:
            return Health(source, state, f"{problem.reason}: {problem.advice}", **common)
    quiet_for = quiet_since(first_run, last_new, quiet_after, now)
    if quiet_for is not None:
        return Health(source, "quiet", quiet_reason(quiet_for), **common)
    return Health(source, "healthy", "ok", **common)


def quiet_since(
    first_crawl: datetime, last_new: datetime | None, quiet_after: timedelta, now: datetime
) -> timedelta | None:
    """How long a source that answers has given nothing new, if that makes it quiet: no new
    article for ``quiet_after``, and crawled for at least that long."""
    since = utc(last_new) if last_new else utc(first_crawl)
    if now - since >= quiet_after and now - utc(first_crawl) >= quiet_after:
        return now - since
    return None


def quiet_reason(quiet_for: timedelta) -> str:
    return f"no new article for {quiet_for.total_seconds() / 3600:.0f} h"


def _age(value: timedelta) -> str:
    hours = value.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 24 else f"{hours:g} hours"
