"""What to crawl on a site, found from its address.

In this order, each candidate fetched and read with the crawl's own parsers
(``crawler.discover.links``): the feeds the home page declares (``<link rel="alternate">``, comment
feeds left out); the sitemaps robots.txt declares, else ``/sitemap.xml`` and
``/sitemap_index.xml`` (an index is read through its most recent sitemaps, a Google News
sitemap first); when the home page declares no feed, the big CMSs' feed paths (the one of the
software the page names, else the common ones, until one answers). A candidate is kept when it
parses and lists recent articles (within ``max_article_age``) on the site itself; of those,
the fewest that together list every recent article found (a feed before a sitemap when one
covers the other). With no feed or sitemap at all, the home page becomes a section page, with
an ``article_pattern`` taken from its article links.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from crawler.discover.links import DiscoveryError, Entry, parse_feed, parse_sitemap, sniff
from crawler.sources import infer
from crawler.sources.probe import Fetched, ProbeError, SiteProbe, new_pool
from storage.urlkeys import host_of, site_of, url_key

logger = logging.getLogger(__name__)

MAX_DECLARED = 3  # declared feeds / sitemaps looked at per site
MAX_CHILDREN = 3  # sitemaps of an index read
MIN_PAGE_ARTICLES = 3  # article links a home page needs to be crawled as a section page
NEWS_SITEMAP = b"http://www.google.com/schemas/sitemap-news/"

Kind = Literal["feed", "sitemap", "page"]


@dataclass(frozen=True)
class ProbeSettings:
    user_agent: str
    obey_robots: bool = True
    timeout: float = 10.0
    max_age: timedelta = timedelta(days=7)
    budget: int = 16  # requests per site, robots.txt included


@dataclass(frozen=True)
class Candidate:
    url: str
    kind: Kind
    how: str  # where it was found
    articles: frozenset[str]  # URL keys of the recent articles on the site it lists
    article_hosts: frozenset[str]
    newest: datetime | None
    note: str = ""  # e.g. a Google News sitemap, moved from another address
    offsets: tuple[timedelta, ...] = ()
    language: str | None = None

    def summary(self) -> str:
        newest = f", newest {self.newest:%Y-%m-%d %H:%M} UTC" if self.newest else ""
        note = f"; {self.note}" if self.note else ""
        what = "article links" if self.kind == "page" else "recent articles"
        return f"{len(self.articles)} {what}{newest} ({self.how}{note})"


@dataclass
class SiteReport:
    """What was found on one site, what was left out and why."""

    address: str
    home: str | None = None
    chosen: list[Candidate] = field(default_factory=list)
    covered: list[tuple[str, str]] = field(default_factory=list)  # (url, why not needed)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    tried: list[str] = field(default_factory=list)  # guessed paths that were not there
    language: str | None = None
    timezone: str | None = None
    article_pattern: str | None = None
    allowed_domains: list[str] = field(default_factory=list)
    problem: str | None = None  # why nothing is added
    requests: int = 0
    name: str | None = None
    duplicate_of: str | None = None  # an existing source with these listings

    @property
    def usable(self) -> bool:
        return self.problem is None and bool(self.chosen)

    def urls(self, kind: Kind) -> list[str]:
        return [c.url for c in self.chosen if c.kind == kind]

    def block(self) -> dict[str, Any]:
        """The ``[[sources]]`` table, keys in the README's order."""
        table: dict[str, Any] = {"name": self.name}
        keys: tuple[tuple[Kind, str], ...] = (
            ("feed", "feeds"),
            ("sitemap", "sitemaps"),
            ("page", "pages"),
        )
        for kind, key in keys:
            if self.urls(kind):
                table[key] = self.urls(kind)
        if self.article_pattern:
            table["article_pattern"] = self.article_pattern
        if self.allowed_domains:
            table["allowed_domains"] = self.allowed_domains
        if self.language:
            table["language"] = self.language
        if self.timezone:
            table["timezone"] = self.timezone
        return table

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "home": self.home,
            "name": self.name,
            "added": self.usable and self.duplicate_of is None,
            "problem": self.problem,
            "duplicate_of": self.duplicate_of,
            "source": self.block() if self.usable else None,
            "listings": [
                {"url": c.url, "kind": c.kind, "why": c.summary(), "articles": len(c.articles)}
                for c in self.chosen
            ],
            "not_needed": [{"url": u, "why": w} for u, w in self.covered],
            "refused": [{"url": u, "reason": r} for u, r in self.refused],
            "tried": self.tried,
            "requests": self.requests,
        }


