"""The article's publication time: the page's own timestamp first, its day else, and the
listing's time when the two agree on the day or the page states none."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any

from htmldate import find_date

from crawler.extract.metadata import first_metas, json_ld_nodes
from crawler.units import parse_datetime

logger = logging.getLogger(__name__)


_DATE_META_NAMES = (
    "article:published_time",
    "og:article:published_time",
    "article.published",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
    "cxenseparse:recs:publishtime",
)


def _json_ld_dates(tree: Any) -> Iterator[str]:
    for node in json_ld_nodes(tree):
        value = node.get("datePublished")
        if isinstance(value, str):
            yield value


def published_candidates(tree: Any) -> Iterator[str]:
    metas = first_metas(tree)
    for name in _DATE_META_NAMES:
        if name in metas:
            yield metas[name]
    yield from _json_ld_dates(tree)
    for node in tree.xpath('//time[@itemprop="datePublished" or @pubdate][@datetime]'):
        yield node.get("datetime")


def _has_time(value: str) -> bool:
    return "T" in value or ":" in value


def find_published(
    candidates: Iterable[str],
    zone: tzinfo,
    listed: datetime | None,
    fallback_day: Callable[[], str | None] | None = None,
) -> datetime | None:
    """The publication time, the page's own first: its timestamp with a time of day when it
    states one; else its day (meta tags, JSON-LD, then ``fallback_day``: htmldate's reading
    of its metadata and URL), given the feed's or sitemap's time when the listing dates it on
    that same day, and at midnight in the source's zone when not; the listing's time only when
    the page states no date at all. A listing's date is the time the entry was written or last
    changed, which can be days after the article (an update, a re-sorted sitemap); the page's
    ``datePublished`` is the publisher's own, and a modified date is never read."""
    date_only: datetime | None = None
    for candidate in candidates:
        parsed = parse_datetime(candidate, zone)
        if parsed is None:
            continue
        if _has_time(candidate):
            return parsed
        date_only = date_only or parsed
    if date_only is None and fallback_day is not None:
        day = fallback_day()
        date_only = parse_datetime(day, zone) if day else None
    if listed is not None and (
        date_only is None or listed.astimezone(zone).date() == date_only.astimezone(zone).date()
    ):
        return listed.astimezone(UTC)
    return date_only


def page_date(tree: Any, url: str) -> str | None:
    """htmldate's reading of the page's date: its metadata and URL only (the extensive search
    turns "Copyright 2020" into a date)."""
    try:
        return find_date(tree, url=url, extensive_search=False, original_date=True)
    except Exception as exc:  # odd markup: an undated article is better than a lost one
        logger.debug("htmldate failed: %s", exc)
        return None
