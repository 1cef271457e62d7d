"""The article's headline: the page's declared titles without the site's name, weighed against
its ``<h1>`` (a kicker, a section's name, a title written for sharing)."""

from __future__ import annotations

import re

from crawler.extract.sitename import host_name, name_key, names_site

# Between a headline and a site's or section's name: a bar, dash, colon, bullet or guillemet
# with spaces around it, "::", or with or without spaces the fullwidth colon and bar of
# Japanese and Chinese titles and the Hangul letter ㅣ that Korean sites use as a bar.
_TITLE_SEPARATORS = re.compile(r"\s+([|\-–—:·»]|::)\s+|\s*([：｜ㅣ]|::)\s*")
# A title part after one of these is the site's name whenever it is short.
_SITE_SEPARATORS = {"|", "·", "»", "｜", "ㅣ"}


def _strip_site(
    title: str, site_name: str | None, url: str | None, sections: tuple[str, ...] = ()
) -> str:
    """``title`` without the site's name (or a short trailing part after ``|``, ``·``, ``»``)
    at either end: the name as the page declares it (``og:site_name``) or as its host spells
    it; and without the name of the page's section as the page declares it."""
    site_keys = {k for k in (name_key(site_name or ""), host_name(url) or "") if k}
    section_keys = {k for k in map(name_key, sections) if k}

    def affix(part: str) -> bool:
        return names_site(part, site_keys) or name_key(part) in section_keys

    for _ in range(3):  # "Section | Headline | Site", "Headline - Section - Site"
        separators = list(_TITLE_SEPARATORS.finditer(title))
        if not separators:
            break
        last, first = separators[-1], separators[0]
        tail, head = title[last.end() :], title[: first.start()]
        if affix(tail):
            title = title[: last.start()]
        elif affix(head):
            title = title[first.end() :]
        elif (
            (last.group(1) or last.group(2)) in _SITE_SEPARATORS
            and len(name_key(tail)) <= 40
            and len(tail) < last.start()
        ):
            title = title[: last.start()]  # "Headline | Short Name": a name we did not know
        else:
            break
    return title


def clean_title(
    title: str | None,
    headline: str | None,
    site_name: str | None,
    url: str | None = None,
    declared_headline: str | None = None,
    sections: tuple[str, ...] = (),
) -> str | None:
    """The article's headline as the page shows it, from its declared title (``og:title``,
    ``<title>``, JSON-LD) without the site's name or its declared ``sections``' (JSON-LD
    ``articleSection``, ``article:section``), its ``<h1>``, and its JSON-LD article
    ``headline``.

    The ``<h1>`` is what a reader sees, but its text is the markup's (a kicker in a span glued
    to the headline, no separator), so a declaration that spells the same words stands for it:
    the declared title first, else the JSON-LD headline (pages give ``og:title`` a shorter or
    punchier line for sharing while their ``<h1>`` and JSON-LD carry the headline). When
    neither spells the ``<h1>``'s words: when one of title and ``<h1>`` ends with the other,
    the longer holds a kicker ("Kultur: …", a section's name) or a shorter variant of it, and
    the declared title is the publisher's own choice between them; when one contains the other
    elsewhere, the ``<h1>``; else the declared title (an ``<h1>`` that shares nothing with it is
    often the site's logo or a section).
    """
    title = " ".join(title.split()) if title else None
    headline = " ".join(headline.split()) if headline else None
    declared = " ".join(declared_headline.split()) if declared_headline else None
    if title:
        title = _strip_site(title, site_name, url, sections) or title
    if declared:
        declared = _strip_site(declared, site_name, url, sections) or declared
    if headline and (words := name_key(headline)):
        for spelt in (title, declared):
            if spelt and name_key(spelt) == words:
                return spelt
    if headline and title:
        if headline.endswith(title) or title.endswith(headline):
            return title
        if headline in title or title in headline:
            return headline
    return title or headline or declared
