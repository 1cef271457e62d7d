"""What the web view shows, read from the database: one function per page, each returning plain
values that the HTML templates and the JSON API both render.

A mention is a flagged article, dated by its publication (by when it was matched if the page
gave no date), as in the digests' chart; days are UTC days. Queries read columns, not whole
articles, except for the one article whose text a story page shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.orm import Session

from crawler.config import Config
from crawler.watch.tokens import FieldWords
from crawler.web import highlight, svgchart
from storage.models import Article, ArticleRevision, WatchMatch
from storage.types import iso, utc

CHART_DAYS = 30
TOP_DAYS = 7
TOP_STORIES = 5
TOP_CANDIDATES = 20
NEW_STORIES = 8
WATCHLIST_STORIES = 50
# "Breaking": a watchlist's mentions in the last BREAKING_HOURS are at least BREAKING_FACTOR
# times its usual rate over the BASELINE_DAYS before them (per BREAKING_HOURS), and at least
# BREAKING_MINIMUM (a watchlist with no history needs that many to be breaking).
BREAKING_HOURS = 6
BASELINE_DAYS = 7
BREAKING_FACTOR = 3.0
BREAKING_MINIMUM = 5
BREAKING_RULE = (
    f"at least {BREAKING_MINIMUM} mentions in the last {BREAKING_HOURS} hours, and at least "
    f"{BREAKING_FACTOR:g} times the watchlist's usual rate (its mentions over the "
    f"{BASELINE_DAYS} days before, per {BREAKING_HOURS} hours)"
)


def watchlist_unindexed(session: Session) -> Any:
    """``matches.watchlist`` as SQLite's planner will not look it up by its index (a unary
    +): for queries the updated_at index bounds better. PostgreSQL's planner weighs both."""
    if session.get_bind().dialect.name == "sqlite":
        return literal_column("+matches.watchlist")
    return WatchMatch.watchlist


# -- stories --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StorySummary:
    story_id: int
    article_id: int  # the story's original: its earliest published article
    title: str
    source: str
    url: str
    published_at: str | None
    outlets: int
    articles: int
    changed_at: str | None = None  # when one of its matches was last new or updated
    flagged_outlets: int | None = None  # outlets among its articles the watchlist flagged

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def story_summaries(
    session: Session, story_ids: Sequence[int], changed: dict[int, datetime] | None = None
) -> list[StorySummary]:
    """Summaries of ``story_ids``, in that order."""
    if not story_ids:
        return []
    members: dict[int, list[Any]] = {}
    for row in session.execute(
        select(
            Article.id,
            Article.story_id,
            Article.source,
            Article.title,
            Article.url,
            Article.published_at,
        ).where(Article.story_id.in_(list(story_ids)))
    ):
        members.setdefault(row.story_id, []).append(row)
    found = []
    for story_id in story_ids:
        rows = members.get(story_id)
        if not rows:
            continue
        rows.sort(key=lambda r: (utc(r.published_at) or datetime.max.replace(tzinfo=UTC), r.id))
        lead = rows[0]
        found.append(
            StorySummary(
                story_id=story_id,
                article_id=lead.id,
                title=lead.title or lead.url,
                source=lead.source,
                url=lead.url,
                published_at=iso(lead.published_at),
                outlets=len({r.source for r in rows}),
                articles=len(rows),
                changed_at=iso((changed or {}).get(story_id)),
            )
        )
    return found


def new_stories(session: Session, watchlist: str, since: datetime) -> tuple[int, list[Any]]:
    """How many of the watchlist's stories were flagged (or updated) since ``since``, and the
    latest NEW_STORIES of them as (story_id, changed) rows: for a ``since`` before the
    activity's window (the API's ``?since=``)."""
    story = func.coalesce(Article.story_id, Article.id)
    recent = (
        select(story.label("story_id"), func.max(WatchMatch.updated_at).label("changed"))
        .join(Article, Article.id == WatchMatch.article_id)
        .where(WatchMatch.watchlist == watchlist, WatchMatch.updated_at >= since)
        .group_by(story)
    )
    count = session.scalar(select(func.count()).select_from(recent.subquery())) or 0
    rows = session.execute(
        recent.order_by(func.max(WatchMatch.updated_at).desc()).limit(NEW_STORIES)
    ).all()
    return int(count), list(rows)


# -- overview -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Breaking:
    breaking: bool
    recent: int
    usual: float  # per BREAKING_HOURS, over the BASELINE_DAYS before

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rule": BREAKING_RULE}


