"""The article's authors: people's names from the declared bylines, without prefixes, roles,
e-mail addresses, repeats, or the site's and publisher's own names beside a person's."""

from __future__ import annotations

import re
from collections.abc import Iterable

from crawler.extract.sitename import host_name, name_key

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
AUTHOR_SEPARATORS = r"[;,]| and "
_LEAD_BY = re.compile(
    r"^\S+(?:\s+\S+)?\s+(?:von|by|par|por)\s+(\S+(?:\s+\S+){1,3})$", re.IGNORECASE
)
_EMAIL = re.compile(r"\S+@\S+\.\w+")


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
        name = _EMAIL.sub("", name)
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
