"""The article's language: the one the page declares, else detection (py3langid), with the
source's hint settling languages a detector confuses."""

from __future__ import annotations

import re
from typing import Any

import py3langid

from crawler.extract.metadata import first_metas

# Languages a detector confuses with each other; the source's hint decides between them.
_CONFUSABLE = ({"id", "ms"}, {"hr", "sr", "bs"}, {"no", "nb", "nn", "da"}, {"az", "tr"})
_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")
_MIN_DETECT_CHARS = 40


def page_language(tree: Any) -> str | None:
    """The language the page declares (``lang``, ``Content-Language``, ``og:locale``), if any."""
    candidates = [tree.get("lang"), tree.get("xml:lang")]
    metas = first_metas(tree)
    candidates += [metas.get("content-language"), metas.get("og:locale"), metas.get("language")]
    for node in tree.xpath("//meta[@http-equiv]"):
        if (node.get("http-equiv") or "").lower() == "content-language":
            candidates.append(node.get("content"))
    for candidate in candidates:
        match = _LANG.match((candidate or "").strip())
        if match:
            return match.group(1).lower()
    return None


def detect_language(text: str) -> str | None:
    """The language py3langid finds in ``text``; None for a text too short to tell."""
    if len(text) < _MIN_DETECT_CHARS:
        return None
    language, _score = py3langid.classify(text[:2000])
    return str(language)


def text_language(text: str, hint: str | None) -> str | None:
    """The language detected in ``text``, the source's ``hint`` when the two are look-alikes
    (or when none is detected)."""
    found = detect_language(text)
    if found and hint and any({found, hint} <= group for group in _CONFUSABLE):
        return hint
    return found or hint
