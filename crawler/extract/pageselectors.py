"""A source's own CSS selectors (``body_selector``, ``title_selector``, ``date_selector``), for
the few sites where the general rules fail: what they find in a page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from cssselect import GenericTranslator
from lxml.etree import XPath

from crawler.items import PageSelectors

# The blocks a body selector's elements are read by, each a line of the text (sub-headlines,
# list items and quotes are the article's too).
_BLOCKS = XPath(
    ".//*[self::p or self::h2 or self::h3 or self::h4 or self::h5 or self::h6 or self::li"
    " or self::blockquote or self::pre]"
    "[not(ancestor::p or ancestor::li or ancestor::blockquote or ancestor::pre)]"
)


@cache
def css_xpath(selector: str) -> XPath:
    """The compiled XPath of a CSS selector (compiled once per selector)."""
    return XPath(GenericTranslator().css_to_xpath(selector))


@dataclass(slots=True)
class SelectedFields:
    """What a source's selectors found in a page; None where they found nothing."""

    title: str | None = None
    date: str | None = None
    body: str | None = None


def selected(tree: Any, selectors: PageSelectors) -> SelectedFields:
    """What a source's own selectors find in a page (read before trafilatura prunes it)."""
    found = SelectedFields()
    if selectors.title:
        first = next(iter(css_xpath(selectors.title)(tree)), None)
        found.title = " ".join(first.text_content().split()) if first is not None else None
    if selectors.date:
        first = next(iter(css_xpath(selectors.date)(tree)), None)
        if first is not None:
            found.date = first.get("datetime") or first.get("content") or first.text_content()
    if selectors.body:
        lines: list[str] = []
        for element in css_xpath(selectors.body)(tree):
            for junk in element.xpath(".//script | .//style | .//noscript"):
                junk.drop_tree()
            blocks = _BLOCKS(element) or [element]
            lines += [" ".join(b.text_content().split()) for b in blocks]
        found.body = "\n".join(line for line in lines if line) or None
    return found
