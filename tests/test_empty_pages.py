"""Pages that give no article text: remembered with why, not fetched again at every crawl, but
fetched again when their listing entry's date changes or ``[crawl] empty_retry`` has passed;
stored (and forgotten) once they give text. End to end on a small site served on 127.0.0.1,
through `presswatch crawl` and `scrapy crawl`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from crawler.demo.server import SiteServer
from storage.emptypages import EmptyPageRecord, remember_empty
from storage.engine import make_engine
from storage.maintenance import maintain
from storage.migrate import ensure_schema, upgrade
from storage.models import Article, ArticleUrl, EmptyPage
from storage.urlkeys import url_key
from tests.conftest import presswatch, scrapy_crawl
from tests.databases import reader

ARTICLE = "/read/1/gencatan-senjata"
VIDEO = "/read/2/video-serangan"  # a player and a caption: no text
SHORT = "/read/3/foto-singkat"  # one line: too short
PICTURE = "/read/4/peta-konflik"  # an image: not html
EMPTY = {VIDEO: "no text", SHORT: "too short", PICTURE: "not html"}
PARAGRAPH = (
    "Pembicaraan antara kedua delegasi dilanjutkan pada hari Senin di ibu kota, kata para "
    "pejabat, setelah sepekan penembakan di sepanjang garis depan menewaskan belasan warga. "
)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><nav><a href='/'>Beranda</a></nav>"
        f"<article><h1>{title}</h1>{body}</article><footer>Hak cipta</footer></body></html>"
    )


def _article(title: str) -> str:
    return _page(title, "".join(f"<p>{title}. {PARAGRAPH * 3} ({n})</p>" for n in range(4)))


@dataclass
class EmptySite:
    root: Path
    server: SiteServer
    config: Path
    database_url: str

    def write_config(self, empty_retry: str) -> None:
        self.config.write_text(
            f'[storage]\nurl = "{self.database_url}"\n\n'
            f'[crawl]\ntimeout = "5s"\nretries = 0\nempty_retry = "{empty_retry}"\n\n'
            f'[[sources]]\nname = "warta"\nsitemaps = ["{self.server.url("news", "/sitemap.xml")}"]\n'
            'language = "id"\ntimezone = "Asia/Jakarta"\n',
            encoding="utf-8",
        )

    def write_sitemap(self, dates: dict[str, datetime]) -> None:
        """The sitemap listing every page with its lastmod (a new file each time: its ETag
        changes, so the crawl reads it whole)."""
        entries = "".join(
            f"<url><loc>{{{{news}}}}{path}</loc><lastmod>{when.isoformat()}</lastmod></url>"
            for path, when in dates.items()
        )
        (self.root / "news" / "sitemap.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
            f"<!-- {time.time_ns()} -->",
            encoding="utf-8",
        )

    def fetched(self) -> set[str]:
        return {r.path for r in self.server.requested("news") if r.path.startswith("/read/")}

    def remembered(self) -> dict[str, EmptyPage]:
        engine = reader(self.database_url)
        try:
            with Session(engine) as session:
                rows = session.scalars(select(EmptyPage)).all()
                session.expunge_all()
        finally:
            engine.dispose()
        paths = {url_key(self.server.url("news", path)): path for path in (ARTICLE, *EMPTY)}
        return {paths[row.url_key]: row for row in rows}

    def stored(self) -> set[str]:
        engine = reader(self.database_url)
        try:
            with Session(engine) as session:
                urls = session.scalars(
                    select(ArticleUrl.url).join(Article, Article.id == ArticleUrl.article_id)
                ).all()
        finally:
            engine.dispose()
        return {re.sub(r"^http://[^/]+", "", url) for url in urls}

    def crawl(self) -> dict[str, object]:
        self.server.reset_log()
        done = presswatch("--config", str(self.config), "crawl", "--json", "-q", cwd=self.root)
        assert done.returncode == 0, done.stderr
        (summary,) = json.loads(done.stdout)
        return dict(summary)


@pytest.fixture
def empty_site(tmp_path: Path, database_url: str) -> Iterator[EmptySite]:
    root = tmp_path / "site"
    news = root / "news"
    news.mkdir(parents=True)
    (news / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    pages = {
        ARTICLE: _article("Gencatan senjata diperpanjang sepekan"),
        VIDEO: (
            '<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"><title>Video</title>'
            "</head><body><nav><a href='/'>Beranda</a></nav><video src='/v.mp4'></video>"
            "</body></html>"
        ),
        SHORT: _page("Foto: pengungsi", "<p>Pengungsi tiba di perbatasan.</p>"),
        PICTURE: "\x89PNG\r\n\x1a\n" + "0" * 200,
    }
    for path, body in pages.items():
        file = news / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(body, encoding="utf-8")
    (news / "_routes.toml").write_text(
        f'["{PICTURE}"]\ncontent_type = "image/png"\n', encoding="utf-8"
    )
    server = SiteServer([root]).start()
    site = EmptySite(root, server, tmp_path / "presswatch.toml", database_url)
    site.write_config("7d")
    yield site
    server.stop()


def test_a_page_without_text_is_remembered_and_fetched_again_only_when_due(
    empty_site: EmptySite,
) -> None:
    site = empty_site
    listed = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    dates = {path: listed for path in (ARTICLE, *EMPTY)}
    site.write_sitemap(dates)

    # The first crawl fetches every page; those without text are remembered with why.
    first = site.crawl()
    assert site.fetched() == {ARTICLE, *EMPTY}
    assert first["new"] == 1 and first["empty"] == 2, first
    remembered = site.remembered()
    assert {path: row.reason for path, row in remembered.items()} == EMPTY
    assert all(row.tries == 1 and row.listed_changed == listed for row in remembered.values())
    assert site.stored() == {ARTICLE}
    # `sources list` says how many the source has, by reason.
    listed_text = presswatch("--config", str(site.config), "sources", "list", cwd=site.root)
    assert listed_text.returncode == 0, listed_text.stderr
    assert (
        "remembered without text: 3 pages (no text 1, not html 1, too short 1)"
        in listed_text.stdout
    )
    as_json = presswatch("--config", str(site.config), "sources", "list", "--json", cwd=site.root)
    (row,) = json.loads(as_json.stdout)["sources"]
    assert row["empty_pages"] == {"no text": 1, "too short": 1, "not html": 1}

    # The sitemap is read again, unchanged for those pages: none of them is fetched (counted
    # as discover/known_empty in the crawl's stats), nor the stored article.
    site.write_sitemap(dates)
    site.server.reset_log()
    second = scrapy_crawl(site.config, "warta")
    assert second.returncode == 0, second.stderr
    assert site.server.requested("news", "/sitemap.xml")[0].status == 200
    assert site.fetched() == set()
    assert "'discover/known_empty': 3" in second.stderr
    assert {path: row.tries for path, row in site.remembered().items()} == dict.fromkeys(EMPTY, 1)

    # The video's sitemap entry is dated anew: it alone is fetched again, and tried twice now.
    dates[VIDEO] = listed + timedelta(hours=1)
    site.write_sitemap(dates)
    third = site.crawl()
    assert site.fetched() == {VIDEO}
    assert third["empty"] == 1, third
    remembered = site.remembered()
    assert remembered[VIDEO].tries == 2 and remembered[VIDEO].listed_changed == dates[VIDEO]
    assert remembered[SHORT].tries == 1 and remembered[PICTURE].tries == 1

    # With a retry interval shorter than the time since they were tried, all are fetched.
    site.write_config("1s")
    time.sleep(1.5)
    site.write_sitemap(dates)
    site.crawl()
    assert site.fetched() == EMPTY.keys()
    assert {path: row.tries for path, row in site.remembered().items()} == {
        VIDEO: 3,
        SHORT: 2,
        PICTURE: 2,
    }

    # The video page gets its article, and its entry a new date: stored, and forgotten.
    (site.root / "news" / VIDEO.lstrip("/")).write_text(
        _article("Video: detik-detik serangan"), encoding="utf-8"
    )
    site.write_config("7d")
    dates[VIDEO] = listed + timedelta(hours=1, minutes=30)
    site.write_sitemap(dates)
    fifth = site.crawl()
    assert site.fetched() == {VIDEO}
    assert fifth["new"] == 1, fifth
    assert site.stored() == {ARTICLE, VIDEO}
    assert set(site.remembered()) == {SHORT, PICTURE}


def test_a_bad_empty_retry_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "presswatch.toml"
    source = '[[sources]]\nname = "a"\nfeeds = ["https://a.example/rss"]\n'
    for value, expected in (
        ('"weekly"', "crawl.empty_retry: 'weekly' is not a duration"),
        ("-60", "crawl.empty_retry: must not be negative"),
    ):
        config.write_text(f"[crawl]\nempty_retry = {value}\n\n{source}", encoding="utf-8")
        result = presswatch("check", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        message = result.stderr.strip()
        assert "\n" not in message and str(config) in message and expected in message, message


def test_migration_0011_adds_the_table_to_a_database_of_0010(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0010")
    assert "empty_pages" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "empty_pages" in inspect(engine).get_table_names()
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        page = EmptyPageRecord(
            url_key("http://a.example/v"), "a", "http://a.example/v", "no text", None
        )
        remember_empty(session, [page], now)
        remember_empty(session, [page], now + timedelta(minutes=1))
    with Session(engine) as session:
        (row,) = session.scalars(select(EmptyPage)).all()
    assert (row.tries, row.first_seen, row.last_tried) == (2, now, now + timedelta(minutes=1))
    engine.dispose()


def test_maintenance_forgets_pages_not_tried_within_keep_runs(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    ensure_schema(engine)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for days in (200, 10):
            url = f"http://a.example/{days}"
            page = EmptyPageRecord(url_key(url), "a", url, "too short", None)
            remember_empty(session, [page], now - timedelta(days=days))
    done = maintain(engine, keep_runs=timedelta(days=180), keep_revisions=None, now=now)
    assert done.empty_pages_deleted == 1
    with Session(engine) as session:
        assert session.scalars(select(EmptyPage.url)).all() == ["http://a.example/10"]
    kept = maintain(engine, keep_runs=None, keep_revisions=None, now=now + timedelta(days=999))
    assert kept.empty_pages_deleted == 0
    engine.dispose()