@dataclass(frozen=True, slots=True)
class WatchlistView:
    name: str
    description: str
    query: str
    new_count: int
    new: list[StorySummary]
    days: tuple[date, ...]
    counts: tuple[int, ...]
    breaking: Breaking
    top: list[StorySummary] = field(default_factory=list)

    @property
    def chart(self) -> svgchart.Chart:
        return svgchart.bars(self.days, self.counts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "query": self.query,
            "new_since_last_visit": self.new_count,
            "new_stories": [s.as_dict() for s in self.new],
            "mentions_per_day": {
                d.isoformat(): c for d, c in zip(self.days, self.counts, strict=True)
            },
            "breaking": self.breaking.as_dict(),
            "top_stories": [s.as_dict() for s in self.top],
            "feed": f"/feeds/{self.name}.atom",
        }


def overview(
    session: Session,
    config: Config,
    since: datetime,
    activity: Any,
    fresh: dict[str, dict[int, datetime]],
) -> list[WatchlistView]:
    """Each watchlist's view: ``activity`` (``crawler.web.activity.Activity``) and the
    stories flagged after it (``fresh``); stories new since before the activity's window are
    read from the matches."""
    window_start = datetime.combine(activity.days[0], datetime.min.time(), tzinfo=UTC)
    new: dict[str, tuple[int, list[tuple[int, datetime]]]] = {}
    wanted: list[int] = []
    for watchlist in config.watchlists:
        name = watchlist.name
        if since >= window_start:
            count, stories = activity.stories_since(name, since, fresh.get(name, {}))
            new[name] = (count, stories[:NEW_STORIES])
        else:
            count, rows = new_stories(session, name, since)
            new[name] = (count, [(r.story_id, r.changed) for r in rows])
        wanted += [story for story, _ in new[name][1]]
        # Ranked by the outlets among the flagged articles, then by all the story's articles.
        wanted += [story for story, _, _ in activity.top.get(name, [])[:TOP_CANDIDATES]]
    changed = {story: when for name in new for story, when in new[name][1]}
    summaries = {s.story_id: s for s in story_summaries(session, list(dict.fromkeys(wanted)))}
    views = []
    for watchlist in config.watchlists:
        name = watchlist.name
        count, stories = new[name]
        views.append(
            WatchlistView(
                name=name,
                description=watchlist.description,
                query=watchlist.query,
                new_count=count,
                new=[
                    replace(summaries[story], changed_at=iso(changed.get(story)))
                    for story, _ in stories
                    if story in summaries
                ],
                days=activity.days,
                counts=activity.series.get(name, (0,) * len(activity.days)),
                breaking=activity.breaking[name],
                top=sorted(
                    (
                        replace(summaries[story], flagged_outlets=outlets)
                        for story, outlets, _ in activity.top.get(name, [])[:TOP_CANDIDATES]
                        if story in summaries
                    ),
                    key=lambda s: (-s.outlets, -s.articles, -s.story_id),
                )[:TOP_STORIES],
            )
        )
    return views


def watchlist_stories(
    session: Session, name: str, activity: Any, fresh: dict[int, datetime]
) -> list[StorySummary]:
    """The watchlist's stories flagged or updated in the activity's window, latest first."""
    since = datetime.combine(activity.days[0], datetime.min.time(), tzinfo=UTC)
    _count, stories = activity.stories_since(name, since, fresh)
    stories = stories[:WATCHLIST_STORIES]
    found = {s.story_id: s for s in story_summaries(session, [s for s, _ in stories])}
    return [
        replace(found[story], changed_at=iso(when)) for story, when in stories if story in found
    ]


# -- a story --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoryView:
    story_id: int
    members: list[dict[str, Any]]
    article: dict[str, Any]
    title: list[highlight.Piece]
    paragraphs: list[list[highlight.Piece]]
    matches: list[dict[str, Any]]
    revisions: list[dict[str, Any]]
    revision_shown: int | None  # an earlier revision's text is shown (no highlights)

    def as_dict(self) -> dict[str, Any]:
        text = "\n".join("".join(p.text for p in para) for para in self.paragraphs)
        return {
            "story_id": self.story_id,
            "articles": self.members,
            "article": {**self.article, "text": text},
            "highlights": [[start, end] for start, end in _ranges_of(self.paragraphs)],
            "matches": self.matches,
            "revisions": self.revisions,
            "revision_shown": self.revision_shown,
        }


