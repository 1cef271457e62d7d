"""One engine, many sources: `presswatch crawl` of many small sites (each its own host on
127.0.1.x, served from files) runs them all in one Scrapy crawler, and each source's run is
its own: the same records and run rows as crawling them one by one, the per-host limits shared
by sources on one host, and a slow source delaying nobody else."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from crawler.demo.server import SiteServer
from storage.models import Article, CrawlRun
from tests import manysites
from tests.conftest import presswatch, scrapy_crawl

SITES = 8  # nine sources: site00 has two feeds, two sources on one host
ARTICLES = 3


@dataclass
class Sites:
    root: Path
    workdir: Path
    sites: list[manysites.SiteSpec]
    server: SiteServer

    def write_config(self, name: str, **kw: Any) -> Path:
        path = self.workdir / f"{name}.toml"
        database = f"sqlite:///{self.workdir / (name + '.db')}"
        path.write_text(manysites.config(self.server, self.sites, database, **kw), encoding="utf-8")
        return path


@pytest.fixture
def many_sites(tmp_path: Path) -> Iterator[Callable[..., Sites]]:
    servers: list[SiteServer] = []

    def start(routes: dict[str, str] | None = None) -> Sites:
        root = tmp_path / "sites"
        sites = manysites.specs(SITES, ARTICLES)
        manysites.build(root, sites)
        for host, toml in (routes or {}).items():
            (root / host / "_routes.toml").write_text(toml, encoding="utf-8")
        server = manysites.serve(root, sites)
        servers.append(server)
        return Sites(root, tmp_path, sites, server)

    yield start
    for server in servers:
        server.stop()


def crawl(config: Path, *names: str) -> list[dict[str, Any]]:
    done = presswatch("--config", str(config), "crawl", "--json", "-q", *names, cwd=config.parent)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def rows(config: Path) -> tuple[list[CrawlRun], list[Article]]:
    engine = create_engine(f"sqlite:///{config.with_suffix('.db')}")
    try:
        with Session(engine) as session:
            runs = list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))
            articles = list(session.scalars(select(Article)))
            session.expunge_all()
            return runs, articles
    finally:
        engine.dispose()


def test_many_sources_in_one_engine_store_what_crawling_them_one_by_one_stores(
    many_sites: Callable[..., Sites],
) -> None:
    sites = many_sites()
    names = manysites.source_names(sites.sites)
    together = sites.write_config("together")
    apart = sites.write_config("apart")

    summaries = {s["source"]: s for s in crawl(together)}
    one_by_one = {name: crawl(apart, name)[0] for name in names}

    def outcome(summary: dict[str, Any]) -> tuple[Any, ...]:
        keys = ("status", "finish_reason", "pages_fetched", "articles_fetched", "new", "errors")
        return tuple(str(summary[k]) for k in keys)

    assert set(summaries) == set(names)
    assert {n: outcome(s) for n, s in summaries.items()} == {
        n: outcome(s) for n, s in one_by_one.items()
    }
    assert all(s["new"] == ARTICLES and s["status"] == "finished" for s in summaries.values())
    runs, articles = rows(together)
    apart_runs, apart_articles = rows(apart)

    def record(a: Article) -> tuple[Any, ...]:
        return (a.source, a.url, a.title, a.text, a.published_at, a.language)

    assert sorted(map(record, articles)) == sorted(map(record, apart_articles))
    assert len(articles) == len(names) * ARTICLES
    # One run row per source either way; together, every one made by the same process.
    assert sorted(r.source for r in runs) == sorted(r.source for r in apart_runs) == sorted(names)
    assert len({r.pid for r in runs}) == 1 and len({r.pid for r in apart_runs}) == len(names)


def test_two_sources_on_one_host_share_its_slot_and_its_robots_txt(
    many_sites: Callable[..., Sites],
) -> None:
    # site00 carries two sources; each of its article pages takes a while to answer.
    slow = "".join(f'["/news/{n}.html"]\ndelay = 0.4\n' for n in range(2 * ARTICLES))
    sites = many_sites({"site00": slow})
    config = sites.write_config(
        "polite", crawl="concurrency = 16\nconcurrency_per_domain = 2\nautothrottle = false"
    )
    summaries = {s["source"]: s for s in crawl(config)}
    assert summaries["site00"]["new"] == summaries["site00-world"]["new"] == ARTICLES
    # Six slow pages and two feeds, two sources: the host's limit of 2 was reached, not passed.
    assert sites.server.max_in_flight["site00"] == 2
    robots = sites.server.requested("site00", "/robots.txt")
    assert len(robots) == 1


def test_a_slow_source_does_not_delay_another_sources_run(
    many_sites: Callable[..., Sites],
) -> None:
    hanging = "".join(f'["/news/{n}.html"]\ndelay = 5\n' for n in range(ARTICLES))
    sites = many_sites({"site01": hanging})
    config = sites.write_config("slow")
    summaries = {s["source"]: s for s in crawl(config)}
    assert summaries["site01"]["status"] == "finished" and summaries["site01"]["new"] == ARTICLES
    runs, _ = rows(config)
    seconds = {
        r.source: (r.finished_at - r.started_at).total_seconds()
        for r in runs
        if r.finished_at is not None
    }
    assert seconds["site01"] >= 5
    others = {name: s for name, s in seconds.items() if name != "site01"}
    assert len(others) == len(summaries) - 1
    # Each other run ended on its own, long before the slow one (not when the engine idled).
    assert max(others.values()) < 3, others


def test_scrapy_crawl_takes_several_sources_in_one_crawl(
    many_sites: Callable[..., Sites],
) -> None:
    sites = many_sites()
    config = sites.write_config("scrapy")
    done = scrapy_crawl(config, "site01,site02,site00-world", key="sources")
    assert done.returncode == 0, done.stderr
    runs, articles = rows(config)
    assert sorted(r.source for r in runs) == ["site00-world", "site01", "site02"]
    assert all(r.status == "finished" and r.new == ARTICLES for r in runs)
    assert {r.finish_reason for r in runs} == {"finished"}
    assert len({r.pid for r in runs}) == 1 and len(articles) == 3 * ARTICLES
    # One source or several, not both: the crawl closes with the reason, nothing written.
    # (Scrapy exits 0 whatever the reason; its closing stats are where it names the reason.)
    both = scrapy_crawl(config, "site01", "sources=site02", key="source")
    assert "give either source or sources, not both" in both.stderr
    assert "'finish_reason': 'bad_arguments'" in both.stderr
    assert len(rows(config)[0]) == 3
