"""Run the ``news`` spider for any number of sources in this process, as ``presswatch crawl``
does.

The code path is the one ``scrapy crawl news -a sources=A,B`` takes: the same spider, settings,
pipelines and extensions, one Scrapy crawler for all the sources. Scrapy is imported only when
a crawl starts: a source whose listings are unchanged (``crawler.scrapy.precheck``) needs none.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from crawler.config import Config
from crawler.escaping import terminal_text
from storage import runs
from storage.engine import make_engine, make_sessionmaker

if TYPE_CHECKING:
    from scrapy.settings import Settings
    from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A source's run as ``presswatch crawl`` reports it: the row's status and the counts a
    summary shows (``storage.runs.SUMMARY_COUNTS``)."""

    source: str
    run_id: int | None
    status: str
    finish_reason: str
    counts: runs.RunCounts = field(default_factory=runs.RunCounts)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "run_id": self.run_id,
            "status": self.status,
            "finish_reason": self.finish_reason,
            **{name: getattr(self.counts, name) for name in runs.SUMMARY_COUNTS},
            "seconds": self.seconds,
        }


def scrapy_settings(overrides: dict[str, Any] | None = None) -> Settings:
    from scrapy.settings import Settings

    from crawler.scrapy import settings as default_settings

    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def crawl_sources(
    config: Config,
    names: Sequence[str],
    *,
    progress_seconds: float = 0,
    overrides: dict[str, Any] | None = None,
    expect_articles: bool = False,
) -> list[RunSummary]:
    """Crawl ``names`` once each in one engine (one crawler, one downloader with a slot per
    host, one extraction pool, one writer), and return what each source's run recorded.

    ``expect_articles``: a listing is known to have changed (or was never read whole), so
    there will be pages to extract: the extraction workers' fork server starts at once, in
    parallel with Scrapy's start, rather than when the first article page is requested.
    """
    if expect_articles and (overrides or {}).get("PRESSWATCH_WORKERS") != 0:
        from crawler.extract.pool import start_fork_server

        start_fork_server()
    from scrapy.crawler import CrawlerProcess

    from crawler.scrapy.database import database_of
    from crawler.scrapy.spiders.news import NewsSpider

    settings = scrapy_settings(
        {
            "PRESSWATCH_PROGRESS_SECONDS": progress_seconds,
            # The CLI configures logging; Scrapy must not add a root handler of its own.
            "LOG_INSTALL_ROOT_HANDLER": False,
            **(overrides or {}),
        }
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NewsSpider)
    process.crawl(crawler, sources=",".join(names), config=str(Path(config.path)))
    process.start()
    spider = crawler.spider
    ended = {run.source: run for run in getattr(getattr(spider, "runs", None), "ended", [])}
    reason = (crawler.stats.get_value("finish_reason") if crawler.stats else None) or "unknown"
    run_ids = {name: ended[name].run_id if name in ended else None for name in names}
    reasons = {name: ended[name].reason if name in ended else reason for name in names}
    # The crawl's own reading engine (disposed as the crawl ended: used again, then disposed).
    database = database_of(crawler, config.database_url)
    try:
        return summaries_of(database.reads, run_ids, reasons)
    finally:
        database.dispose()


def read_summaries(
    config: Config, run_ids: dict[str, int | None], reasons: dict[str, str]
) -> list[RunSummary]:
    """The summaries of runs recorded without a crawl in this process (``precheck``'s)."""
    engine = make_engine(config.database_url, write=False)
    try:
        return summaries_of(make_sessionmaker(engine), run_ids, reasons)
    finally:
        engine.dispose()


def summaries_of(
    sessions: sessionmaker[Session], run_ids: dict[str, int | None], reasons: dict[str, str]
) -> list[RunSummary]:
    """Each source's summary from its run's row (``run_ids``); a source without a row failed,
    for its reason in ``reasons``."""
    with sessions() as session:
        ids = [i for i in run_ids.values() if i is not None]
        rows = {r.id: r for r in runs.get_runs(session, ids)}
    summaries = []
    for name, run_id in run_ids.items():
        run = rows.get(run_id) if run_id is not None else None
        if run is None:
            summaries.append(RunSummary(name, None, "failed", reasons[name]))
            continue
        seconds = ((run.finished_at or run.started_at) - run.started_at).total_seconds()
        summaries.append(
            RunSummary(
                source=name,
                run_id=run.id,
                status=run.status,
                finish_reason=run.finish_reason or reasons[name],
                counts=runs.counts_of(run),
                seconds=round(seconds, 2),
            )
        )
    return summaries


def format_errors(errors: dict[str, int]) -> str:
    """``0``, or the total and each kind's count, most frequent first."""
    if not errors:
        return "0"
    total = sum(errors.values())
    parts = ", ".join(
        f"{terminal_text(k)} {v}" for k, v in sorted(errors.items(), key=lambda kv: -kv[1])
    )
    return f"{total} ({parts})"


def print_summaries(summaries: Sequence[RunSummary], out: TextIO = sys.stdout) -> None:
    """The runs as a table for people: one line each, errors by kind."""
    header = (
        f"{'source':<16} {'status':<9} {'pages':>6} {'new':>5} {'updated':>8} "
        f"{'duplicate':>10} {'unchanged':>10} {'empty':>6} {'flagged':>8} {'seconds':>8}  errors"
    )
    print(header, file=out)
    for s in summaries:
        c = s.counts
        print(
            f"{s.source:<16} {s.status:<9} {c.pages_fetched:>6} {c.new:>5} {c.updated:>8} "
            f"{c.duplicate:>10} {c.unchanged:>10} {c.empty:>6} {c.flagged:>8} {s.seconds:>8.1f}  "
            f"{format_errors(c.errors)}",
            file=out,
        )
