"""Search over stored articles with the watchlist query language, paged by a cursor.

The candidates come newest first from the search index's prefilter (``search_candidates``, as
``presswatch search`` reads them), each checked by the matcher; a page stops at ``PAGE``
results or after ``BUDGET`` candidates, whichever comes first, so that no request reads the
whole database: the next page (or the rest of this one) continues from the cursor, the
(time, id) of the last candidate examined.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from crawler.watch.evaluation import compile_query
from crawler.watch.flagging import prefilter
from crawler.watch.matcher import Matcher, WatchlistQuery
from crawler.watch.query import QueryError
from crawler.web import highlight
from storage import search as search_store
from storage.models import Article, WatchMatch
from storage.types import iso

PAGE = 20
BUDGET = 2000  # candidates examined per request at most
CHUNK = 25  # articles read at once
TRY_DAYS = 7
TRY_BUDGET = 20_000
TRY_SHOWN = 50
TRY_CHUNK = 100  # a trial reads on to its budget: larger reads (its first ones whole)
WORDS_CHUNK = 1000  # search words read at once, past the articles listed


@dataclass(frozen=True, slots=True)
class Filters:
    since: datetime | None = None
    source: str | None = None
    language: str | None = None
    watchlist: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    story_id: int
    title: str
    url: str
    source: str
    language: str | None
    published_at: str | None
    terms: list[dict[str, Any]]
    snippets: list[list[highlight.Piece]]
    snippet_dicts: list[dict[str, Any]]
    flagged_by: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "story_id": self.story_id,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "language": self.language,
            "published_at": self.published_at,
            "terms": self.terms,
            "snippets": self.snippet_dicts,
            "flagged_by": self.flagged_by,
        }


@dataclass(frozen=True, slots=True)
class Results:
    hits: list[Hit]
    examined: int
    next_cursor: str | None  # where the next request continues; None when all were examined
    complete: bool  # every candidate was examined (``hits`` are all there are, up to the page)
    count: int = 0  # articles matched (``hits`` may show fewer: ``shown``)
    flagged: int = 0  # of those, how many a configured watchlist flags

    def as_dict(self) -> dict[str, Any]:
        return {
            "results": [h.as_dict() for h in self.hits],
            "examined": self.examined,
            "next": self.next_cursor,
            "complete": self.complete,
        }


def check(query: str) -> QueryError | None:
    """The query's syntax error, if it has one."""
    try:
        compile_query(query)
    except QueryError as error:
        return error
    return None


def _cursor(when: datetime, article_id: int) -> str:
    return f"{when.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%f')}_{article_id}"


def parse_cursor(value: str | None) -> tuple[datetime, int] | None:
    if not value:
        return None
    try:
        when, _, article_id = value.partition("_")
        return datetime.strptime(when, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC), int(article_id)
    except ValueError:
        return None


def search(
    session: Session,
    query: str,
    filters: Filters,
    *,
    cursor: str | None = None,
    page: int = PAGE,
    budget: int = BUDGET,
    shown: int | None = None,
    chunk: int = CHUNK,
) -> Results:
    """Up to ``page`` articles matching ``query`` (a valid query: see ``check``), of which the
    first ``shown`` (all by default) with their hits; the others are only counted."""
    node = compile_query(query)
    matcher = Matcher([WatchlistQuery("search", query)])
    languages = search_store.languages(session)
    statement = search_store.search_candidates(
        session, prefilter(node, languages), filters.since, filters.source
    )
    recency = func.coalesce(Article.published_at, Article.fetched_at)
    if filters.language:
        statement = statement.where(Article.language == filters.language)
    if filters.watchlist:
        statement = statement.where(
            Article.id.in_(
                select(WatchMatch.article_id).where(WatchMatch.watchlist == filters.watchlist)
            )
        )
    after = parse_cursor(cursor)
    if after is not None:
        when, last_id = after
        statement = statement.where(
            or_(recency < when, and_(recency == when, Article.id < last_id))
        )
    wanted = page if shown is None else min(shown, page)
    # Past the articles shown, matches are only counted: from the search words indexed for
    # each article where the query can be decided from them (no splitting and folding of the
    # text again), else from the text.
    by_words = shown is not None and matcher.reads_search_words
    found: list[tuple[Any, Any]] = []
    counted: list[int] = []  # the ids of the matches beyond those shown
    examined = 0
    last: _Candidate | None = None
    exhausted = True
    candidates = _read(
        session, statement, chunk, rows_wanted=lambda: not by_words or len(found) < wanted
    )
    for candidate in candidates:
        examined += 1
        last = candidate
        row = candidate.row
        if row is None:
            assert candidate.words is not None
            if matcher.matching_search_words(*candidate.words):
                counted.append(candidate.id)
        elif len(found) < wanted:
            matches = matcher.match(row.title or "", row.text, row.language)
            if matches:
                found.append((row, matches[0]))
        elif matcher.matching(row.title or "", row.text, row.language):
            counted.append(candidate.id)
        if len(found) + len(counted) >= page or examined >= budget:
            exhausted = False
            break
    candidates.close()
    flagged = _flagged_by(session, [a.id for a, _ in found] + counted)
    hits = [_hit(a, m, flagged.get(a.id, [])) for a, m in found]
    next_cursor = None
    if not exhausted and last is not None:
        next_cursor = _cursor(last.when, last.id)
    return Results(
        hits,
        examined,
        next_cursor,
        exhausted,
        len(found) + len(counted),
        sum(map(bool, flagged.values())),
    )


