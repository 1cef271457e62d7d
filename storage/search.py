"""Full-text search's first cut: the words of each article indexed (FTS5 on SQLite, a words
column on PostgreSQL), and the candidates a query's required words allow."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Select,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from storage.models import (
    Article,
    ArticleSearch,
)

if TYPE_CHECKING:
    pass
from storage.reading import articles_query

# A prefilter is a tree of substrings every matching article's normalised words must contain:
# a string, ("AND", [...]), ("OR", [...]), or None for "no constraint".
Prefilter = str | tuple[str, list[Any]] | None


def set_search_words(session: Session, article_id: int, words: str) -> None:
    """Index an article's normalised words (built by the caller) for search prefiltering."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DELETE FROM article_search WHERE rowid = :id"), {"id": article_id})
        session.execute(
            text("INSERT INTO article_search (rowid, words) VALUES (:id, :words)"),
            {"id": article_id, "words": words},
        )
    else:
        session.execute(
            postgresql.insert(ArticleSearch)
            .values(article_id=article_id, words=words)
            .on_conflict_do_update(index_elements=["article_id"], set_={"words": words})
        )


def add_search_words(session: Session, rows: Sequence[tuple[int, str]]) -> None:
    """Index the words of articles just inserted (``(article_id, words)`` pairs), in bulk."""
    if not rows:
        return
    if session.get_bind().dialect.name == "sqlite":
        # A rowid freed by a deleted article may come back: clear what it left.
        session.execute(
            text("DELETE FROM article_search WHERE rowid IN (SELECT value FROM json_each(:ids))"),
            {"ids": json.dumps([article_id for article_id, _ in rows])},
        )
        session.execute(
            text("INSERT INTO article_search (rowid, words) VALUES (:id, :words)"),
            [{"id": article_id, "words": words} for article_id, words in rows],
        )
    else:
        statement = postgresql.insert(ArticleSearch)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["article_id"], set_={"words": statement.excluded.words}
            ),
            [{"article_id": article_id, "words": words} for article_id, words in rows],
        )


def words_of(session: Session, article_ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """The indexed words of articles (those that have them), each with its language."""
    if not article_ids:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(
            text(
                "SELECT a.id, w.words, a.language FROM article_search w"
                " JOIN articles a ON a.id = w.rowid"
                " WHERE w.rowid IN (SELECT value FROM json_each(:ids))"
            ),
            {"ids": json.dumps(list(article_ids))},
        )
    else:
        rows = session.execute(
            select(Article.id, ArticleSearch.words, Article.language)
            .join(ArticleSearch, ArticleSearch.article_id == Article.id)
            .where(Article.id.in_(article_ids))
        )
    return {article_id: (words, language) for article_id, words, language in rows}


def _fts5(node: Prefilter) -> str | None:
    if node is None:
        return None
    if isinstance(node, str):
        return '"' + node.replace('"', '""') + '"' if len(node) >= 3 else None
    op, children = node
    parts = [_fts5(c) for c in children]
    if op == "AND":
        kept = [p for p in parts if p]
        return "(" + " AND ".join(kept) + ")" if kept else None
    if any(p is None for p in parts):
        return None
    return "(" + " OR ".join(p for p in parts if p) + ")"


def _like(node: Prefilter) -> Any:
    if node is None:
        return None
    if isinstance(node, str):
        escaped = node.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return ArticleSearch.words.like(f"%{escaped}%")
    op, children = node
    parts = [_like(c) for c in children]
    if op == "AND":
        kept = [p for p in parts if p is not None]
        return and_(*kept) if kept else None
    if any(p is None for p in parts):
        return None
    return or_(*parts)


def languages(session: Session) -> list[str]:
    """The distinct languages of stored articles, in a few index probes (a loose index scan:
    each step asks the language index for the next value), not a scan of every article."""
    rows = session.execute(
        text(
            "WITH RECURSIVE seen(language) AS ("
            " SELECT min(language) FROM articles"
            " UNION ALL"
            " SELECT (SELECT min(language) FROM articles WHERE language > seen.language)"
            " FROM seen WHERE seen.language IS NOT NULL"
            ") SELECT language FROM seen WHERE language IS NOT NULL"
        )
    )
    return [row[0] for row in rows]


_WALK_THRESHOLD = 5000


# The results a search shows at once: walking the recency index finds them after about
# _WALK_PAGE * articles / candidates entries, where fetching and sorting costs a row per
# candidate.
_WALK_PAGE = 25


def search_candidates(
    session: Session,
    prefilter: Prefilter,
    since: datetime | None = None,
    source: str | None = None,
) -> Select[Any]:
    """A query for the articles that can match, newest first, before exact matching."""
    query = (
        articles_query(since, source)
        .order_by(None)
        .order_by(func.coalesce(Article.published_at, Article.fetched_at).desc(), Article.id.desc())
    )
    if session.get_bind().dialect.name == "sqlite":
        expression = _fts5(prefilter)
        if expression:
            ids = text("SELECT rowid FROM article_search WHERE article_search MATCH :q")
            many = session.scalar(
                text(
                    "SELECT count(*) FROM (SELECT rowid FROM article_search"
                    " WHERE article_search MATCH :q LIMIT :n)"
                ),
                {"q": expression, "n": _WALK_THRESHOLD},
            )
            # Few candidates: fetch them by id and sort them. Many, or dense enough among the
            # articles that a page of them is met early (candidates² >= _WALK_PAGE x articles:
            # 1,600 of 100,000, 5,000 of a million): walk the articles newest first along the
            # recency index, keeping the candidates, and stop when the caller has enough,
            # rather than sort every candidate (which SQLite's planner would do, at seconds a
            # query with a million articles; 56 ms for 4,500 of 100,000, against 7 walking);
            # the unary + keeps the planner off the id lookup.
            articles = session.scalar(select(func.max(Article.id))) or 0
            walk = many >= _WALK_THRESHOLD or many * many >= _WALK_PAGE * articles
            column = literal_column("+articles.id") if walk else Article.id
            query = query.where(column.in_(ids.bindparams(q=expression)))
    else:
        condition = _like(prefilter)
        if condition is not None:
            query = query.where(Article.id.in_(select(ArticleSearch.article_id).where(condition)))
    return query
