"""The demo site's sources, found by `presswatch sources add`, crawl the same articles as the
hand-written ones of `presswatch demo`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from crawler.demo import SITE
from crawler.demo.run import demo_config
from crawler.demo.server import SiteServer
from storage.models import Article, ArticleUrl
from tests.conftest import presswatch
from tests.databases import reader


def _stored(database: str) -> dict[str, set[str]]:
    """Each stored article's text hash -> the paths it was seen at (which of an article's
    copies, AMP or not, is fetched first varies from crawl to crawl)."""
    engine = reader(database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Article.content_hash, ArticleUrl.url).join(
                    ArticleUrl, ArticleUrl.article_id == Article.id
                )
            )
            found: dict[str, set[str]] = {}
            for digest, url in rows:
                found.setdefault(digest, set()).add(urlsplit(url).path)
            return found
    finally:
        engine.dispose()


def _linked_from(path: str) -> list[str]:
    """The demo site's files that link to ``path``."""
    return sorted(
        str(f.relative_to(SITE))
        for f in SITE.rglob("*")
        if f.is_file() and path.encode() in f.read_bytes()
    )


@pytest.mark.slow
def test_the_demo_sites_found_sources_crawl_the_same_articles_as_the_hand_written(
    tmp_path: Path,
) -> None:
    with SiteServer([SITE]) as server:
        hand, found = tmp_path / "hand", tmp_path / "found"
        for folder in (hand, found):
            folder.mkdir()
        written = demo_config(server, f"sqlite:///{hand / 'demo.db'}")
        (hand / "presswatch.toml").write_text(written, encoding="utf-8")
        # The same config without its [[sources]], for `sources add` to fill.
        head = written.split("[[sources]]")[0].replace(str(hand), str(found))
        (found / "presswatch.toml").write_text(head, encoding="utf-8")
        added = presswatch(
            "--config",
            str(found / "presswatch.toml"),
            "sources",
            "add",
            server.base("news"),
            server.base("wire"),
            cwd=found,
        )
        assert added.returncode == 0, added.stdout + added.stderr
        sources = tomllib.loads((found / "presswatch.toml").read_text("utf-8"))["sources"]
        assert [s["language"] for s in sources] == ["id", "en"]
        for folder in (hand, found):
            crawled = presswatch(
                "--config", str(folder / "presswatch.toml"), "crawl", "-q", cwd=folder
            )
            assert crawled.returncode == 0, crawled.stderr
        by_hand = _stored(f"sqlite:///{hand / 'demo.db'}")
        by_discovery = _stored(f"sqlite:///{found / 'demo.db'}")
        assert len(by_hand) > 10
        # The same articles with the same texts, but for what only /berita-lain/ links to: the
        # demo's hand-written config also crawls that section of deliberately broken pages,
        # which neither the home page, a feed nor a sitemap links to (one of its pages, a
        # video page with a caption, may give a text).
        only_by_hand = [paths for h, paths in by_hand.items() if h not in by_discovery]
        assert len(only_by_hand) <= 1
        for paths in only_by_hand:
            for path in paths:
                assert _linked_from(path) == ["news/berita-lain/index.html"], path
        assert not set(by_discovery) - set(by_hand)  # and nothing the hand-written miss