def _ranges_of(paragraphs: list[list[highlight.Piece]]) -> list[tuple[int, int]]:
    """The marked ranges in the text as the API gives it (paragraphs joined by newlines)."""
    ranges, offset = [], 0
    for para in paragraphs:
        for piece in para:
            if piece.marked:
                ranges.append((offset, offset + len(piece.text)))
            offset += len(piece.text)
        offset += 1
    return ranges


def story(
    session: Session, story_id: int, article_id: int | None = None, revision: int | None = None
) -> StoryView | None:
    """The story's articles, and one of them (``article_id``, else the original) with its
    text, its watchlist hits marked, and its revisions."""
    rows = list(
        session.execute(
            select(
                Article.id,
                Article.source,
                Article.site_name,
                Article.language,
                Article.title,
                Article.url,
                Article.published_at,
                Article.fetched_at,
                Article.revision,
            ).where(
                # (Two conditions the story_id and id indexes each answer.)
                or_(
                    Article.story_id == story_id,
                    and_(Article.id == story_id, Article.story_id.is_(None)),
                )
            )
        )
    )
    if not rows:
        return None
    rows.sort(key=lambda r: (utc(r.published_at) or datetime.max.replace(tzinfo=UTC), r.id))
    ids = [r.id for r in rows]
    chosen_id = article_id if article_id in ids else ids[0]
    article = session.get_one(Article, chosen_id)
    matches = list(
        session.scalars(
            select(WatchMatch)
            .where(WatchMatch.article_id == chosen_id)
            .order_by(WatchMatch.score.desc())
        )
    )
    revisions = list(
        session.scalars(
            select(ArticleRevision)
            .where(ArticleRevision.article_id == chosen_id)
            .order_by(ArticleRevision.revision.desc())
        )
    )
    flagged = {a: sorted(w) for a, w in _watchlists_of(session, ids).items()}
    members = [
        {
            "id": r.id,
            "source": r.source,
            "site_name": r.site_name,
            "language": r.language,
            "title": r.title or r.url,
            "url": r.url,
            "published_at": iso(r.published_at),
            "fetched_at": iso(r.fetched_at),
            "revision": r.revision,
            "watchlists": flagged.get(r.id, []),
            "original": r.id == ids[0],
        }
        for r in rows
    ]
    title, body = article.title or "", article.text
    shown = None
    if revision is not None and revision != article.revision:
        earlier = next((r for r in revisions if r.revision == revision), None)
        if earlier is not None:
            title, body, shown = earlier.title or "", earlier.text, revision
    words = FieldWords(title, body)
    body_ranges: list[tuple[int, int]] = []
    title_ranges: list[tuple[int, int]] = []
    if shown is None:
        for match in matches:
            if match.hits is None or match.article_revision != article.revision:
                continue
            body_ranges += highlight.hit_ranges(words, "body", match.hits)
            title_ranges += highlight.hit_ranges(words, "title", match.hits)
    return StoryView(
        story_id=story_id,
        members=members,
        article={
            "id": article.id,
            "source": article.source,
            "site_name": article.site_name,
            "title": article.title or article.url,
            "url": article.url,
            "language": article.language,
            "authors": list(article.authors or []),
            "published_at": iso(article.published_at),
            "fetched_at": iso(article.fetched_at),
            "updated_at": iso(article.updated_at),
            "revision": article.revision,
        },
        title=highlight.pieces(title, highlight.merge(title_ranges)),
        paragraphs=highlight.paragraphs(body, body_ranges),
        matches=[
            {
                "watchlist": m.watchlist,
                "terms": m.terms,
                "score": m.score,
                "status": m.status,
                "matched_at": iso(m.matched_at),
                "updated_at": iso(m.updated_at),
                "current": m.article_revision == article.revision,
            }
            for m in matches
        ],
        revisions=[
            {
                "revision": r.revision,
                "title": r.title,
                "fetched_at": iso(r.fetched_at),
                "replaced_at": iso(r.replaced_at),
                "characters": len(r.text),
            }
            for r in revisions
        ],
        revision_shown=shown,
    )


def _watchlists_of(session: Session, article_ids: Sequence[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for article_id, watchlist in session.execute(
        select(WatchMatch.article_id, WatchMatch.watchlist).where(
            WatchMatch.article_id.in_(list(article_ids))
        )
    ):
        found.setdefault(article_id, set()).add(watchlist)
    return found
