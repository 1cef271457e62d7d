"""The article's lead (standfirst, teaser): the sentence or two a news page prints between its
headline and its text, which trafilatura often leaves out (it sits in the article's header, not
its body: on the corpus, a fifth of the Fundus pages lost it).

A page says what its lead is twice: as its description (``<meta name="description">``,
``og:description``) and as text on the page. The lead is the element that shows the page's
description, found by the description's first words, outside navigation, links, lists, figures,
headings and scripts; its text is put before the article's when the text does not hold it
already.
"""

from __future__ import annotations

import re
from typing import Any

from lxml.etree import XPath

# A description this short is a slogan or a site's tagline, not an article's lead.
LEAD_MIN_WORDS = 8
# The description's first characters, looked for in the page's text nodes.
PROBE_CHARS = 40
# The element showing the lead holds its description and little more: a description is often
# the lead cut short ("…"), never the lead with the article after it.
LEAD_MAX_GROWTH = 2.0
# Kept text holding this share of the lead's 4-word sequences already holds it.
LEAD_KEPT_SHARE = 0.5

_TEXT_WITH = XPath("//body//text()[contains(., $probe)]")
# Where a description's words are not the article's lead: navigation, other stories' teasers
# (links, list items), captions, the page's frame and code; and headings: a subtitle printed as
# a heading under the headline belongs with the headline, which is not part of the text either
# (on the corpus: aeb +0.0022, Fundus -0.0006, as the two truths differ on subtitles).
_NOT_LEAD = frozenset(
    {
        "a",
        "li",
        "nav",
        "footer",
        "aside",
        "figure",
        "figcaption",
        "script",
        "style",
        "noscript",
        "template",
        "button",
        "label",
        "option",
        "select",
        "textarea",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    }
)
_ELLIPSIS = re.compile(r"\s*(?:…|\.\.\.|\[…\]|\[\.\.\.\])\s*$")
_WORDS = re.compile(r"\w+")


def _normal(text: str) -> str:
    return " ".join(text.split())


def page_lead(tree: Any, description: str | None) -> str | None:
    """The text of the element showing the page's ``description`` (whitespace collapsed), when
    it reads as a lead; None otherwise.

    The description's first words are looked for in the page's text nodes, and again from its
    third word (a lead may open with a link: "<a>VW</a> hat den Prototyp …"); an element's text
    is its pieces joined by spaces (a lead in three paragraphs reads as three sentences)."""
    if not description:
        return None
    wanted = _ELLIPSIS.sub("", _normal(description))
    if not _long_enough(wanted):
        return None
    words = wanted.split()
    opening = " ".join(words[:3])
    for probe in (wanted, " ".join(words[2:])):
        probe = probe[:PROBE_CHARS].rsplit(" ", 1)[0]
        if not probe:
            continue
        for node in _TEXT_WITH(tree, probe=probe):
            element = node.getparent()
            if node.is_tail:
                element = element.getparent()
            while element is not None:
                if element.tag in _NOT_LEAD or any(
                    a.tag in _NOT_LEAD for a in element.iterancestors()
                ):
                    break
                text = _normal(" ".join(element.itertext()))
                if len(text) > LEAD_MAX_GROWTH * len(wanted):
                    break
                if text.startswith(opening) and len(text) >= len(wanted):
                    return text
                element = element.getparent()
    return None


def _holds(text: str, part: str) -> bool:
    """Whether ``text`` holds ``part``: its first words as they are, or half of its 4-word
    sequences (words case-folded, as a line's spacing or punctuation may differ)."""
    if _normal(part)[:PROBE_CHARS] in _normal(text):
        return True
    words = _WORDS.findall(part.casefold())
    wanted = {" ".join(words[i : i + 4]) for i in range(len(words) - 3)}
    kept = f" {' '.join(_WORDS.findall(text.casefold()))} "
    return not wanted or sum(f" {w} " in kept for w in wanted) >= LEAD_KEPT_SHARE * len(wanted)


def lacks_lead(text: str, description: str | None) -> bool:
    """Whether ``text`` may lack the lead the page's ``description`` is: it does not hold it, and
    the description is long enough to be one. (Looking for the lead on the page costs a pass over
    its text; most articles hold their description already.)"""
    if not description or not _long_enough(description):
        return False
    return not _holds(text, _ELLIPSIS.sub("", description))


def _long_enough(description: str) -> bool:
    return len(description.split()) >= LEAD_MIN_WORDS


def with_lead(text: str, lead: str | None) -> str:
    """``text`` with ``lead`` as its first line, unless it holds the lead already."""
    if not lead or _holds(text, lead):
        return text
    return f"{lead}\n{text}"
