"""Watchlist matches: which article matched which watchlist, with which terms."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    Article,
    WatchMatch,
)

if TYPE_CHECKING:
    pass
from storage.sql import dialect_insert


@dataclass(frozen=True, slots=True)
class MatchRecord:
    watchlist: str
    terms: list[dict[str, Any]]
    score: float
    # Where the snippets are cut: {"field", "starts", "widths"} in word indexes of the text.
    hits: dict[str, Any]


def _term_names(terms: Sequence[dict[str, Any]]) -> set[str]:
    return {str(t["term"]) for t in terms}


def save_matches(
    session: Session,
    article: Article,
    found: Sequence[MatchRecord],
    scope: Iterable[str],
    now: datetime,
) -> dict[str, str]:
    """Record the watchlists ``article`` matches among ``scope`` and forget those it no longer
    matches. Idempotent. Returns watchlist -> "new", "updated", "kept" or "removed".

    A match is "updated" when a later revision of the article newly matches the watchlist or
    matches terms it did not before, so digests can say so.
    """
    scope = set(scope)
    previous = {
        m.watchlist: m
        for m in session.scalars(select(WatchMatch).where(WatchMatch.article_id == article.id))
        if m.watchlist in scope
    }
    outcome: dict[str, str] = {}
    for match in found:
        prev = previous.pop(match.watchlist, None)
        if prev is None:
            status = "updated" if article.revision > 1 else "new"
            session.execute(
                dialect_insert(session)(WatchMatch)
                .values(
                    article_id=article.id,
                    watchlist=match.watchlist,
                    terms=match.terms,
                    score=match.score,
                    snippets=[],
                    hits=match.hits,
                    status=status,
                    article_revision=article.revision,
                    matched_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["article_id", "watchlist"])
            )
            outcome[match.watchlist] = status
            continue
        newer = article.revision > prev.article_revision
        gained = _term_names(match.terms) - _term_names(prev.terms)
        if newer and gained:
            prev.status = "updated"
            prev.updated_at = now
            outcome[match.watchlist] = "updated"
        else:
            outcome[match.watchlist] = "kept"
        if (prev.terms, prev.hits, prev.score) != (match.terms, match.hits, match.score):
            prev.terms, prev.hits, prev.score = match.terms, match.hits, match.score
            prev.snippets = []  # a match stored with its snippets: they are cut anew
        prev.article_revision = article.revision
    for stale in previous.values():
        session.delete(stale)
        outcome[stale.watchlist] = "removed"
    return outcome


def add_new_matches(session: Session, rows: Sequence[tuple[int, MatchRecord, datetime]]) -> None:
    """Record the matches of articles just inserted (first revision), in bulk; each is "new".
    Rows are ``(article_id, match, when)``."""
    if not rows:
        return
    session.execute(
        dialect_insert(session)(WatchMatch.__table__).on_conflict_do_nothing(),
        [
            {
                "article_id": article_id,
                "watchlist": match.watchlist,
                "terms": match.terms,
                "score": match.score,
                "snippets": [],
                "hits": match.hits,
                "status": "new",
                "article_revision": 1,
                "matched_at": now,
                "updated_at": now,
            }
            for article_id, match, now in rows
        ],
    )


def matches_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[WatchMatch]]:
    result: dict[int, list[WatchMatch]] = {}
    for match in session.scalars(
        select(WatchMatch)
        .where(WatchMatch.article_id.in_(article_ids))
        .order_by(WatchMatch.article_id, WatchMatch.score.desc())
    ):
        result.setdefault(match.article_id, []).append(match)
    return result
