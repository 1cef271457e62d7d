"""What a page declares about itself: its meta tags, its JSON-LD (its publishers, its article's
headline), and the title, author, site name, description, categories and tags that
trafilatura's metadata readers find.

``page_metadata`` calls trafilatura's metadata readers one by one (``examine_meta``,
``extract_meta_json``, ``extract_title``, ``extract_author``, ``extract_sitename``,
``extract_catstags``), which are not in trafilatura's public API. Its public one,
``trafilatura.extract_metadata`` (which ``bare_extraction(..., with_metadata=True)`` runs), reads
other things: it drops a declared one-word author before reading JSON-LD (a wire story's
"Reuters"), title-cases a lower-case site name and falls back to the URL's host for one, and
runs htmldate over the page. In its place, 37 of the corpus's 283 pages (bench/quality.py) came
out otherwise: another site name on 35 ("Kleinezeitung" for "kleinezeitung"), other authors on
2 (none for "LTO", "REUTERS" for "Reuters"); so it is not used here.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml.etree import XPath
from trafilatura import metadata as trafilatura_metadata
from trafilatura.metadata import Document

from crawler.extract.authors import ROLE_BYLINES

logger = logging.getLogger(__name__)


def first_metas(tree: Any) -> dict[str, str]:
    """Each meta name's first value: the page's own comes before those of the teasers and
    related stories further down (which carry their own ``itemprop=datePublished``)."""
    metas: dict[str, str] = {}
    for key, content in _meta_contents(tree):
        metas.setdefault(key, content)
    return metas


def _meta_contents(tree: Any) -> Iterator[tuple[str, str]]:
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content")
        if key and content:
            yield key, content.strip()


_JSON_LD = XPath('//script[@type="application/ld+json"]')


def json_ld_nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's JSON-LD, depth first (a bad script is skipped)."""
    for script in _JSON_LD(tree):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                yield node
                stack.extend(reversed([v for v in node.values() if isinstance(v, dict | list)]))


_COPYRIGHT_WORDS = re.compile(r"(?i)copyright|\(c\)|©|\b\d{4}\b|all rights reserved|[.,]")


def page_publishers(tree: Any) -> set[str]:
    """The names of the organisations that publish the page: its JSON-LD ``publisher`` and
    its copyright holder (``<meta name="copyright">``)."""
    names = _json_ld_publishers(tree)
    holder = _COPYRIGHT_WORDS.sub(" ", first_metas(tree).get("copyright", "")).strip()
    if holder:
        names.add(holder)
    return names


def _json_ld_publishers(tree: Any) -> set[str]:
    """The names of the organisations the page's JSON-LD says publish it."""
    names = set()
    for node in json_ld_nodes(tree):
        publisher = node.get("publisher")
        for one in publisher if isinstance(publisher, list) else [publisher]:
            if isinstance(one, dict) and isinstance(one.get("name"), str):
                names.add(one["name"])
    return names


# schema.org's article types (Article and those built on it: NewsArticle, ReportageNewsArticle,
# BlogPosting, LiveBlogPosting, ...): the node that describes the page's own story, not the
# WebSite, WebPage or BreadcrumbList around it.
_ARTICLE_TYPE = re.compile(r"Article|Posting")


@dataclass(frozen=True, slots=True)
class DeclaredArticle:
    """What the page's JSON-LD says of its article: its headline and its authors' names, as
    the page spells them, HTML entities decoded (some publishers escape them twice:
    ``&#8216;`` inside the JSON)."""

    headline: str | None = None
    authors: tuple[str, ...] = ()


def declared_article(tree: Any) -> DeclaredArticle:
    """The headline and authors of the page's first JSON-LD article node (its ``author``: a
    name, a Person or Organization, or a list of them, nested or not)."""
    for node in json_ld_nodes(tree):
        kind = node.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(isinstance(k, str) and _ARTICLE_TYPE.search(k) for k in kinds):
            headline = node.get("headline")
            return DeclaredArticle(
                _declared_text(headline) if isinstance(headline, str) else None,
                tuple(filter(None, map(_declared_text, _names(node.get("author"))))),
            )
    return DeclaredArticle()


def _names(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        one = stack.pop()
        if isinstance(one, str):
            yield one
        elif isinstance(one, dict):
            stack.append(one.get("name"))
        elif isinstance(one, list):
            stack.extend(reversed(one))


def _declared_text(text: str) -> str | None:
    return " ".join(html.unescape(text).split()) or None


def page_metadata(tree: Any) -> Document:
    """Title, author, site name, description, categories and tags of a page, with trafilatura's
    readers, cheapest first: the page's own metadata (meta tags, OpenGraph, JSON-LD), and
    trafilatura's searches of the page body only for what the metadata does not say.

    trafilatura's own pass drops a declared single-word author and searches the body for another;
    here a single-word byline is kept ("Reuters", "AFP", "Antara": the attribution a wire story
    carries) unless it names a role rather than a person ("admin", "Redaksi"), and then the page
    has told us it names nobody: the body is searched only when the metadata names no author.
    The publication date is not read here (``find_published``).
    """
    try:
        found = trafilatura_metadata.examine_meta(tree)
    except Exception as exc:  # odd markup: no metadata is better than a lost article
        logger.debug("metadata not read: %s", exc)
        return Document()
    try:
        found = trafilatura_metadata.extract_meta_json(tree, found)
    except Exception as exc:  # trafilatura's JSON-LD reader fails on some odd markup
        logger.debug("JSON-LD metadata not read: %s", exc)
    try:
        _search_body(tree, found)
    except Exception as exc:
        logger.debug("metadata searches of the page failed: %s", exc)
    found.clean_and_trim()
    return found


def _search_body(tree: Any, found: Document) -> None:
    """trafilatura's searches of the page body, for what its metadata did not say."""
    if not found.title:
        found.title = trafilatura_metadata.extract_title(tree)
    if not found.author:
        found.author = trafilatura_metadata.extract_author(tree)
    elif found.author.casefold() in ROLE_BYLINES:
        found.author = None
    if not found.sitename:
        found.sitename = trafilatura_metadata.extract_sitename(tree)
    if found.sitename:
        found.sitename = found.sitename.lstrip("@")
    if not found.categories:
        found.categories = trafilatura_metadata.extract_catstags("category", tree)
    if not found.tags:
        found.tags = trafilatura_metadata.extract_catstags("tag", tree)