def normalise_address(address: str) -> str | None:
    """``example.org`` -> ``https://example.org/``; None when it is not a site address."""
    text = address.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in text:
        return None
    return parts._replace(path=parts.path or "/", fragment="").geturl()


def find_sites(
    addresses: Sequence[str], settings: ProbeSettings, now: datetime | None = None
) -> list[SiteReport]:
    """Each site probed in its own thread (one request at a time per site)."""
    if not addresses:
        return []
    pool = new_pool(settings.timeout, len(addresses))
    now = now or datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=min(16, len(addresses))) as threads:
        return list(threads.map(lambda a: find_site(a, pool, settings, now), addresses))


def find_site(address: str, pool: Any, settings: ProbeSettings, now: datetime) -> SiteReport:
    probe = SiteProbe(
        pool, settings.user_agent, budget=settings.budget, obey_robots=settings.obey_robots
    )
    report = SiteReport(address)
    try:
        _Finder(report, probe, settings, now).run()
    except Exception as exc:  # one site's surprise must not lose the others' findings
        logger.warning("Discovery on %s failed", address, exc_info=True)
        report.problem = f"discovery failed ({type(exc).__name__}: {exc})"
    report.requests = probe.requests
    return report


class _Finder:
    def __init__(
        self, report: SiteReport, probe: SiteProbe, settings: ProbeSettings, now: datetime
    ) -> None:
        self.report = report
        self.probe = probe
        self.cutoff = now - settings.max_age
        self.max_age = settings.max_age
        self.valid: list[Candidate] = []
        self.checked: set[str] = set()  # URL keys: each candidate is fetched once

    def run(self) -> None:
        report = self.report
        start = normalise_address(report.address) or report.address
        self.probe.robots(start)
        home_page: infer.HomePage | None = None
        try:
            home = self.probe.get(start)
        except ProbeError as exc:
            home = None
            why = f"the home page {start} could not be read: {exc}"
        if home is not None:
            report.home = home.url
            why = f"the home page {start} answered {home.status} {_reason(home.status)}"
            if home.ok and sniff(home.body) in ("html", "unknown"):
                home_page = infer.read_home(home.body, home.url, home.headers)
        base = report.home or start
        if home is not None and home.ok and sniff(home.body) in ("feed", "sitemap"):
            # The address of a feed or sitemap itself: that is the listing.
            if self._check(start, "the address given", declared=True):
                self._choose()
                self._infer(None, base)
            else:
                report.problem = f"{start} is a feed or sitemap that cannot be used"
            return
        declared_sitemaps = self.probe.robots_sitemaps.get(
            _origin(base)
        ) or self.probe.robots_sitemaps.get(_origin(start), [])
        if home_page is None and not declared_sitemaps:
            report.problem = why + "; nothing else to look at"
            return
        if home_page is not None:
            for url, title in home_page.feeds[:MAX_DECLARED]:
                how = f'declared in the home page\'s <link rel="alternate">{_titled(title)}'
                self._check(url, how, declared=True)
        found_feed = any(c.kind == "feed" for c in self.valid)
        if declared_sitemaps:
            for url in declared_sitemaps[:MAX_DECLARED]:
                self._check(url, "declared in robots.txt", declared=True, expect="sitemap")
        else:
            for path in ("/sitemap.xml", "/sitemap_index.xml"):
                if self._check(urljoin(base, path), "the usual sitemap address", expect="sitemap"):
                    break
        if not found_feed and home_page is not None:
            cms = home_page.cms
            paths = infer.CMS_FEEDS[cms] if cms else infer.COMMON_FEEDS
            how = f"{cms.title()}'s feed address" if cms else "a common feed address"
            for path in paths:
                if self._budget_left() < 1:
                    break
                if self._check(urljoin(base, path), how, expect="feed"):
                    break
        if self.valid:
            self._choose()
        elif home_page is not None:
            self._section_page(home_page)
        else:
            report.problem = why
        if report.usable:
            self._infer(home_page, base)

    def _budget_left(self) -> int:
        return self.probe.budget - self.probe.requests

    # -- candidates ------------------------------------------------------------------------------

    def _check(
        self, url: str, how: str, *, declared: bool = False, expect: str | None = None
    ) -> bool:
        """Fetch and read one candidate listing; True when it is usable."""
        if url_key(url) in self.checked:
            return False
        self.checked.add(url_key(url))
        try:
            fetched = self.probe.get(url)
        except ProbeError as exc:
            self._refuse(url, str(exc), declared)
            return False
        if not fetched.ok:
            self._refuse(url, f"answered {fetched.status} {_reason(fetched.status)}", declared)
            return False
        listed_url = fetched.url if fetched.moved_permanently else url
        note = f"moved permanently from {url}" if listed_url != url else ""
        kind = sniff(fetched.body)
        try:
            if kind == "feed":
                entries = parse_feed(fetched.body, fetched.url)
                candidate = self._judge(listed_url, "feed", how, entries, fetched, note)
            elif kind == "sitemap":
                candidate = self._sitemap(listed_url, how, fetched, note)
            else:
                wanted = expect or "feed or sitemap"
                self._refuse(
                    url,
                    f"is {'an HTML page' if kind == 'html' else 'not XML'}, not a {wanted}",
                    declared,
                )
                return False
        except DiscoveryError as exc:
            self._refuse(url, f"cannot be read: {exc}", declared=True)
            return False
        if isinstance(candidate, str):
            self._refuse(url, candidate, declared=True)
            return False
        if any(c.url == candidate.url for c in self.valid):
            return True
        self.valid.append(candidate)
        return True

    def _refuse(self, url: str, reason: str, declared: bool) -> None:
        if declared:
            self.report.refused.append((url, reason))
        else:
            self.report.tried.append(
                f"{urlsplit(url).path or '/'} ({reason.removeprefix('answered ')})"
            )

    def _sitemap(self, url: str, how: str, fetched: Fetched, note: str) -> Candidate | str:
        sitemap = parse_sitemap(fetched.body, fetched.url)
        if sitemap.kind == "urlset":
            if NEWS_SITEMAP in fetched.body[:5000]:
                note = "; ".join(filter(None, ["a Google News sitemap", note]))
            return self._judge(url, "sitemap", how, sitemap.entries, fetched, note)
        children = [
            e
            for e in sitemap.entries
            if site_of(e.url) == site_of(url) and (e.dated is None or e.dated >= self.cutoff)
        ]
        if not children:
            return (
                f"a sitemap index whose {len(sitemap.entries)} sitemaps are all older than "
                f"{_days(self.max_age)} or on other sites"
            )
        # A Google News sitemap first (by name), then the most recently modified.
        children.sort(
            key=lambda e: (
                "news" not in e.url.lower(),
                -(e.dated.timestamp() if e.dated else 0),
            )
        )
        entries: list[Entry] = []
        bodies = [fetched.body]
        for child in children[:MAX_CHILDREN]:
            if self._budget_left() < 1:
                break
            try:
                answer = self.probe.get(child.url)
                if answer.ok:
                    entries += parse_sitemap(answer.body, answer.url).entries
                    bodies.append(answer.body)
            except (ProbeError, DiscoveryError):
                continue
        if any(NEWS_SITEMAP in b[:5000] for b in bodies):
            note = "; ".join(filter(None, ["an index with a Google News sitemap", note]))
        merged = Fetched(fetched.url, fetched.status, fetched.headers, b"\n".join(bodies))
        return self._judge(url, "sitemap", how, entries, merged, note)

    def _judge(
        self, url: str, kind: Kind, how: str, entries: list[Entry], fetched: Fetched, note: str
    ) -> Candidate | str:
        if not entries:
            return "lists no articles"
        site = site_of(url)
        on_site = [e for e in entries if site_of(e.url) in (site, site_of(self.report.home or ""))]
        if not on_site:
            others = sorted({host_of(e.url) for e in entries})
            return (
                f"lists articles on {', '.join(others[:3])}, not on this site "
                f"({host_of(self.report.home or url)})"
            )
        fresh = [e for e in on_site if e.dated is None or e.dated >= self.cutoff]
        dated = [e.dated for e in on_site if e.dated is not None]
        newest = max(dated) if dated else None
        if not fresh:
            return (
                f"lists only articles older than {_days(self.max_age)} "
                f"(the newest is from {newest:%Y-%m-%d})"
            )
        recent = [e for e in fresh if _article_address(e.url)]
        if not recent:
            return "lists no article addresses (only the home page, sections or files)"
        return Candidate(
            url=url,
            kind=kind,
            how=how,
            articles=frozenset(url_key(e.url) for e in recent),
            article_hosts=frozenset(host_of(e.url) for e in recent),
            newest=newest,
            note=note,
            offsets=tuple(infer.stated_offsets(fetched.body[:500_000])),
            language=infer.listing_language(fetched.body),
        )

    # -- choosing --------------------------------------------------------------------------------

    def _choose(self) -> None:
        """The fewest listings that list every recent article found (greedy set cover: the
        one listing the most not yet listed; on a tie a feed, then the one found first)."""
        left = frozenset().union(*(c.articles for c in self.valid))
        pool = list(self.valid)
        while left and pool:
            best = max(
                pool,
                key=lambda c: (len(c.articles & left), c.kind == "feed", -pool.index(c)),
            )
            if not best.articles & left:
                break
            self.report.chosen.append(best)
            left -= best.articles
            pool.remove(best)
        for candidate in pool:
            by = [c.url for c in self.report.chosen if candidate.articles <= c.articles]
            why = (
                f"its articles are all listed by {by[0]}"
                if by
                else ("its articles are all listed by the listings chosen")
            )
            self.report.covered.append((candidate.url, why))

    def _section_page(self, home: infer.HomePage) -> None:
        links = infer.article_links(home)
        if len(links) < MIN_PAGE_ARTICLES:
            found = f"{len(links)} article link{'s' if len(links) != 1 else ''}"
            self.report.problem = (
                f"no feed or sitemap found, and the home page has {found} "
                f"(at least {MIN_PAGE_ARTICLES} are needed to crawl it as a section page)"
            )
            return
        others = [u for u in home.links if u not in set(links) and host_of(u) == host_of(home.url)]
        self.report.article_pattern = infer.article_pattern(links, others)
        how = "the home page as a section page: no feed or sitemap found"
        self.report.chosen.append(
            Candidate(
                url=home.url,
                kind="page",
                how=how,
                articles=frozenset(url_key(u) for u in links),
                article_hosts=frozenset({host_of(home.url)}),
                newest=None,
                offsets=tuple(infer.stated_offsets(" ".join(home.dates).encode())),
            )
        )

    def _infer(self, home: infer.HomePage | None, base: str) -> None:
        report = self.report
        listed = [c.language for c in report.chosen if c.language]
        report.language = (home.language if home else None) or (listed[0] if listed else None)
        offsets = [o for c in report.chosen for o in c.offsets]
        if home is not None:
            offsets += infer.stated_offsets(" ".join(home.dates).encode())
        report.timezone = infer.zone_for(offsets, report.language)
        listing_hosts = {host_of(c.url) for c in report.chosen}
        article_hosts = {h for c in report.chosen for h in c.article_hosts}
        if not all(
            any(h == d or h.endswith("." + d) for d in listing_hosts) for h in article_hosts
        ):
            # The crawl follows only the listings' hosts unless told otherwise.
            report.allowed_domains = [site_of(base)]


_NOT_PAGES = re.compile(r"\.(pdf|jpe?g|png|gif|webp|svg|mp3|mp4|zip)$", re.I)


def _article_address(url: str) -> bool:
    """Whether a listed address may be an article: not the home page, a first-level section
    (``/en/``) or a file; feeds list those too."""
    path = urlsplit(url).path
    segments = [s for s in path.split("/") if s]
    if not segments or _NOT_PAGES.search(path):
        return False
    return not (len(segments) == 1 and path.endswith("/"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _titled(title: str) -> str:
    return f' "{title}"' if title else ""


def _days(age: timedelta) -> str:
    days = age.total_seconds() / 86400
    return f"{days:g} days" if days >= 1 else f"{age.total_seconds() / 3600:g} hours"


_REASONS = {
    301: "Moved Permanently",
    302: "Found",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _reason(status: int) -> str:
    return _REASONS.get(status, "")
