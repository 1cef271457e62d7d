"""Polite HTTP for looking at a site before it becomes a source.

Discovery is a short conversation with each site (robots.txt, the home page, then what they
point to), a few requests long, run for many sites at once: a thread per site over one
urllib3 pool (already installed with trafilatura's dependencies, and kept by the urllib3
maintainers) does it in a fraction of a second's CPU, where a Scrapy crawler would cost about
a second to start and turn each site's sequence of dependent requests into a callback chain.
The crawl itself stays with Scrapy. Here: robots.txt is obeyed for every request (when the
config says so), the configured user agent is sent, one request at a time per site, at most
``budget`` of them, and redirects are followed by hand so that a permanent move is seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3
from protego import Protego

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
PERMANENT = (301, 308)


class ProbeError(Exception):
    """A request that got no answer (the message says why), or one not made (robots.txt,
    budget)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # where the answer came from, after redirects
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    redirects: tuple[tuple[int, str], ...] = ()  # (status, from URL) of each hop followed

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def moved_permanently(self) -> bool:
        """Every hop was a 301 or 308: the address asked for has a new home."""
        return bool(self.redirects) and all(s in PERMANENT for s, _ in self.redirects)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def new_pool(timeout: float, sites: int) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        num_pools=max(sites * 2, 10),
        maxsize=1,
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=False,
    )


@dataclass
class SiteProbe:
    """One site's requests: sequential, counted, and checked against robots.txt."""

    pool: urllib3.PoolManager
    user_agent: str
    budget: int = 16
    obey_robots: bool = True
    max_bytes: int = 5_000_000
    requests: int = 0
    _robots: dict[str, Protego | None] = field(default_factory=dict)
    robots_sitemaps: dict[str, list[str]] = field(default_factory=dict)

    def robots(self, url: str) -> Protego | None:
        """The robots.txt rules of ``url``'s origin, read once (None: none, allow all)."""
        origin = _origin(url)
        if origin not in self._robots:
            rules = None
            try:
                answer = self._follow(origin + "/robots.txt", obey=False)
                if answer.ok:
                    text = answer.body.decode("utf-8", errors="replace")
                    rules = Protego.parse(text)
                    self.robots_sitemaps[origin] = [
                        urljoin(origin + "/", s) for s in rules.sitemaps
                    ]
            except ProbeError:
                # As Scrapy does: an unreadable robots.txt forbids nothing.
                logger.debug("No robots.txt at %s", origin, exc_info=True)
            self._robots[origin] = rules
        return self._robots[origin]

    def allowed(self, url: str) -> bool:
        if not self.obey_robots:
            return True
        rules = self.robots(url)
        return rules is None or rules.can_fetch(url, self.user_agent)

    def get(self, url: str) -> Fetched:
        """GET ``url``, following redirects (each hop allowed by robots.txt)."""
        return self._follow(url, obey=True)

    def _follow(self, url: str, *, obey: bool) -> Fetched:
        hops: list[tuple[int, str]] = []
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            if obey and not self.allowed(current):
                raise ProbeError(f"robots.txt disallows {current}")
            answer = self._request(current)
            location = answer.headers.get("location")
            if answer.status in (301, 302, 303, 307, 308) and location:
                hops.append((answer.status, current))
                current = urljoin(current, location)
                continue
            return Fetched(answer.url, answer.status, answer.headers, answer.body, tuple(hops))
        raise ProbeError(f"more than {MAX_REDIRECTS} redirects from {url}")

    def _request(self, url: str) -> Fetched:
        if self.requests >= self.budget:
            raise ProbeError(f"the {self.budget} requests allowed per site are used up")
        self.requests += 1
        try:
            response = self.pool.request(
                "GET",
                url,
                headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
                redirect=False,
                preload_content=False,
                decode_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ProbeError(_why(exc)) from None
        try:
            body = bytearray()
            for chunk in response.stream(65536):
                body += chunk
                if len(body) > self.max_bytes:
                    break
        except urllib3.exceptions.HTTPError as exc:
            raise ProbeError(_why(exc)) from None
        finally:
            response.release_conn()
        headers = {k.lower(): v for k, v in response.headers.items()}
        return Fetched(url, response.status, headers, bytes(body))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _why(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    if "timed out" in text.lower():
        return "no answer in time (timeout)"
    if "refused" in text.lower():
        return "connection refused"
    if "resolve" in text.lower() or "name or service" in text.lower():
        return "the host name does not resolve (DNS)"
    return text.split(": ", 1)[-1][:200]
