"""``presswatch sources list``: every source, its listings, health and last crawl, and the
pages it has that are remembered without article text."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from crawler.config import Config, SourceConfig
from storage.types import iso


def list_sources(config: Config, *, as_json: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    rows = [_source_row(s) for s in config.sources]
    _add_history(config, rows)
    if as_json:
        print(json.dumps({"config": str(config.path), "sources": rows}, indent=2), file=out)
        return 0
    for row in rows:
        health = row["health"]
        state = health["state"]
        shown = state if state in ("healthy", "unknown") else f"{state.upper()}: {health['reason']}"
        print(f"{row['name']}  (every {row['every']})  {shown}", file=out)
        for problem in health.get("problems", []):
            print(f"  ! {problem['reason']}: {problem['advice']}", file=out)
        for kind in ("feeds", "sitemaps", "pages"):
            for url in row[kind]:
                print(f"  {kind[:-1]:<8} {url}", file=out)
        last = row["last_run"]
        if last is None:
            print("  last crawl: never", file=out)
        else:
            errors = ", ".join(f"{k} {v}" for k, v in last["errors"].items()) or "no errors"
            print(
                f"  last crawl: {last['started_at']} {last['status']}"
                f"{' (' + last['reason'] + ')' if last['reason'] not in (None, 'finished') else ''}"
                f": {last['pages']} pages, {last['new']} new, {last['empty']} without text, "
                f"{errors}",
                file=out,
            )
        empty = row["empty_pages"]
        if empty:
            reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(empty.items()))
            print(
                f"  remembered without text: {sum(empty.values())} pages ({reasons}); fetched "
                "again when listed with a new date or after [crawl] empty_retry",
                file=out,
            )
    print(f"{len(rows)} sources in {config.path}", file=out)
    return 0


def _source_row(source: SourceConfig) -> dict[str, Any]:
    seconds = int(source.every.total_seconds())
    every = next(
        (
            f"{seconds // size}{unit}"
            for unit, size in (("d", 86400), ("h", 3600), ("m", 60))
            if seconds >= size and seconds % size == 0
        ),
        f"{seconds}s",
    )
    return {
        "name": source.name,
        "feeds": source.feeds,
        "sitemaps": source.sitemaps,
        "pages": source.pages,
        "article_pattern": source.article_pattern,
        "language": source.language,
        "timezone": source.timezone,
        "every": every,
        "last_run": None,
        "health": {"state": "unknown", "reason": "not crawled yet"},
        "empty_pages": {},  # pages remembered without article text, by reason
    }


def _add_history(config: Config, rows: list[dict[str, Any]]) -> None:
    """Each source's last run and health, when there is a database to read them from."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from storage.emptypages import reasons_by_source
    from storage.engine import make_engine
    from storage.health import source_health
    from storage.migrate import ensure_schema
    from storage.models import CrawlRun

    url = config.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return
    engine = make_engine(url, write=False)
    try:
        ensure_schema(engine)
        with Session(engine) as session:
            empty = reasons_by_source(session)
            for row in rows:
                row["empty_pages"] = empty.get(row["name"], {})
                run = session.scalars(
                    select(CrawlRun)
                    .where(CrawlRun.source == row["name"])
                    .order_by(CrawlRun.id.desc())
                    .limit(1)
                ).first()
                if run is not None:
                    row["last_run"] = {
                        "started_at": iso(run.started_at),
                        "status": run.status,
                        "reason": run.finish_reason,
                        "pages": run.pages_fetched,
                        "new": run.new,
                        "updated": run.updated,
                        "empty": run.empty,
                        "errors": dict(run.errors),
                    }
                row["health"] = source_health(
                    session,
                    row["name"],
                    failures=config.daemon.unhealthy_after_failures,
                    quiet_after=config.daemon.quiet_after,
                    listings=config.source(row["name"]).start_urls,
                    max_age=config.crawl.max_article_age,
                ).as_dict()
    finally:
        engine.dispose()
