"""Whether a part of a title or a byline names the site itself: as the page declares its name
(``og:site_name``), or as its host spells it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def name_key(text: str) -> str:
    return re.sub(r"[\W_]", "", text.casefold())


_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "ne", "or", "go", "edu"}


def host_name(url: str | None) -> str | None:
    """The name a host spells, its registered label: ``www.thegatewaypundit.com`` ->
    ``thegatewaypundit``, ``news.bbc.co.uk`` -> ``bbc``, ``www1.wdr.de`` -> ``wdr``."""
    host = (urlsplit(url).hostname or "") if url else ""
    parts = host.split(".")
    if len(parts) < 2 or host.replace(".", "").isdigit():
        return None
    if len(parts) >= 3 and parts[-2] in _SECOND_LEVEL:
        return parts[-3]
    return parts[-2]


def names_site(part: str, site_keys: set[str]) -> bool:
    key = name_key(part)
    return bool(key) and any(
        key == s or (len(s) >= 4 and (s in key or key in s)) for s in site_keys
    )
