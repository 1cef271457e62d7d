"""Pages that gave no article text: remembered with why, so that a crawl does not fetch them
again every time, and forgotten once they give text.

A row is keyed by the URL key of the page as its listing gave it (the key the crawl checks
listed entries by), and keeps the listing entry's date when the page was last tried: the crawl
fetches the page again when the entry's date is newer, or when the retry interval has passed
since ``last_tried`` (``crawler.scrapy.listings``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from storage.models import EmptyPage
from storage.sql import chunks, dialect_insert


@dataclass(frozen=True, slots=True)
class EmptyPageRecord:
    """A page just tried that gave no article text."""

    url_key: str
    source: str
    url: str
    reason: str
    listed_changed: datetime | None


@dataclass(frozen=True, slots=True)
class Remembered:
    """What the crawl needs of a remembered page to decide whether to fetch it again."""

    reason: str
    listed_changed: datetime | None
    last_tried: datetime


def remember_empty(session: Session, pages: Sequence[EmptyPageRecord], now: datetime) -> None:
    """Record ``pages`` as tried at ``now``: a new row, or the row's reason, listing date and
    last try updated and its tries counted up."""
    if not pages:
        return
    statement = dialect_insert(session)(EmptyPage)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["url_key"],
            set_={
                "source": statement.excluded.source,
                "url": statement.excluded.url,
                "reason": statement.excluded.reason,
                "listed_changed": statement.excluded.listed_changed,
                "last_tried": statement.excluded.last_tried,
                "tries": EmptyPage.tries + 1,
            },
        ),
        [
            {
                "url_key": page.url_key,
                "source": page.source,
                "url": page.url,
                "reason": page.reason,
                "listed_changed": page.listed_changed,
                "first_seen": now,
                "last_tried": now,
                "tries": 1,
            }
            for page in pages
        ],
    )


def remembered(session: Session, keys: Iterable[str]) -> dict[str, Remembered]:
    """Those of ``keys`` remembered as pages without article text."""
    found: dict[str, Remembered] = {}
    for chunk in chunks(sorted(set(keys))):
        rows = session.execute(
            select(
                EmptyPage.url_key, EmptyPage.reason, EmptyPage.listed_changed, EmptyPage.last_tried
            ).where(EmptyPage.url_key.in_(chunk))
        )
        found.update(
            {key: Remembered(reason, changed, tried) for key, reason, changed, tried in rows}
        )
    return found


def forget(session: Session, keys: Iterable[str]) -> int:
    """Forget ``keys`` (their pages gave article text at last); returns how many were
    remembered."""
    deleted = 0
    for chunk in chunks(sorted(set(keys))):
        result = session.execute(delete(EmptyPage).where(EmptyPage.url_key.in_(chunk)))
        deleted += int(result.rowcount) if isinstance(result, CursorResult) else 0
    return deleted


def reasons_by_source(session: Session) -> dict[str, dict[str, int]]:
    """For each source with any, how many pages are remembered without text, by reason."""
    found: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(EmptyPage.source, EmptyPage.reason, func.count()).group_by(
            EmptyPage.source, EmptyPage.reason
        )
    )
    for source, reason, count in rows:
        found.setdefault(source, {})[reason] = int(count)
    return found


def prune_empty(session: Session, tried_before: datetime) -> int:
    """Forget the pages not tried since ``tried_before`` (no longer listed, or their source
    gone); returns how many."""
    result = session.execute(delete(EmptyPage).where(EmptyPage.last_tried < tried_before))
    return int(result.rowcount) if isinstance(result, CursorResult) else 0