# What a result needs of an article: not its fingerprints, tags or authors.
_READ = (
    Article.id,
    Article.story_id,
    Article.title,
    Article.url,
    Article.source,
    Article.language,
    Article.published_at,
    Article.fetched_at,
    Article.text,
)


@dataclass(frozen=True, slots=True)
class _Candidate:
    id: int
    when: datetime  # its time in the search's order: where the next page continues
    row: Any  # its columns (``_READ``), when they were read
    words: tuple[str, str | None] | None  # else its search words and language


def _read(
    session: Session, statement: Select[Any], chunk: int, *, rows_wanted: Callable[[], bool]
) -> Generator[_Candidate, None, None]:
    """The candidates of ``statement``, in its order, read ``chunk`` at a time: their ids in
    order first (SQLite sorts a few thousand ids, not their texts), then their columns; or,
    where ``rows_wanted()`` says no when a chunk is read, only their search words, a larger
    chunk at a time (the articles without indexed words are read whole)."""
    recency = func.coalesce(Article.published_at, Article.fetched_at)
    ids = session.execute(
        statement.with_only_columns(Article.id, recency).execution_options(yield_per=chunk)
    )
    try:
        while True:
            whole = rows_wanted()
            part = ids.fetchmany(chunk if whole else WORDS_CHUNK)
            if not part:
                return
            keys = [article_id for article_id, _ in part]
            words = {} if whole else search_store.words_of(session, keys)
            rest = [key for key in keys if key not in words]
            rows: dict[int, Any] = {}
            if rest:
                rows = {
                    r.id: r for r in session.execute(select(*_READ).where(Article.id.in_(rest)))
                }
            for article_id, when in part:
                row, said = rows.get(article_id), words.get(article_id)
                if row is not None or said is not None:
                    yield _Candidate(article_id, when, row, said)
    finally:
        ids.close()


def _hit(article: Any, match: Any, flagged_by: list[str]) -> Hit:
    snippets = [s.as_dict() for s in match.snippets[:2]]
    return Hit(
        id=article.id,
        story_id=article.story_id or article.id,
        title=article.title or article.url,
        url=article.url,
        source=article.source,
        language=article.language,
        published_at=iso(article.published_at),
        terms=[{"term": t.term, "count": t.count, "where": list(t.where)} for t in match.terms],
        snippets=[highlight.snippet_pieces(s) for s in snippets],
        snippet_dicts=snippets,
        flagged_by=flagged_by,
    )


def _flagged_by(session: Session, article_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not article_ids:
        return found
    for first in range(0, len(article_ids), 500):
        for article_id, watchlist in session.execute(
            select(WatchMatch.article_id, WatchMatch.watchlist)
            .where(WatchMatch.article_id.in_(article_ids[first : first + 500]))
            .order_by(WatchMatch.watchlist)
        ):
            found.setdefault(article_id, []).append(watchlist)
    return found


@dataclass(frozen=True, slots=True)
class Trial:
    """What a draft watchlist would flag among the last ``days`` days' articles."""

    days: int
    flagged: int
    examined: int
    complete: bool
    hits: list[Hit]
    already_flagged: int  # of those flagged, how many a configured watchlist flags already

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "would_flag": self.flagged,
            "examined": self.examined,
            "complete": self.complete,
            "already_flagged": self.already_flagged,
            "results": [h.as_dict() for h in self.hits],
        }


def try_query(session: Session, query: str, days: int, now: datetime) -> Trial:
    """Run a draft watchlist over the last ``days`` days (at most TRY_BUDGET candidates)."""
    since = now - timedelta(days=days)
    results = search(
        session,
        query,
        Filters(since=since),
        page=TRY_BUDGET,
        budget=TRY_BUDGET,
        shown=TRY_SHOWN,
        chunk=TRY_CHUNK,
    )
    return Trial(
        days, results.count, results.examined, results.complete, results.hits, results.flagged
    )
