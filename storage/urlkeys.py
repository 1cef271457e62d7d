"""URL keys: one string per article address, whatever tracking or spelling a link adds."""

from __future__ import annotations

from urllib.parse import urlsplit

import courlan
import tld
from w3lib.url import canonicalize_url

# Prefixes under which the same site serves mobile or AMP copies of its pages.
_SITE_PREFIXES = ("www.", "m.", "amp.", "mobile.")


def url_key(url: str) -> str:
    """Normalise ``url`` into the key articles are stored and looked up by.

    Scheme and host lower-cased, default port dropped, fragment dropped, query sorted, and
    tracking parameters (``utm_*``, ``fbclid``, ``gclid`` and courlan's list) removed.
    """
    # courlan strips tracking parameters and default ports; w3lib sorts the query, drops the
    # fragment and settles percent-encoding so equal addresses compare equal as strings.
    return canonicalize_url(courlan.normalize_url(url.strip()))


def clean_url(url: str) -> str:
    """``url`` as a person would share it: tracking parameters and fragment removed, the rest
    (query order included) as the site wrote it."""
    return urlsplit(courlan.normalize_url(url.strip()))._replace(fragment="").geturl()


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def site_of(url: str) -> str:
    """The registrable domain of ``url`` (``sindonews.com``), or the bare host for IP addresses
    and single-label hosts, which have none."""
    host = host_of(url)
    domain = tld.get_fld(f"http://{host}", fail_silently=True)
    if domain:
        return str(domain)
    for prefix in _SITE_PREFIXES:
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def same_site(a: str, b: str) -> bool:
    return site_of(a) == site_of(b)
