"""Same-story candidates: which stored articles share a MinHash band with a new one.

An article's 16 band keys are written once, as one row of ``story_keys`` appended when its text
is stored. The lookup by band runs in memory: each writing process holds the keys of the
articles stored within the story window (``[storage] story_window``, 7 days by default) in a
sorted array of 64-bit integers (``StoryIndex``), loaded from ``story_keys`` at its first store
and brought up to date at every store after from the rows appended since, its own and other
processes' alike.

Why not an index on disk: a band key is a hash, so each of an article's 16 keys lands on a page
of its own in an index of every band ever stored, and each page a transaction dirties is written
to the write-ahead log and again by the checkpoint. At a million stored articles that made the
bands three quarters of the cost of storing one. Appended rows cost a fraction of a page each,
and a window of recent articles bounds what memory holds: a wire story is republished within
days, and a copy met after the window starts a story of its own.

The memory may hold more than the window and the database (keys of an article deleted since, or
of a text replaced since): every candidate is checked against the article's stored signature
before it shares a story, so an extra candidate costs a lookup, never a wrong story.
"""

from __future__ import annotations

import struct
import threading
import weakref
from array import array
from bisect import bisect_left
from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from storage import fingerprints
from storage.models import StoryKeys

STORY_WINDOW = timedelta(days=7)
# How often a long-lived process drops from memory the keys that have left the window.
PRUNE_EVERY = timedelta(hours=1)

_PACKED = struct.Struct(f">{fingerprints.BANDS}q")
# Keys read since the array was last sorted are merged into it past this many (or past a
# sixteenth of the array, so that each key is copied a bounded number of times).
_MERGE_AT = 16_384
_LOW = 0xFFFFFFFF
_HIGH = -(1 << 32)  # a key's top 32 bits, its sign kept
# session.info key: the highest story_keys id this session's transaction has read.
_READ = "presswatch_story_keys_read"


def pack(keys: Iterable[int]) -> bytes:
    """An article's band keys as stored: big-endian signed 64-bit integers, band order."""
    return _PACKED.pack(*keys)


def unpack(packed: bytes) -> tuple[int, ...]:
    return _PACKED.unpack(packed)


def key_rows(article_id: int, keys: Iterable[int], now: datetime) -> dict[str, Any]:
    """The ``story_keys`` row of an article whose text was stored at ``now``."""
    return {"article_id": article_id, "stored_at": now, "band_keys": pack(keys)}


