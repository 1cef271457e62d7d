"""Distributed crawling: a real redis-server on 127.0.0.1, `presswatch worker` processes and
the daemon, against the local test site, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.config import load_config
from crawler.demo.articles import PAPUA, STORIES
from storage.models import Article, ArticleRevision, ArticleUrl, CrawlRun, WatchMatch
from tests.conftest import Crawled, Site, _presswatch_command, presswatch, wait_for
from tests.databases import free_port
from tests.test_crawl_e2e import _accounted, _stored, change_papua

REQUIRE_VAR = "PRESSWATCH_REQUIRE_REDIS"  # set by .ci/run: no Redis is a failure there


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server not found (apt-get install redis-server)"
        if os.environ.get(REQUIRE_VAR):
            pytest.fail(f"Redis is required here (${REQUIRE_VAR}) but {reason}")
        pytest.skip(f"cluster tests skipped: {reason}")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                server.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(10)


@pytest.fixture
def cluster_site(site: Site, redis_url: str) -> Site:
    prefix = f"pwtest-{uuid.uuid4().hex[:8]}"
    with site.config.open("a", encoding="utf-8") as config:
        config.write(
            f'\n[cluster]\nredis_url = "{redis_url}"\nkey_prefix = "{prefix}"\n'
            'heartbeat = "1s"\ndead_after = "3s"\n'
        )
    return site


def frontier_of(site: Site) -> tuple[redis.Redis, str]:
    config = load_config(site.config)
    assert config.cluster is not None
    return redis.Redis.from_url(config.cluster.redis_url), config.cluster.key_prefix


def start(site: Site, command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*_presswatch_command(), "--config", str(site.config), command],
        cwd=site.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def status(site: Site) -> dict[str, object]:
    result = presswatch("--config", str(site.config), "status", "--json", cwd=site.workdir)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def finished_runs(site: Site) -> list[CrawlRun]:
    try:
        with Session(site.engine()) as session:
            return list(session.scalars(select(CrawlRun).where(CrawlRun.status == "finished")))
    except SQLAlchemyError:
        return []  # the daemon is still creating the schema


def stop(*processes: subprocess.Popen[str]) -> list[str]:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    logs = []
    for process in processes:
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        logs.append(err)
    return logs


def stored_once(site: Site) -> int:
    with Session(site.engine()) as session:
        articles = session.scalar(select(func.count()).select_from(Article))
        hashes = session.scalar(select(func.count(func.distinct(Article.content_hash))))
        urls = session.scalar(select(func.count()).select_from(ArticleUrl))
        keys = session.scalar(select(func.count(func.distinct(ArticleUrl.url_key))))
    assert articles == hashes and urls == keys
    return int(articles or 0)


def results(site: Site) -> tuple[set[frozenset[str]], set[frozenset[str]], set[tuple[str, str]]]:
    """What a crawl stored, by address without the port, whatever order the pages came in:
    each article as the set of URLs it is known at (which of them is its own URL depends on
    which copy came first), each story as the set of its articles' URLs, and the watchlist
    matches by article."""

    def where(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.hostname}{parts.path}"

    with Session(site.engine()) as session:
        urls: dict[int, set[str]] = {}
        for article_id, url in session.execute(select(ArticleUrl.article_id, ArticleUrl.url)):
            urls.setdefault(article_id, set()).add(where(url))
        stories: dict[int, set[str]] = {}
        for article in session.scalars(select(Article)):
            stories.setdefault(article.story_id or article.id, set()).update(urls[article.id])
        matches = session.execute(select(WatchMatch.watchlist, WatchMatch.article_id)).all()
    return (
        {frozenset(u) for u in urls.values()},
        {frozenset(s) for s in stories.values()},
        {(w, " ".join(sorted(urls[a]))) for w, a in matches},
    )


def test_three_workers_crawl_the_site_together(cluster_site: Site, crawled: Crawled) -> None:
    site = cluster_site
    workers = [start(site, "worker") for _ in range(3)]
    daemon = None
    try:
        wait_for(lambda: len(status(site)["cluster"]["workers"]) == 3, 30, "three workers")  # type: ignore[index]
        site.server.reset_log()
        daemon = start(site, "run")
        wait_for(lambda: len(finished_runs(site)) == 2, 120, "both sources' runs")
        state = status(site)
        cluster = state["cluster"]
        assert cluster["frontier_length"] == 0 and cluster["active_runs"] == {}  # type: ignore[index]
    finally:
        logs = stop(*([daemon] if daemon else []), *workers)
    assert all(w.returncode == 0 for w in workers), logs
    # Each worker is one engine taking part in every run: a worker joined both sources' runs,
    # in its own process (no process per run): each run's set of workers names them by pid.
    client, prefix = frontier_of(site)
    runs = finished_runs(site)
    joined = [
        {m.decode() for m in cast(set[bytes], client.smembers(f"{prefix}:run:{r.id}:workers"))}
        for r in runs
    ]
    assert len(runs) == 2 and set.intersection(*joined), joined
    worker_pids = {w.pid for w in workers}
    assert {int(w.split(":")[-2]) for w in set.union(*joined)} <= worker_pids, joined

    # Every article page requested once, by whichever worker took it, however many listings
    # named it: one request per page (the listing that named it first is its Referer). A
    # request sent again — a retry after a timeout on this loaded machine — is the same
    # request, from the same listing.
    article_paths = {s.path for s in STORIES if s is not PAPUA}
    referers: dict[tuple[str, str], list[str]] = {}
    for r in site.server.requested():
        if r.method == "GET" and r.path in article_paths:
            referers.setdefault((r.host, r.path), []).append(r.headers.get("referer", "?"))
    assert len(referers) >= 10
    assert all(len(set(named)) == 1 for named in referers.values()), referers
    assert sum(len(named) for named in referers.values()) <= len(referers) + 1, referers
    # Every article stored once: the syndicated copy is its original's article.
    assert stored_once(site) == len(STORIES) - 1
    # The runs' accounting adds up over the workers' shares.
    for run in runs:
        summary = {
            "articles_fetched": run.articles_fetched,
            "new": run.new,
            "updated": run.updated,
            "duplicate": run.duplicate,
            "unchanged": run.unchanged,
            "empty": run.empty,
            "errors": run.errors,
        }
        assert run.articles_fetched > 0 and _accounted(summary) == run.articles_fetched, summary
    assert sum(r.new for r in runs) == len(STORIES) - 1
    # The same results as the single-machine crawl of the same site: articles, stories and
    # watchlist matches.
    parts: tuple[set[Any], ...] = results(site)
    single: tuple[set[Any], ...] = results(crawled.site)
    for name, got, wanted in zip(("articles", "stories", "matches"), parts, single, strict=True):
        assert got == wanted, (name, got - wanted, wanted - got)
    # The work was shared.
    shares = [client.scard(f"{prefix}:run:{r.id}:workers") for r in runs]
    assert max(shares) >= 2, shares


def test_a_worker_killed_mid_crawl_loses_nothing(cluster_site: Site) -> None:
    site = cluster_site
    workers = [start(site, "worker") for _ in range(3)]
    daemon = None
    try:
        wait_for(lambda: len(status(site)["cluster"]["workers"]) == 3, 30, "three workers")  # type: ignore[index]
        daemon = start(site, "run")
        wait_for(
            lambda: len([r for r in site.server.requested() if "/read/" in r.path]) >= 3,
            60,
            "the crawl under way",
        )
        # SIGKILL the worker holding the most: its crawls die with it, holding what they took.
        client, prefix = frontier_of(site)
        held: Counter[int] = Counter()
        for key in client.scan_iter(f"{prefix}:run:*:processing:*"):
            pid = int(key.decode().rsplit(":", 2)[-2])
            held[pid] += client.llen(key)
        victim = next(w for w in workers if w.pid == held.most_common(1)[0][0])
        assert held[victim.pid] > 0
        victim.kill()
        wait_for(lambda: len(finished_runs(site)) == 2, 120, "both runs finished by the others")
    finally:
        logs = stop(*([daemon] if daemon else []), *workers)
    assert victim.returncode == -signal.SIGKILL
    # What it held was given back (its processing lists emptied) and it was forgotten.
    dead = [
        w.decode()
        for w in cast(list[bytes], client.hkeys(f"{prefix}:workers"))
        if f":{victim.pid}:" in w.decode()
    ]
    assert dead == [], dead
    left = [
        key.decode()
        for key in client.scan_iter(f"{prefix}:run:*:processing:*")
        if f":{victim.pid}:" in key.decode() and client.llen(key)
    ]
    assert left == [], (left, logs)
    # Nothing lost, nothing twice.
    assert stored_once(site) == len(STORIES) - 1
    for story in STORIES:
        _stored(site, story)


def test_a_changed_article_is_updated_by_a_later_cluster_run(cluster_site: Site) -> None:
    site = cluster_site
    text = site.config.read_text(encoding="utf-8")
    site.config.write_text(
        text.replace('every = "15m"', 'every = "3s"').replace(
            "[cluster]", "[daemon]\nadaptive = false\n[cluster]"
        ),
        encoding="utf-8",
    )
    workers = [start(site, "worker") for _ in range(2)]
    daemon = start(site, "run")
    try:
        wait_for(
            lambda: any(r.source == "warta" for r in finished_runs(site)), 90, "a first warta run"
        )
        update = change_papua(site)
        changed_at = datetime.now(UTC)
        wait_for(
            lambda: any(
                r.source == "warta" and r.updated == 1 and r.started_at > changed_at
                for r in finished_runs(site)
            ),
            90,
            "a run that updates the changed article",
        )
    finally:
        stop(daemon, *workers)
    article = _stored(site, PAPUA)
    assert article.revision == 2 and article.text.endswith(update.strip())
    with Session(site.engine()) as session:
        (old,) = session.scalars(
            select(ArticleRevision).where(ArticleRevision.article_id == article.id)
        )
    assert old.revision == 1


def test_a_worker_without_a_cluster_config_is_told_what_to_add(site: Site) -> None:
    result = presswatch("--config", str(site.config), "worker", cwd=site.workdir)
    assert result.returncode == 2
    assert "has no [cluster] redis_url" in result.stderr


def test_a_worker_that_cannot_reach_redis_says_so(site: Site, tmp_path: Path) -> None:
    port = free_port()
    with site.config.open("a", encoding="utf-8") as config:
        config.write(f'\n[cluster]\nredis_url = "redis://127.0.0.1:{port}/0"\n')
    result = presswatch("--config", str(site.config), "worker", cwd=site.workdir)
    assert result.returncode == 2
    assert f"cannot reach Redis at redis://127.0.0.1:{port}/0" in result.stderr
