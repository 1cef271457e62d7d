"""The digest outbox in the database: deliveries, the matches each took, what is still to send.

A match is taken into a delivery by inserting its item; the unique key (watcher, channel,
watchlist, article, match version) makes that happen once however many senders race.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from storage.models import Article, Delivery, DeliveryItem, WatcherState, WatchMatch
from storage.sql import dialect_insert

OPEN = ("pending", "sending")


def open_deliveries(session: Session, watcher: str, channel: str) -> list[Delivery]:
    return list(
        session.scalars(
            select(Delivery)
            .where(
                Delivery.watcher == watcher,
                Delivery.channel == channel,
                Delivery.status.in_(OPEN),
            )
            .order_by(Delivery.id)
        )
    )


def last_digest_end(session: Session, watcher: str, channel: str) -> datetime | None:
    return session.scalar(
        select(func.max(Delivery.period_end)).where(
            Delivery.watcher == watcher, Delivery.channel == channel, Delivery.kind == "digest"
        )
    )


def undelivered(
    session: Session,
    watchlists: Sequence[str],
    since: datetime,
    *,
    watcher: str | None = None,
    channel: str | None = None,
) -> list[tuple[WatchMatch, Article]]:
    """Matches of ``watchlists`` new or updated since ``since`` (this version of them) not yet
    taken into a delivery of ``watcher`` on ``channel`` (all of them when no channel)."""
    query = (
        select(WatchMatch, Article)
        .join(Article, Article.id == WatchMatch.article_id)
        .where(WatchMatch.watchlist.in_(watchlists), WatchMatch.updated_at >= since)
    )
    if watcher is not None and channel is not None:
        taken = exists().where(
            DeliveryItem.watcher == watcher,
            DeliveryItem.channel == channel,
            DeliveryItem.watchlist == WatchMatch.watchlist,
            DeliveryItem.article_id == WatchMatch.article_id,
            DeliveryItem.match_updated_at == WatchMatch.updated_at,
        )
        query = query.where(~taken)
    return [(m, a) for m, a in session.execute(query.order_by(WatchMatch.id))]


def delivered_stories(
    session: Session, watcher: str, channel: str, stories: Iterable[tuple[str, int]]
) -> set[tuple[str, int]]:
    """Which (watchlist, story) pairs were already delivered, listed, on this channel (a story
    still pending is not: a later copy joins it as "also reported by")."""
    wanted = set(stories)
    if not wanted:
        return set()
    found: set[tuple[str, int]] = set()
    by_watchlist: dict[str, list[int]] = {}
    for watchlist, story in wanted:
        by_watchlist.setdefault(watchlist, []).append(story)
    for watchlist, ids in by_watchlist.items():
        for start in range(0, len(ids), 500):
            rows = session.scalars(
                select(DeliveryItem.story_id)
                .join(Delivery, Delivery.id == DeliveryItem.delivery_id)
                .where(
                    Delivery.status == "sent",
                    DeliveryItem.watcher == watcher,
                    DeliveryItem.channel == channel,
                    DeliveryItem.watchlist == watchlist,
                    DeliveryItem.story_id.in_(ids[start : start + 500]),
                    DeliveryItem.folded.is_(False),
                )
                .distinct()
            )
            found.update((watchlist, story) for story in rows)
    return found


@dataclass(frozen=True, slots=True)
class NewItem:
    watchlist: str
    article_id: int
    story_id: int
    match_updated_at: datetime
    folded: bool


def add_items(session: Session, delivery: Delivery, items: Sequence[NewItem]) -> int:
    """Take ``items`` into ``delivery``; an item another delivery took first is skipped.
    Returns how many this delivery got."""
    if not items:
        return 0
    before = count_items(session, delivery.id)
    session.execute(
        dialect_insert(session)(DeliveryItem).on_conflict_do_nothing(),
        [
            {
                "delivery_id": delivery.id,
                "watcher": delivery.watcher,
                "channel": delivery.channel,
                "watchlist": item.watchlist,
                "article_id": item.article_id,
                "story_id": item.story_id,
                "match_updated_at": item.match_updated_at,
                "folded": item.folded,
            }
            for item in items
        ],
    )
    return count_items(session, delivery.id) - before


def count_items(session: Session, delivery_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(DeliveryItem)
            .where(DeliveryItem.delivery_id == delivery_id)
        )
        or 0
    )


def items_of(
    session: Session, delivery_id: int
) -> list[tuple[DeliveryItem, WatchMatch | None, Article]]:
    """A delivery's items with their match (None if the article no longer matches) and article."""
    rows = session.execute(
        select(DeliveryItem, WatchMatch, Article)
        .join(Article, Article.id == DeliveryItem.article_id)
        .outerjoin(
            WatchMatch,
            and_(
                WatchMatch.article_id == DeliveryItem.article_id,
                WatchMatch.watchlist == DeliveryItem.watchlist,
            ),
        )
        .where(DeliveryItem.delivery_id == delivery_id)
        .order_by(DeliveryItem.id)
    )
    return [(item, match, article) for item, match, article in rows]


