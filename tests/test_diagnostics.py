"""Source diagnostics read from run rows and stored articles (storage.diagnostics), and the
migration that added what they need."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from storage import articles, runs
from storage.articles import ArticleRecord
from storage.engine import make_engine, make_sessionmaker
from storage.health import Health, source_health
from storage.migrate import ensure_schema, upgrade
from storage.runs import RunCounts

T0 = datetime(2026, 12, 1, tzinfo=UTC)
WORDS = "ceasefire talks resumed after shelling near the border village overnight officials said"


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    ensure_schema(engine)
    return engine


def _run(engine: Engine, hour: int, **counts: int) -> None:
    with make_sessionmaker(engine).begin() as session:
        run_id = runs.start_run(session, "s", T0 + timedelta(hours=hour), None)
        runs.finish_run(
            session,
            run_id,
            finished_at=T0 + timedelta(hours=hour, minutes=1),
            status="finished",
            finish_reason="finished",
            counts=RunCounts(pages_fetched=1 + counts.get("articles_fetched", 0), **counts),  # type: ignore[arg-type]
        )


def _health(engine: Engine, crawls: int = 2) -> Health:
    with make_sessionmaker(engine)() as session:
        return source_health(
            session,
            "s",
            failures=crawls,
            quiet_after=timedelta(days=365),
            now=T0 + timedelta(hours=30),
            max_age=timedelta(days=2),
        )


def test_a_feed_listing_only_old_articles_is_stale_after_the_configured_crawls(
    tmp_path: Path,
) -> None:
    engine = _engine(tmp_path)
    _run(engine, 0, listed=10, too_old=2, articles_fetched=8, new=8)
    _run(engine, 1, listed=10, too_old=10)
    assert _health(engine).state == "healthy"  # one crawl: not yet
    _run(engine, 2, listed=10, too_old=10)
    health = _health(engine)
    assert health.state == "stale" and health.unhealthy
    assert health.reason.startswith(
        "its feeds and sitemaps listed only articles older than 2 days in each of its last 2 "
        "crawls: the feed was probably abandoned"
    )
    _run(engine, 3, listed=10, too_old=9, articles_fetched=1, new=1)
    assert _health(engine).state == "healthy"
    engine.dispose()


def test_texts_shrunk_to_a_fraction_of_their_usual_length_make_a_source_broken(
    tmp_path: Path,
) -> None:
    engine = _engine(tmp_path)

    def store(n: int, hour: int, words: int) -> None:
        body = " ".join(f"{WORDS} {n} {i}." for i in range(words))
        with make_sessionmaker(engine).begin() as session:
            articles.store_article(
                session,
                ArticleRecord(
                    source="s",
                    url=f"http://s.example/read/{n}",
                    text=body,
                    fetched_at=T0 + timedelta(hours=hour, seconds=30),
                ),
            )

    for hour in range(3):
        _run(engine, hour, articles_fetched=3, new=3)
        for n in range(3):
            store(hour * 3 + n, hour, 40)
    assert _health(engine).state == "healthy"
    for hour in (3, 4):  # the redesign: only the teaser is taken
        _run(engine, hour, articles_fetched=2, new=2)
        for n in range(2):
            store(100 + hour * 2 + n, hour, 3)
    health = _health(engine)
    assert health.state == "broken"
    assert "the texts stored in its last 2 crawls are" in health.reason
    engine.dispose()


def test_migration_0009_keeps_the_runs_recorded_before_with_nothing_listed(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0008")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO crawl_runs (source, started_at, status, pages_fetched, "
                "articles_fetched, new, updated, duplicate, unchanged, empty, flagged, errors) "
                "VALUES ('s', :at, 'finished', 3, 2, 2, 0, 0, 0, 0, 0, '{}')"
            ),
            {"at": T0.isoformat()},
        )
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT listed, too_old FROM crawl_runs")).one() == (0, 0)
    engine.dispose()


def test_the_daemon_reports_a_broken_source_once_with_what_to_do(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from crawler.config import load_config
    from crawler.service.health import SourceHealth
    from storage.models import CrawlRun

    path = tmp_path / "presswatch.toml"
    path.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "d.db"}"\n\n'
        "[daemon]\nunhealthy_after_failures = 2\n\n"
        '[[sources]]\nname = "s"\nfeeds = ["http://127.0.0.1:9/rss"]\n',
        encoding="utf-8",
    )
    engine = _engine(tmp_path)
    _run(engine, 0, articles_fetched=4, new=4)
    _run(engine, 1, articles_fetched=4, empty=4)
    _run(engine, 2, articles_fetched=4, empty=4)
    reader = make_engine(f"sqlite:///{tmp_path / 'd.db'}", write=False)
    health = SourceHealth(load_config(path), reader, on_config_changed=lambda: None)
    caplog.set_level("INFO", logger="presswatch.daemon")
    health.check("s")  # the first pass at start
    # A later crawl with the same symptom: read again, still broken, not logged again.
    again = CrawlRun(
        source="s",
        status="finished",
        finish_reason="finished",
        pages_fetched=5,
        articles_fetched=4,
        empty=4,
        new=0,
        updated=0,
        flagged=0,
        errors={},
        listed=0,
        too_old=0,
    )
    _run(engine, 3, articles_fetched=4, empty=4)
    health.check("s", again)
    reports = [r.getMessage() for r in caplog.records if "unhealthy" in r.getMessage()]
    assert reports == [
        "source s is unhealthy (broken): 100% of its article pages gave no article text in "
        "each of its last 2 crawls (before: 0%): open one of its articles: if the text is on "
        "the page, its layout changed and the extractor misses it (report the page); if the "
        "page is an empty shell filled by script, point the source at the site's AMP pages or "
        "a full-text feed"
    ]
    reader.dispose()
    engine.dispose()
