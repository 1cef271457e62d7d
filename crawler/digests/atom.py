"""Atom feeds of flagged stories: one entry per story and watchlist, for feed readers.

A feed is rewritten whole from the database (the newest stories of the last
``[delivery] feed_days``); readers recognise entries they have shown by their stable ``id``, so
a story appears once however often the file is rewritten, and again only when it is updated.
Every text and attribute goes through ``xml_text``: whatever the database holds, the feed is
well-formed XML 1.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree
from sqlalchemy.orm import Session

from crawler.config import Config
from crawler.digests.digest import Entry, Group, group_entries
from crawler.digests.render import entry_summary_html
from crawler.escaping import xml_text
from storage.deliveries import undelivered
from storage.types import iso, utc

ATOM = "http://www.w3.org/2005/Atom"
GENERATOR = "presswatch"


def feed_groups(
    session: Session, config: Config, watchlists: Sequence[str], now: datetime
) -> tuple[Group, ...]:
    since = now - config.delivery.feed_days
    rows = undelivered(session, watchlists, since)
    return group_entries(config, watchlists, rows)


def render_atom(
    *,
    feed_id: str,
    title: str,
    groups: Sequence[Group],
    now: datetime,
    limit: int,
    self_href: str | None = None,
) -> bytes:
    entries = sorted(
        ((g, e) for g in groups for e in g.entries),
        key=lambda ge: (_dated(ge[1].changed_at or ge[1].published_at), ge[1].story_id),
        reverse=True,
    )[:limit]
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    newest = max((_dated(e.changed_at) for _, e in entries), default=_dated(now))
    _text(feed, "updated", iso(newest))
    _text(etree.SubElement(feed, f"{{{ATOM}}}author"), "name", GENERATOR)
    _text(feed, "generator", GENERATOR)
    if self_href:
        _child(feed, "link", rel="self", href=self_href)
    for group, entry in entries:
        _entry(feed, feed_id, group, entry)
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _entry(feed: etree._Element, feed_id: str, group: Group, entry: Entry) -> None:
    node = etree.SubElement(feed, f"{{{ATOM}}}entry")
    # One id per story and watchlist: copies of the story never make a second entry.
    _text(node, "id", f"{feed_id}:{group.watchlist}:story:{entry.story_id}")
    prefix = "[updated] " if entry.updated else ""
    _text(node, "title", prefix + entry.title)
    _child(node, "link", rel="alternate", href=entry.url)
    _text(node, "updated", iso(_dated(entry.changed_at or entry.published_at)))
    if entry.published_at:
        _text(node, "published", iso(_dated(entry.published_at)))
    _text(etree.SubElement(node, f"{{{ATOM}}}author"), "name", entry.source)
    _child(node, "category", term=group.watchlist)
    summary = _text(node, "summary", entry_summary_html(entry))
    summary.set("type", "html")


def _text(parent: etree._Element, name: str, value: str) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ATOM}}}{name}")
    node.text = xml_text(value)
    return node


def _child(parent: etree._Element, name: str, **attributes: str) -> etree._Element:
    return etree.SubElement(
        parent, f"{{{ATOM}}}{name}", {k: xml_text(v) for k, v in attributes.items()}
    )


def _dated(value: datetime | None) -> datetime:
    """An entry's time as Atom needs one: an undated entry is dated at the epoch."""
    return utc(value) if value is not None else datetime(1970, 1, 1, tzinfo=UTC)