def claim(
    session: Session, delivery: Delivery, *, expected: str, sender: str, now: datetime
) -> bool:
    """Mark ``delivery`` as being sent by ``sender``, unless someone changed it since it was
    read (then another sender has it, and this one must leave it alone)."""
    values: dict[str, Any] = {
        "status": "sending",
        "attempts": Delivery.attempts + 1,
        "attempted_at": now,
        "sender": sender,
    }
    if expected == "sending":
        # Taken over from a sender that died mid-attempt: it may have got through.
        values["uncertain"] = True
    result: Any = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery.id,
            Delivery.status == expected,
            Delivery.attempts == delivery.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


def finish(
    session: Session,
    delivery_id: int,
    *,
    error: str | None,
    now: datetime,
    uncertain: bool = False,
) -> None:
    values: dict[str, Any] = (
        {"status": "sent", "sent_at": now, "last_error": None}
        if error is None
        else {"status": "pending", "last_error": error[:2000]}
    )
    if uncertain:
        values["uncertain"] = True
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def last_digest_runs(session: Session) -> dict[str, datetime]:
    return {s.watcher: s.last_digest_at for s in session.scalars(select(WatcherState))}


def set_last_digest_run(session: Session, watcher: str, when: datetime) -> None:
    session.execute(
        dialect_insert(session)(WatcherState)
        .values(watcher=watcher, last_digest_at=when)
        .on_conflict_do_update(index_elements=["watcher"], set_={"last_digest_at": when})
    )


def latest_deliveries(session: Session, watcher: str) -> list[Delivery]:
    """The newest delivery of each channel and kind, for ``presswatch status``."""
    newest = (
        select(func.max(Delivery.id))
        .where(Delivery.watcher == watcher)
        .group_by(Delivery.channel, Delivery.kind)
    )
    return list(
        session.scalars(select(Delivery).where(Delivery.id.in_(newest)).order_by(Delivery.id))
    )


def pending_count(session: Session, watcher: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.watcher == watcher, Delivery.status.in_(OPEN))
        )
        or 0
    )


def mentions_per_day(
    session: Session, watchlists: Sequence[str], since: datetime
) -> list[tuple[str, datetime]]:
    """(watchlist, day of the mention) of every match since ``since``: the digest chart's data.
    A mention is dated by its article's publication (a backfilled article counts on the day
    it was published, not the day it was crawled), by when it was matched if undated; an
    article published in the window was matched in it too, so the matched_at index serves."""
    return [
        (w, published or matched)
        for w, published, matched in session.execute(
            select(WatchMatch.watchlist, Article.published_at, WatchMatch.matched_at)
            .join(Article, Article.id == WatchMatch.article_id)
            .where(WatchMatch.watchlist.in_(watchlists), WatchMatch.matched_at >= since)
        )
    ]
