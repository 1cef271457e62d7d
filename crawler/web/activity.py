"""The watchlists' recent activity, read once for every reader: mentions per day, the breaking
markers, the stories with the most outlets, and each watchlist's stories by when they were
last flagged, over the last CHART_DAYS days.

One query reads the matches of that window (a row each: watchlist, story, outlet, when
published, when last flagged); everything the overview and the watchlist pages show is counted
from it in memory. That read grows with the matches of a month, so it is kept as a snapshot
for up to ``FRESH_FOR`` seconds and made again in the background of the request that finds it
older (readers get the previous snapshot meanwhile, never wait for a new one but the first);
what was flagged since the snapshot is read fresh for every request (a few rows on the
updated_at index), so "new since your last visit" is never stale.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.web.reads import (
    BASELINE_DAYS,
    BREAKING_FACTOR,
    BREAKING_HOURS,
    BREAKING_MINIMUM,
    CHART_DAYS,
    TOP_DAYS,
    Breaking,
)
from storage.models import Article, WatchMatch
from storage.types import utc

logger = logging.getLogger(__name__)

FRESH_FOR = 30.0  # seconds a snapshot is served before a request makes a new one


@dataclass(frozen=True, slots=True)
class Activity:
    at: datetime  # matches flagged up to here are counted
    days: tuple[date, ...]
    series: dict[str, tuple[int, ...]]
    breaking: dict[str, Breaking]
    # per watchlist: (story, outlets, flagged articles) of the last TOP_DAYS, most outlets first
    top: dict[str, list[tuple[int, int, int]]]
    # per watchlist: (when last flagged, story), newest first, over the window
    changed: dict[str, list[tuple[datetime, int]]]

    def stories_since(
        self, watchlist: str, since: datetime, fresh: dict[int, datetime]
    ) -> tuple[int, list[tuple[int, datetime]]]:
        """How many of the watchlist's stories were flagged or updated since ``since`` (the
        snapshot's and ``fresh``'s, flagged after it), and them, newest first."""
        latest = dict(fresh)
        for when, story in self.changed.get(watchlist, ()):
            if when < since:
                break
            latest.setdefault(story, when)
        ordered = sorted(latest.items(), key=lambda item: item[1], reverse=True)
        shown = [(story, when) for story, when in ordered if when >= since]
        return len(shown), shown


def _matches_since(session: Session, since: datetime, watchlists: Sequence[str]) -> list[Any]:
    story = func.coalesce(Article.story_id, Article.id)
    return list(
        session.execute(
            select(
                WatchMatch.watchlist,
                story,
                Article.source,
                func.coalesce(Article.published_at, WatchMatch.matched_at),
                WatchMatch.updated_at,
            )
            .join(Article, Article.id == WatchMatch.article_id)
            # Walk the updated_at index (a match flagged in the window was updated in it
            # too); the watchlists are few and filtered in memory.
            .where(WatchMatch.updated_at >= since)
        )
    )


def compute(session: Session, watchlists: Sequence[str], now: datetime) -> Activity:
    last = now.astimezone(UTC).date()
    days = tuple(last - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS))
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=UTC)
    recent_start = now - timedelta(hours=BREAKING_HOURS)
    baseline_start = recent_start - timedelta(days=BASELINE_DAYS)
    top_start = now - timedelta(days=TOP_DAYS)
    wanted = set(watchlists)
    counts = {name: [0] * CHART_DAYS for name in watchlists}
    recent: Counter[str] = Counter()
    before: Counter[str] = Counter()
    outlets: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    flagged: dict[str, Counter[int]] = defaultdict(Counter)
    changed: dict[str, dict[int, datetime]] = defaultdict(dict)
    first = days[0].toordinal()
    for watchlist, story, source, mentioned, updated in _matches_since(session, start, watchlists):
        if watchlist not in wanted:
            continue
        flagged_at = utc(updated)
        if flagged_at is None:
            continue
        known = changed[watchlist].get(story)
        if known is None or flagged_at > known:
            changed[watchlist][story] = flagged_at
        mentioned = utc(mentioned)
        if mentioned is None or mentioned < start or mentioned > now:
            continue
        counts[watchlist][mentioned.toordinal() - first] += 1
        if mentioned >= recent_start:
            recent[watchlist] += 1
        elif mentioned >= baseline_start:
            before[watchlist] += 1
        if mentioned >= top_start:
            outlets[watchlist][story].add(source)
            flagged[watchlist][story] += 1
    periods = BASELINE_DAYS * 24 / BREAKING_HOURS
    rates = {}
    for name in watchlists:
        usual = before[name] / periods
        is_breaking = recent[name] >= BREAKING_MINIMUM and recent[name] >= BREAKING_FACTOR * usual
        rates[name] = Breaking(is_breaking, recent[name], round(usual, 2))
    return Activity(
        at=now,
        days=days,
        series={name: tuple(values) for name, values in counts.items()},
        breaking=rates,
        top={
            name: sorted(
                ((s, len(o), flagged[name][s]) for s, o in outlets[name].items()),
                key=lambda t: (-t[1], -t[2], -t[0]),
            )
            for name in watchlists
        },
        changed={
            name: sorted(((w, s) for s, w in changed[name].items()), reverse=True)
            for name in watchlists
        },
    )


def flagged_since(
    session: Session, since: datetime, watchlists: Sequence[str]
) -> dict[str, dict[int, datetime]]:
    """Per watchlist, the stories flagged or updated since ``since`` (after a snapshot)."""
    found: dict[str, dict[int, datetime]] = defaultdict(dict)
    for watchlist, story, _source, _mentioned, updated in _matches_since(
        session, since, watchlists
    ):
        updated = utc(updated)
        if updated is not None and updated > found[watchlist].get(story, since):
            found[watchlist][story] = updated
    return found


# A snapshot that takes long to make is kept longer: its making costs at most a twentieth of
# the time (of a core) it is served for (at a million articles the month of matches takes a
# second or two to read: kept 30-40 s).
COST_SHARE = 20


class Snapshot:
    """A value made by ``make`` and served for ``fresh_for`` seconds (or COST_SHARE times as
    long as it took to make, if longer); then the first request to find it older starts
    making the next in a thread and returns the old one meanwhile. Only the first request
    (nothing to serve yet) waits."""

    def __init__(self, make: Callable[[], Any], fresh_for: float = FRESH_FOR) -> None:
        self.make = make
        self.fresh_for = fresh_for
        self.value: Any = None
        self.made_at = 0.0
        self.took = 0.0
        self._lock = threading.Lock()  # one maker at a time
        self._refreshing = False

    def get(self) -> Any:
        if self.value is None:
            with self._lock:
                if self.value is None:
                    self._make()
            return self.value
        age = time.monotonic() - self.made_at
        if age > max(self.fresh_for, COST_SHARE * self.took) and not self._refreshing:
            self._refreshing = True
            threading.Thread(target=self._refresh, daemon=True).start()
        return self.value

    def _make(self) -> None:
        began = time.monotonic()
        value = self.make()
        self.value, self.made_at, self.took = value, time.monotonic(), time.monotonic() - began

    def _refresh(self) -> None:
        try:
            with self._lock:
                self._make()
        except Exception:  # the old snapshot keeps being served; the next request tries again
            logger.warning("Cannot refresh the web view's snapshot", exc_info=True)
        finally:
            self._refreshing = False
