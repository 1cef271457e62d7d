"""Digests rendered from a real crawl's database: grouping by watchlist and story, escaping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.config import Config, load_config
from crawler.demo.articles import SEED_STORY
from crawler.digests.digest import build_digest
from crawler.digests.formats import render
from storage import articles
from storage.engine import make_engine
from storage.migrate import ensure_schema
from storage.models import Article
from tests.conftest import Crawled, presswatch

WATCHER = '\n[[watchers]]\nname = "analyst"\nwatchlists = ["karabakh"]\ntimezone = "Asia/Jakarta"\n'


def digest_config(crawled: Crawled, tmp_path: Path) -> Path:
    text = crawled.site.config.read_text(encoding="utf-8")
    config = tmp_path / "presswatch.toml"
    config.write_text(
        text + WATCHER,
        encoding="utf-8",
    )
    return config


def test_digest_groups_flagged_articles_by_story(crawled: Crawled, tmp_path: Path) -> None:
    config = digest_config(crawled, tmp_path)
    result = presswatch(
        "--config",
        str(config),
        "digest",
        "analyst",
        "--since",
        "3650d",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    digest = json.loads(result.stdout)
    (group,) = digest["watchlists"]
    assert group["watchlist"] == "karabakh"
    entries = group["entries"]
    titles = [e["title"] for e in entries]
    assert SEED_STORY.title in titles
    seed = entries[titles.index(SEED_STORY.title)]
    assert {t["term"] for t in seed["terms"]} >= {"Nagorno-Karabakh", "rudal", "tewas"}
    assert seed["snippet"]["highlights"]
    # The wire story printed by both hosts is one entry, with the other outlet listed.
    assert any(e["also"] for e in entries)
    assert digest["stories"] == len(entries) and digest["articles"] > digest["stories"]
    # Newest first, one entry per story.
    assert len({e["story_id"] for e in entries}) == len(entries)
    published = [e["published_at"] for e in entries if e["published_at"]]
    assert published == sorted(published, reverse=True)

    text = presswatch("--config", str(config), "digest", "--since", "3650d", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("presswatch digest for analyst: ")
    assert "[Nagorno-Karabakh]" in text.stdout and "WIB" in text.stdout
    assert "also reported by: wire " in text.stdout


def test_nothing_new_is_said_so(crawled: Crawled, tmp_path: Path) -> None:
    config = digest_config(crawled, tmp_path)
    future = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    result = presswatch("--config", str(config), "digest", "--since", future, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "presswatch digest for analyst: nothing new" in result.stdout


def karabakh_database(tmp_path: Path) -> tuple[Config, Engine]:
    """A config with a 'karabakh' watchlist and the analyst watcher, and its empty database."""
    config_path = tmp_path / "presswatch.toml"
    config_path.write_text(
        '[storage]\nurl = "sqlite:///d.db"\n[[watchlists]]\nname = "karabakh"\n'
        'query = "Karabakh"\n' + WATCHER,
        encoding="utf-8",
    )
    config = load_config(config_path)
    engine = make_engine(config.database_url)
    ensure_schema(engine)
    return config, engine


def test_article_text_is_escaped_in_html(tmp_path: Path) -> None:
    config, engine = karabakh_database(tmp_path)
    now = datetime.now(UTC)
    title = "<script>alert(1)</script> Karabakh & co"
    body = "Fighting resumed in Karabakh <b>overnight</b>, officials said. " * 5
    with Session(engine) as session, session.begin():
        stored = articles.store_article(
            session,
            articles.ArticleRecord(
                source="s",
                url="https://a.example/x?a=1&b=2",
                text=body,
                fetched_at=now,
                title=title,
            ),
        )
        article = session.get_one(Article, stored.article_id)
        from crawler.watch.flagging import Flagger
        from crawler.watch.matcher import WatchlistQuery

        Flagger([WatchlistQuery("karabakh", "Karabakh")]).flag(session, article, now)
    with Session(engine) as session:
        digest = build_digest(session, config, config.watcher("analyst"), now - timedelta(hours=1))
    page = render(digest, "html")
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Karabakh &amp; co" in page
    assert ">Karabakh</mark>" in page and "<mark " in page
    assert "href='https://a.example/x?a=1&amp;b=2'" in page
    markdown = render(digest, "md")
    assert "\\<script\\>" in markdown


def test_a_watcher_of_an_unknown_watchlist_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "presswatch.toml"
    config.write_text('[[watchers]]\nname = "a"\nwatchlists = ["nope"]\n', encoding="utf-8")
    result = presswatch("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "'nope', which is not configured" in result.stderr
    config.write_text(
        '[[watchlists]]\nname = "w"\nquery = "x"\n[[watchers]]\nname = "a"\nwatchlists = ["w"]\n'
        'schedule = "daily 25:00"\n',
        encoding="utf-8",
    )
    result = presswatch("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2 and "schedule" in result.stderr and "25:00" in result.stderr


def test_the_chart_counts_mentions_per_day_of_publication_in_the_watchers_zone(
    tmp_path: Path,
) -> None:
    config, engine = karabakh_database(tmp_path)
    watcher = config.watcher("analyst")
    now = datetime.now(UTC)
    from crawler.watch.flagging import Flagger
    from crawler.watch.matcher import WatchlistQuery

    flagger = Flagger([WatchlistQuery("karabakh", "Karabakh")])
    ages = {"a": 0, "b": 1, "c": 1, "d": 40, "e": None}  # days ago; e is undated
    with Session(engine) as session, session.begin():
        for name, age in ages.items():
            body = f"Story {name} about shelling in Karabakh, told at length. " * 8
            stored = articles.store_article(
                session,
                articles.ArticleRecord(
                    source="s",
                    url=f"https://a.example/{name}",
                    text=body,
                    fetched_at=now,
                    title=f"Karabakh {name}",
                    published_at=None if age is None else now - timedelta(days=age),
                ),
            )
            flagger.flag(session, session.get_one(Article, stored.article_id), now)
    with Session(engine) as session:
        digest = build_digest(session, config, watcher, now - timedelta(days=60))
    assert digest.chart is not None
    series = digest.chart.series["karabakh"]
    assert len(series) == len(digest.chart.days) == 28
    today = now.astimezone(watcher.zone).date()
    assert digest.chart.days[-1] == today
    # Today: a, and e (undated, counted when matched); yesterday: b and c; d is too old.
    assert series[-1] == 2 and series[-2] == 2 and sum(series) == 4
    assert "mentions per day" in render(digest, "text")
    assert "data:image/png;base64," in render(digest, "html")