class StoryIndex:
    """The band keys of one database's recently stored articles, in this process's memory.

    Each key is held as one 64-bit integer: its top 32 bits, then the id of its ``story_keys``
    row (whose article ``_articles`` gives). Most sit in one sorted array searched by
    bisection; those read since it was last sorted sit in a dict until there are enough of
    them to merge. Two different keys may share their top 32 bits (at 2 million keys, a key
    looked up meets another's top bits once in 2,000 lookups): an extra candidate, checked.
    """

    def __init__(self, window: timedelta = STORY_WINDOW) -> None:
        self.window = window
        self._sorted = array("q")
        # Keys read since: top 32 bits -> row id, and the further rows of a key that several
        # articles share (copies of one story do).
        self._recent: dict[int, int] = {}
        self._shared: dict[int, list[int]] = {}
        self._recent_count = 0
        self._articles: dict[int, int] = {}  # story_keys row id -> article id
        self._lock = threading.Lock()
        # The highest story_keys id read by a committed transaction (or by the first load);
        # None until the first load.
        self._committed: int | None = None
        self._pruned_at = datetime.now(UTC)

    def __len__(self) -> int:
        """How many keys are held."""
        with self._lock:
            return len(self._sorted) + self._recent_count

    def candidates(self, session: Session, keys: Collection[int]) -> dict[int, list[int]]:
        """{band key: ids of the articles holding it} for ``keys``, among the articles stored
        within the window (and those this process has seen stored since it started)."""
        with self._lock:
            self._catch_up(session)
            found: dict[int, list[int]] = {}
            held, recent, shared, articles = (
                self._sorted,
                self._recent,
                self._shared,
                self._articles,
            )
            for key in set(keys):
                top = key >> 32
                first = recent.get(top)
                rows = [] if first is None else [first, *shared.get(top, ())]
                i = bisect_left(held, top << 32)
                while i < len(held) and held[i] >> 32 == top:
                    rows.append(held[i] & _LOW)
                    i += 1
                holders = dict.fromkeys(articles[r] for r in rows if r in articles)
                if holders:
                    found[key] = list(holders)
            return found

    def _catch_up(self, session: Session) -> None:
        now = datetime.now(UTC)
        if self._committed is None:
            # The first load: the window's rows, all committed by others (this process has
            # stored nothing yet), so what was read counts as committed at once.
            first = self._first_in_window(session, now)
            if first is None:
                self._committed = session.scalar(select(func.max(StoryKeys.id))) or 0
            else:
                self._committed = self._load(session, first - 1)
            return
        since = max(self._committed, session.info.get(_READ, 0))
        session.info[_READ] = self._load(session, since)
        if now - self._pruned_at >= PRUNE_EVERY:
            self._prune(session, now)

    def _first_in_window(self, session: Session, now: datetime) -> int | None:
        return session.scalar(
            select(StoryKeys.id)
            .where(StoryKeys.stored_at >= now - self.window)
            .order_by(StoryKeys.stored_at)
            .limit(1)
        )

    def _load(self, session: Session, after: int) -> int:
        """Read the rows past id ``after`` into memory; return the highest id read."""
        highest = after
        fresh: list[int] = []
        for row_id, article_id, packed in session.execute(
            select(StoryKeys.id, StoryKeys.article_id, StoryKeys.band_keys)
            .where(StoryKeys.id > after)
            .order_by(StoryKeys.id)
        ):
            # A row read again (its transaction rolled back) adds its keys twice, and a row id
            # handed out again maps to its newest article: candidates are deduplicated and
            # checked, so neither does harm.
            self._articles[row_id] = article_id
            fresh.extend([(key & _HIGH) | row_id for key in unpack(packed)])
            highest = row_id
        if len(fresh) + self._recent_count > max(_MERGE_AT, len(self._sorted) // 16):
            self._merge(fresh)
        else:
            recent, shared = self._recent, self._shared
            for value in fresh:
                top = value >> 32
                if top in recent:
                    shared.setdefault(top, []).append(value & _LOW)
                else:
                    recent[top] = value & _LOW
            self._recent_count += len(fresh)
        return highest

    def _merge(self, fresh: list[int]) -> None:
        """Merge the recent and ``fresh`` keys into the sorted array."""
        values = fresh
        values.extend((top << 32) | row for top, row in self._recent.items())
        values.extend((top << 32) | row for top, rows in self._shared.items() for row in rows)
        values.sort()
        held = self._sorted
        if len(values) * 4 > len(held):
            # Many: sort everything at once (Timsort finds the array's run already sorted).
            merged = held.tolist()
            merged.extend(values)
            merged.sort()
            self._sorted = array("q", merged)
        else:
            # Few: copy the array's runs between their places, with no object per key.
            merged_array, start = array("q"), 0
            for value in values:
                place = bisect_left(held, value, start)
                merged_array.extend(held[start:place])
                merged_array.append(value)
                start = place
            merged_array.extend(held[start:])
            self._sorted = merged_array
        self._recent, self._shared, self._recent_count = {}, {}, 0

    def _prune(self, session: Session, now: datetime) -> None:
        first = self._first_in_window(session, now)
        # No row in the window: every row read so far has left it.
        below = first if first is not None else (self._committed or 0) + 1
        self._merge([])
        self._sorted = array("q", [v for v in self._sorted if v & _LOW >= below])
        self._articles = {r: a for r, a in self._articles.items() if r >= below}
        self._pruned_at = now


_indexes: weakref.WeakKeyDictionary[Engine, StoryIndex] = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def set_window(engine: Engine, window: timedelta) -> None:
    """Use ``window`` for the story index of ``engine`` (before its first store)."""
    with _indexes_lock:
        index = _indexes.get(engine)
        if index is None or index.window != window:
            _indexes[engine] = StoryIndex(window)


def index_of(session: Session) -> StoryIndex:
    """The story index of the database ``session`` writes to (one per engine and process)."""
    engine = _engine_of(session)
    with _indexes_lock:
        index = _indexes.get(engine)
        if index is None:
            index = _indexes[engine] = StoryIndex()
        return index


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    read = session.info.pop(_READ, None)
    if read is None:
        return
    index = _indexes.get(_engine_of(session))
    if index is not None:
        with index._lock:
            if index._committed is not None and read > index._committed:
                index._committed = read


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    # What this transaction read may include its own rows, gone now; read them again.
    session.info.pop(_READ, None)


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine
