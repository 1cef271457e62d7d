"""A source that answers but no longer works, told from its run rows and stored articles.

- ``empty_pages``: its article pages stopped yielding article text: in each of its last
  ``crawls`` crawls that fetched articles, at least half gave none, well up on before (a
  redesign the extractor does not read, or pages that became empty shells filled by script);
- ``short_texts``: the texts stored in its last ``crawls`` crawls that stored any are a third
  of their usual length or less (the extractor now takes a teaser or a fragment);
- ``old_listings``: its feeds and sitemaps listed only articles older than max_article_age in
  each of its last ``crawls`` crawls that read them (an abandoned feed, replaced elsewhere);
- ``moved``: a listing now answers from another address (a redirect). The daemon checks
  whether the move is permanent and, if so, writes the new address into the config.

Each comes with what to do. Not-modified crawls say nothing either way and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Article, CrawlRun, Listing
from storage.types import utc
from storage.urlkeys import url_key

EMPTY_SHARE = 0.5  # at least this share of a crawl's article pages without text ...
EMPTY_RISE = 0.3  # ... and this much above the share before
SHRUNK = 1 / 3  # recent texts at most this fraction of the usual length
MIN_RECENT_TEXTS = 3
MIN_USUAL_TEXTS = 5
TEXTS_LOOKED_AT = 200


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # empty_pages, short_texts, old_listings, moved
    reason: str
    advice: str
    old: str | None = None  # moved: the configured address ...
    new: str | None = None  # ... and where it answers from now

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind, "reason": self.reason, "advice": self.advice}
        if self.kind == "moved":
            found.update(old=self.old, new=self.new)
        return found


def _finished(run: CrawlRun) -> bool:
    return run.status == "finished" and run.finish_reason != "not_modified"


def empty_pages(runs: Sequence[CrawlRun], crawls: int) -> Problem | None:
    """``runs`` newest first."""
    fetched = [r for r in runs if _finished(r) and r.articles_fetched > 0]
    recent, before = fetched[:crawls], fetched[crawls:]
    if len(recent) < crawls:
        return None
    shares = [r.empty / r.articles_fetched for r in recent]
    pages_before = sum(r.articles_fetched for r in before)
    usual = sum(r.empty for r in before) / pages_before if pages_before else 0.0
    if min(shares) < EMPTY_SHARE or min(shares) - usual < EMPTY_RISE:
        return None
    share = sum(r.empty for r in recent) / sum(r.articles_fetched for r in recent)
    return Problem(
        "empty_pages",
        f"{share:.0%} of its article pages gave no article text in each of its last "
        f"{crawls} crawls (before: {usual:.0%})",
        "open one of its articles: if the text is on the page, its layout changed and the "
        "extractor misses it (report the page); if the page is an empty shell filled by "
        "script, point the source at the site's AMP pages or a full-text feed",
    )


def short_texts(
    session: Session, source: str, runs: Sequence[CrawlRun], crawls: int
) -> Problem | None:
    stored = [r for r in runs if r.new > 0]
    if len(stored) < crawls:
        return None
    since = stored[crawls - 1].started_at
    rows = session.execute(
        select(func.length(Article.text), Article.fetched_at)
        .where(Article.source == source)
        .order_by(Article.id.desc())
        .limit(TEXTS_LOOKED_AT)
    ).all()
    recent = [n for n, at in rows if utc(at) >= utc(since)]
    usual = [n for n, at in rows if utc(at) < utc(since)]
    if len(recent) < MIN_RECENT_TEXTS or len(usual) < MIN_USUAL_TEXTS:
        return None
    now, before = median(recent), median(usual)
    if now > SHRUNK * before:
        return None
    return Problem(
        "short_texts",
        f"the texts stored in its last {crawls} crawls are {now:.0f} characters long (median), "
        f"where they were {before:.0f}",
        "compare a stored text (`presswatch export --source NAME --since 1d`) with its page: "
        "the extractor probably takes a teaser or one block of a changed layout",
    )


def old_listings(runs: Sequence[CrawlRun], crawls: int, max_age: str) -> Problem | None:
    read = [r for r in runs if _finished(r) and r.listed > 0]
    recent = read[:crawls]
    if len(recent) < crawls or any(r.too_old < r.listed or r.new for r in recent):
        return None
    return Problem(
        "old_listings",
        f"its feeds and sitemaps listed only articles older than {max_age} in each of its "
        f"last {crawls} crawls",
        "the feed was probably abandoned for a new address: run `presswatch sources add "
        "SITE --dry-run` to see what the site lists now, and edit the source",
    )


def moved_listings(session: Session, source: str, listings: Sequence[str]) -> list[Problem]:
    """Configured listings last fetched from another address."""
    if not listings:
        return []
    rows = {
        row.url_key: row.url
        for row in session.scalars(select(Listing).where(Listing.source == source))
    }
    found = []
    for url in listings:
        answered = rows.get(url_key(url))
        if answered is not None and url_key(answered) != url_key(url):
            found.append(
                Problem(
                    "moved",
                    f"{url} redirects to {answered}",
                    "the daemon writes the new address into the config when the move is "
                    "permanent (301/308); otherwise nothing needs doing",
                    old=url,
                    new=answered,
                )
            )
    return found


def diagnose(
    session: Session,
    source: str,
    runs: Sequence[CrawlRun],
    *,
    crawls: int,
    max_age: str = "max_article_age",
    listings: Sequence[str] = (),
) -> list[Problem]:
    """Every problem found, the ones that make the source broken or stale first."""
    problems = [
        p
        for p in (
            empty_pages(runs, crawls),
            short_texts(session, source, runs, crawls),
            old_listings(runs, crawls, max_age),
        )
        if p is not None
    ]
    return problems + moved_listings(session, source, listings)
