"""The article's authors: the names its JSON-LD article or its bylines declare, split into a
list, without prefixes, roles, asides, e-mail addresses, repeats, or the site's and publisher's
own names beside a person's."""

from __future__ import annotations

import re
from collections.abc import Iterable

from crawler.extract.cleaning import clean_lines
from crawler.extract.sitename import host_name, name_key, names_site

# Declared bylines that name a role, not a person (trafilatura strips digits: "Reporter 38").
ROLE_BYLINES = frozenset(
    "admin administrator author editor editors redaksi redaktur reporter staff team user guest "
    "webmaster newsroom desk journalist journalistin autor autorin red redaktion agenturen "
    "agencies".split()
)
# A byline's leading word that says "by" or names the role, in the corpus's languages.
_BYLINE_PREFIX = re.compile(
    r"^(?:by|von|par|por|di|da|door|av|af|oleh|autor|autorin|author|text|texto|reporter|"
    r"reporting by|written by)\s*:?\s+(?=\S)",
    re.IGNORECASE,
)
AUTHOR_SEPARATORS = r"[;,]|\s(?:and|&)\s"
# "and" in other languages: short words that also stand inside names ("José Ortega y Gasset"),
# so a byline is split on them only where a full name (two words or more) stands either side.
_CONJUNCTION = re.compile(r"\s+(?:und|et|y|e|og|och|en|i|и|و)\s+", re.IGNORECASE)
_LEAD_BY = re.compile(
    r"^\S+(?:\s+\S+)?\s+(?:von|by|par|por)\s+(\S+(?:\s+\S+){1,3})$", re.IGNORECASE
)
_EMAIL = re.compile(r"\S+@\S+\.\w+")
# "Elena Muster (emu)", "Ann Lee (text)": an aside after a name (initials, a role, a place).
_ASIDE = re.compile(r"\s*\([^()]*\)\s*$")


def clean_authors(
    names: tuple[str, ...],
    site_name: str | None,
    url: str | None,
    publishers: Iterable[str] = (),
) -> tuple[str, ...]:
    """People's names only: no "By"/"Von" or role before a name, no e-mail addresses, no
    role for a name ("Journalist"), one of each name however spelt ("Chuck Ross",
    "Chuck-Ross"), and the site's own name ("Heise Online", "WDR") or its publisher's (the
    JSON-LD ``publisher``, the copyright holder: "Condé Nast") dropped when a person is named
    beside it."""
    site_keys = {
        k
        for k in (name_key(site_name or ""), host_name(url) or "", *map(name_key, publishers))
        if len(k) >= 3
    }
    kept: dict[str, str] = {}
    for name in names:
        name = _ASIDE.sub("", _EMAIL.sub("", name))
        name = _BYLINE_PREFIX.sub("", name).strip(" ,;:|-")
        # "Ein Kommentar von Max Muster", "Capital von Jemima Kelly": the name after "von"/"by"
        # when one or two words stand before it and capitalised words follow it (never the
        # "von" inside "Ursula von der Leyen").
        lead = _LEAD_BY.match(name)
        if lead and all(word[:1].isupper() for word in lead.group(1).split()):
            name = lead.group(1)
        key = name_key(name)
        if not key or name.casefold() in ROLE_BYLINES or key in kept:
            continue
        kept[key] = name
    people = {k: v for k, v in kept.items() if not any(s in k for s in site_keys)}
    return tuple((people or kept).values())


def page_authors(
    declared: tuple[str, ...],
    found: str | None,
    site_name: str | None,
    url: str | None,
    publishers: Iterable[str] = (),
) -> tuple[str, ...]:
    """The article's authors: those its JSON-LD article names (``declared``: the structured
    statement of who wrote it, spelt as the page spells it: "ndr.de", "ORF.at"), else those
    trafilatura's readers ``found`` (meta tags, bylines). When the JSON-LD names only the site
    itself ("STERN.de") and a byline names a person in full, the person."""
    ours = clean_authors(split_names(declared), site_name, url, publishers)
    theirs = clean_authors(split_names(found), site_name, url, publishers)
    site_keys = {k for k in (name_key(site_name or ""), host_name(url) or "") if len(k) >= 3}
    only_the_site = ours and all(names_site(name, site_keys) for name in ours)
    if only_the_site and any(
        len(name.split()) >= 2 and not names_site(name, site_keys) for name in theirs
    ):
        return theirs
    return ours or theirs


def split_names(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """Bylines split into names: on ``;``, ``,``, "and", "&", and on "and" in other languages
    between full names ("Anna Berg und Jonas Frei")."""
    names: list[str] = []
    for part in split_list(values, AUTHOR_SEPARATORS):
        pieces = _CONJUNCTION.split(part)
        if len(pieces) > 1 and all(len(piece.split()) >= 2 for piece in pieces):
            names.extend(piece for piece in pieces if piece not in names)
        elif part not in names:
            names.append(part)
    return clean_lines(tuple(names))


def split_list(values: Iterable[str] | str | None, separators: str) -> tuple[str, ...]:
    if not values:
        return ()
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        for part in re.split(separators, value):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return tuple(out)
