"""OPML 2.0 subscription lists, as feed readers write them, to and from sources.

Reading: every ``<outline>`` with an ``xmlUrl`` is a feed; the titles of the outlines around it
are its categories. Feeds of one site (by the registrable domain of ``htmlUrl``, else of
``xmlUrl``) become one source. Writing: one outline per feed, in categories by source, each
carrying ``presswatch:source`` and, on a source's first outline, what else its block says
(``presswatch:config``, JSON): feed readers ignore both, and an export imports back to the same
sources, sitemap-only ones included.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from storage.urlkeys import site_of

NS = "https://github.com/presswatch/presswatch/opml"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


class OpmlError(Exception):
    """An OPML file that cannot be read; the message says why."""


@dataclass
class OpmlSite:
    """The feeds of one site (or of one exported source)."""

    key: str
    name: str | None = None  # presswatch:source, when exported by presswatch
    feeds: list[str] = field(default_factory=list)
    home: str | None = None
    titles: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # presswatch:config

    def table(self, name: str) -> dict[str, Any]:
        table: dict[str, Any] = {"name": name}
        if self.feeds:
            table["feeds"] = list(self.feeds)
        table.update(self.extra)
        if "allowed_domains" not in table and self.home:
            # A feed hosted elsewhere (FeedBurner): the crawl must be let onto the site.
            site = site_of(self.home)
            if any(site_of(f) != site for f in self.feeds):
                table["allowed_domains"] = [site]
        return table

    def comment(self) -> str:
        title = "; ".join(dict.fromkeys(self.titles))
        category = ", ".join(dict.fromkeys(self.categories))
        return " ".join(
            part
            for part in (
                f'"{title}"' if title else "",
                f"(category: {category})" if category else "",
            )
            if part
        )


def read_opml(data: bytes) -> list[OpmlSite]:
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"is not XML ({exc})") from None
    if root is None or root.tag != "opml":
        raise OpmlError("is not OPML: its root element is not <opml>")
    body = root.find("body")
    if body is None:
        raise OpmlError("is not OPML: it has no <body>")
    sites: dict[str, OpmlSite] = {}
    _walk(body, [], sites)
    return list(sites.values())


def _attr(node: etree._Element, name: str) -> str | None:
    for key, value in node.attrib.items():
        if str(key).lower() == name.lower() and value.strip():
            return str(value).strip()
    return None


def _walk(node: etree._Element, categories: list[str], sites: dict[str, OpmlSite]) -> None:
    for outline in node.findall("outline"):
        title = _attr(outline, "title") or _attr(outline, "text") or ""
        feed = _attr(outline, "xmlUrl")
        name = outline.get(f"{{{NS}}}source")
        if feed or name:
            home = _attr(outline, "htmlUrl")
            key = f"source:{name}" if name else site_of(home or feed or "")
            site = sites.setdefault(key, OpmlSite(key, name=name))
            if feed and feed not in site.feeds:
                site.feeds.append(feed)
            site.home = site.home or home
            if title:
                site.titles.append(title)
            if categories:
                site.categories.append("/".join(categories))
            config = outline.get(f"{{{NS}}}config")
            if config:
                try:
                    site.extra.update(json.loads(config))
                except ValueError:
                    raise OpmlError(
                        f"outline {title!r} has a presswatch:config that is not JSON"
                    ) from None
        _walk(outline, [*categories, title] if title and not feed else categories, sites)


def write_opml(sources: Sequence[dict[str, Any]], title: str = "presswatch sources") -> bytes:
    """``sources`` as the config's raw ``[[sources]]`` tables."""
    etree.register_namespace("presswatch", NS)
    root = etree.Element("opml", version="2.0", nsmap={"presswatch": NS})
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = etree.SubElement(root, "body")
    for source in sources:
        name = str(source["name"])
        feeds: list[str | None] = [str(f) for f in source.get("feeds", [])]
        extra = {k: v for k, v in source.items() if k not in ("name", "feeds")}
        home = _home(source)
        outlines = []
        for feed in feeds or [None]:
            attrs = {"text": name, "title": name}
            if feed is not None:
                attrs.update(type="rss", xmlUrl=feed)
            if home:
                attrs["htmlUrl"] = home
            outline = etree.Element("outline", attrs)
            outline.set(f"{{{NS}}}source", name)
            outlines.append(outline)
        if extra:
            outlines[0].set(f"{{{NS}}}config", json.dumps(extra, ensure_ascii=False, default=str))
        parent = body
        if len(outlines) > 1:
            parent = etree.SubElement(body, "outline", text=name, title=name)
        for outline in outlines:
            parent.append(outline)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _home(source: dict[str, Any]) -> str | None:
    for key in ("pages", "feeds", "sitemaps"):
        for url in source.get(key, []):
            parts = urlsplit(str(url))
            if parts.netloc:
                return f"{parts.scheme}://{parts.netloc}/"
    return None
