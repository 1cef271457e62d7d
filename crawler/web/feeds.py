"""Each watchlist's Atom feed at a stable URL, as ``presswatch feed`` writes it
(crawler/digests/atom.py), read for the stories the feed shows only: the ``feed_entries``
stories last flagged within ``feed_days``, with all their flagged articles of that period, not
every match of the period. A feed is made at most every FRESH_FOR seconds (feed readers poll
every few minutes at most)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.config import Config
from crawler.digests.atom import render_atom
from crawler.digests.digest import group_entries
from crawler.web.reads import watchlist_unindexed
from storage.models import Article, WatchMatch

FRESH_FOR = 60.0


def feed_xml(session: Session, config: Config, watchlist: str, self_href: str) -> bytes:
    now = datetime.now(UTC)
    since = now - config.delivery.feed_days
    story = func.coalesce(Article.story_id, Article.id)
    # The updated_at index bounds the walk; the watchlist is checked on each row it finds.
    in_period = (
        WatchMatch.updated_at >= since,
        watchlist_unindexed(session) == watchlist,
    )
    newest = (
        select(story)
        .select_from(WatchMatch)
        .join(Article, Article.id == WatchMatch.article_id)
        .where(*in_period)
        .group_by(story)
        .order_by(func.max(WatchMatch.updated_at).desc())
        .limit(config.delivery.feed_entries)
    )
    stories = list(session.scalars(newest))
    rows = [
        (match, article)
        for match, article in session.execute(
            select(WatchMatch, Article)
            .join(Article, Article.id == WatchMatch.article_id)
            .where(*in_period, story.in_(stories))
            .order_by(WatchMatch.id)
        )
    ]
    described = next((w for w in config.watchlists if w.name == watchlist), None)
    title = (described.description if described else "") or watchlist
    return render_atom(
        feed_id=f"urn:presswatch:watchlist:{watchlist}",
        title=f"presswatch: {title}",
        groups=group_entries(config, [watchlist], rows),
        now=now,
        limit=config.delivery.feed_entries,
        self_href=self_href,
    )
