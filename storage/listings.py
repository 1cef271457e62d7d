"""What each listing (feed, sitemap, section page) last answered: its validators and the links
it held, so that the next crawl asks only for what changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    Listing,
)

if TYPE_CHECKING:
    pass
from storage.sql import chunks, dialect_insert


@dataclass(frozen=True, slots=True)
class ListingState:
    url: str
    etag: str | None
    last_modified: str | None
    children: list[str]


def listing_states_of(
    session: Session, sources: Sequence[str]
) -> dict[str, dict[str, ListingState]]:
    """Many sources' listings in one query (a crawl engine starting many runs at once)."""
    found: dict[str, dict[str, ListingState]] = {name: {} for name in sources}
    for chunk in chunks(list(sources)):
        for row in session.scalars(select(Listing).where(Listing.source.in_(chunk))):
            found[row.source][row.url_key] = ListingState(
                row.url, row.etag, row.last_modified, list(row.children)
            )
    return found


def listing_states(session: Session, source: str) -> dict[str, ListingState]:
    """The source's feeds and sitemaps as last fetched, by URL key (one query per crawl)."""
    return {
        row.url_key: ListingState(row.url, row.etag, row.last_modified, list(row.children))
        for row in session.scalars(select(Listing).where(Listing.source == source))
    }


def save_listing_states(
    session: Session, source: str, states: dict[str, ListingState], now: datetime
) -> None:
    save_many_listing_states(session, [(source, states)], now)


def save_many_listing_states(
    session: Session, sources: Sequence[tuple[str, dict[str, ListingState]]], now: datetime
) -> None:
    """Several sources' listings in one statement."""
    rows = [
        {
            "url_key": key,
            "source": source,
            "url": state.url,
            "etag": state.etag,
            "last_modified": state.last_modified,
            "children": state.children,
            "checked_at": now,
        }
        for source, states in sources
        for key, state in states.items()
    ]
    if not rows:
        return
    statement = dialect_insert(session)(Listing)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["url_key"],
            set_={
                "url": statement.excluded.url,
                "source": statement.excluded.source,
                "etag": statement.excluded.etag,
                "last_modified": statement.excluded.last_modified,
                "children": statement.excluded.children,
                "checked_at": statement.excluded.checked_at,
            },
        ),
        rows,
    )
