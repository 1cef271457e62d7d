"""Digests: what a watcher reads — the flagged articles of their watchlists over a period,
grouped by watchlist, then by story — and how one is built from the database.

A story is the articles that share a ``story_id`` (syndicated copies and lightly edited
versions of one wire story): one entry, led by its earliest-published article, with the others
listed as "also reported by". Rendering a digest is crawler.digests.formats' job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from crawler.config import Config, WatcherConfig
from crawler.watch.snippets import snippets_of
from storage.deliveries import items_of, mentions_per_day, undelivered
from storage.health import source_health
from storage.models import Article, Delivery, WatchMatch
from storage.types import utc

CHART_DAYS = 28


@dataclass(frozen=True, slots=True)
class Entry:
    article_id: int
    story_id: int
    title: str
    url: str
    source: str
    published_at: datetime | None
    terms: tuple[tuple[str, int], ...]
    snippet: dict[str, Any] | None
    updated: bool
    also: tuple[tuple[str, str], ...] = ()  # (source, url) of the story's other articles
    changed_at: datetime | None = None  # when a match of the story was last new or updated

    @property
    def articles(self) -> int:
        return 1 + len(self.also)


@dataclass(frozen=True, slots=True)
class Group:
    watchlist: str
    description: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """Mentions (matched articles) per day of each watchlist, days in the watcher's zone."""

    days: tuple[date, ...]
    series: dict[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Unhealthy:
    source: str
    state: str
    reason: str


@dataclass(frozen=True, slots=True)
class Digest:
    watcher: WatcherConfig
    since: datetime
    until: datetime
    groups: tuple[Group, ...] = field(default_factory=tuple)
    kind: str = "digest"  # or "alert": an urgent watchlist's articles, right after the crawl
    folded: int = 0  # later copies of stories already delivered: counted, not listed again
    unhealthy: tuple[Unhealthy, ...] = ()
    chart: Chart | None = None

    @property
    def stories(self) -> int:
        return sum(len(g.entries) for g in self.groups)

    @property
    def articles(self) -> int:
        return sum(e.articles for g in self.groups for e in g.entries)


def build_digest(
    session: Session,
    config: Config,
    watcher: WatcherConfig,
    since: datetime,
    until: datetime | None = None,
) -> Digest:
    """The watcher's flagged articles whose match is new or updated in [since, until), whether
    delivered already or not (``presswatch digest --since``)."""
    until = until or datetime.now(UTC)
    rows = [
        (m, a)
        for m, a in undelivered(session, watcher.watchlists, since)
        if utc(m.updated_at) < until
    ]
    return digest_of_rows(session, config, watcher, "digest", since, until, rows, 0)


def delivery_digest(session: Session, config: Config, row: Delivery) -> Digest:
    """The digest a recorded delivery holds, as its matches read now."""
    watcher = watcher_named(config, row.watcher)
    assert watcher is not None
    listed: list[tuple[WatchMatch, Article]] = []
    seen: set[tuple[str, int]] = set()
    folded = 0
    for item, match, article in items_of(session, row.id):
        if item.folded:
            folded += 1
        # An article that no longer matches is left out; two versions of one match (it
        # was updated while the digest waited) are one entry, as it now reads.
        elif match is not None and (match.watchlist, article.id) not in seen:
            seen.add((match.watchlist, article.id))
            listed.append((match, article))
    return digest_of_rows(
        session, config, watcher, row.kind, row.period_start, row.period_end, listed, folded
    )


def digest_of_rows(
    session: Session,
    config: Config,
    watcher: WatcherConfig,
    kind: str,
    since: datetime,
    until: datetime,
    rows: Sequence[tuple[WatchMatch, Article]],
    folded: int,
) -> Digest:
    """A digest (or an alert: its articles alone) of these flagged articles."""
    groups = group_entries(config, watcher.watchlists, rows)
    if kind == "alert":
        return Digest(watcher, since, until, groups, kind="alert")
    return Digest(
        watcher,
        since,
        until,
        groups,
        folded=folded,
        unhealthy=unhealthy_sources(session, config),
        chart=mentions_chart(session, watcher, until),
    )


def watcher_named(config: Config, name: str) -> WatcherConfig | None:
    return next((w for w in config.watchers if w.name == name), None)


def group_entries(
    config: Config, watchlists: Iterable[str], rows: Iterable[tuple[WatchMatch, Article]]
) -> tuple[Group, ...]:
    """Rows grouped by watchlist (in the watcher's order), then by story, newest first."""
    by_watchlist: dict[str, dict[int, list[tuple[WatchMatch, Article]]]] = {}
    for match, article in rows:
        stories = by_watchlist.setdefault(match.watchlist, {})
        stories.setdefault(article.story_id or article.id, []).append((match, article))
    groups = []
    for name in watchlists:
        stories = by_watchlist.get(name, {})
        entries = [_entry(story_id, members) for story_id, members in stories.items()]
        entries.sort(key=lambda e: (undated_first(e.published_at), e.article_id), reverse=True)
        if entries:
            groups.append(Group(name, _description(config, name), tuple(entries)))
    return tuple(groups)


def _description(config: Config, watchlist: str) -> str:
    known = {w.name: w.description for w in config.watchlists}
    return known.get(watchlist, "")


def unhealthy_sources(session: Session, config: Config) -> tuple[Unhealthy, ...]:
    daemon = config.daemon
    found = []
    for source in config.sources:
        health = source_health(
            session,
            source.name,
            failures=daemon.unhealthy_after_failures,
            quiet_after=daemon.quiet_after,
        )
        if health.unhealthy:
            found.append(Unhealthy(source.name, health.state, health.reason))
    return tuple(found)


def mentions_chart(
    session: Session, watcher: WatcherConfig, until: datetime, days: int = CHART_DAYS
) -> Chart:
    """Articles matched per day for each of the watcher's watchlists over the last ``days``
    days (today included), by the day they were published in the watcher's zone."""
    zone = watcher.zone
    last = utc(until).astimezone(zone).date()
    span = tuple(last - timedelta(days=days - 1 - i) for i in range(days))
    start = datetime.combine(span[0], datetime.min.time(), tzinfo=zone)
    counts = {name: [0] * days for name in watcher.watchlists}
    for watchlist, matched_at in mentions_per_day(session, watcher.watchlists, start):
        index = (utc(matched_at).astimezone(zone).date() - span[0]).days
        if 0 <= index < days:
            counts[watchlist][index] += 1
    return Chart(span, {name: tuple(values) for name, values in counts.items()})


def _entry(story_id: int, members: list[tuple[WatchMatch, Article]]) -> Entry:
    # The story's original (earliest published) leads; the best-scoring match breaks ties.
    members.sort(key=lambda m: (undated_first(m[1].published_at), -m[0].score, m[1].id))
    match, lead = members[0]
    terms = tuple((str(t["term"]), int(t["count"])) for t in match.terms)
    return Entry(
        article_id=lead.id,
        story_id=story_id,
        title=lead.title or lead.url,
        url=lead.url,
        source=lead.source,
        published_at=lead.published_at,
        terms=terms,
        snippet=next(iter(snippets_of(match, lead, limit=1)), None),
        updated=any(m.status == "updated" for m, _ in members),
        also=tuple((a.source, a.url) for _, a in members[1:]),
        changed_at=max(utc(m.updated_at) for m, _ in members),
    )


def undated_first(value: datetime | None) -> datetime:
    """A time to sort by, where an undated article comes before every dated one."""
    return utc(value) if value is not None else datetime.min.replace(tzinfo=UTC)
