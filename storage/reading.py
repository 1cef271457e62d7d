"""Reading stored articles back: the filtered query behind `presswatch export` and the web view,
an article's URLs, and articles streamed in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Select,
    func,
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    Article,
    ArticleUrl,
    WatchMatch,
)

if TYPE_CHECKING:
    pass
from storage.matches import matches_of


def articles_query(
    since: datetime | None = None,
    source: str | None = None,
    *,
    flagged: bool = False,
    watchlist: str | None = None,
) -> Select[Any]:
    query = select(Article).order_by(Article.id)
    if since is not None:
        query = query.where(func.coalesce(Article.published_at, Article.fetched_at) >= since)
    if source is not None:
        query = query.where(Article.source == source)
    if flagged or watchlist is not None:
        matched = select(WatchMatch.article_id)
        if watchlist is not None:
            matched = matched.where(WatchMatch.watchlist == watchlist)
        query = query.where(Article.id.in_(matched))
    return query


def urls_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    rows = session.execute(
        select(ArticleUrl.article_id, ArticleUrl.url)
        .where(ArticleUrl.article_id.in_(article_ids))
        .order_by(ArticleUrl.article_id, ArticleUrl.first_seen_at, ArticleUrl.url)
    )
    for article_id, url in rows:
        result.setdefault(article_id, []).append(url)
    return result


@dataclass(frozen=True, slots=True)
class ArticleView:
    """An article with every URL it was seen at and its watchlist matches."""

    article: Article
    urls: list[str]
    matches: list[WatchMatch]


def iter_articles(
    session: Session,
    since: datetime | None = None,
    source: str | None = None,
    *,
    flagged: bool = False,
    watchlist: str | None = None,
    batch: int = 500,
) -> Iterator[ArticleView]:
    """Stored articles in id order, read in batches (keyset pagination)."""
    last_id = 0
    base = articles_query(since, source, flagged=flagged, watchlist=watchlist)
    while True:
        page = list(session.scalars(base.where(Article.id > last_id).limit(batch)))
        if not page:
            return
        ids = [a.id for a in page]
        urls = urls_of(session, ids)
        matches = matches_of(session, ids)
        for article in page:
            yield ArticleView(
                article, urls.get(article.id, [article.url]), matches.get(article.id, [])
            )
        last_id = page[-1].id
