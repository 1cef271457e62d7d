"""``presswatch run``: a real daemon process against the local test site, intervals of seconds."""

from __future__ import annotations

import itertools
import json
import os
import pickle
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.demo.articles import PAPUA
from storage.models import Article, CrawlRun
from storage.schedule import CRAWL_JOB_PREFIX, job_states
from tests.conftest import (
    Crawled,
    Site,
    has_tables,
    presswatch,
    wait_for,
)
from tests.conftest import start_daemon as run_daemon

INTERVAL = 3  # seconds between two crawls of a source


@pytest.fixture
def fast_site(site: Site) -> Site:
    config = site.config.read_text(encoding="utf-8")
    site.config.write_text(
        config.replace('every = "15m"', f'every = "{INTERVAL}s"').replace(
            'every = "30m"', f'every = "{INTERVAL}s"'
        ),
        encoding="utf-8",
    )
    return site


def start_daemon(site: Site) -> subprocess.Popen[str]:
    return run_daemon(site.config, site.workdir)


@pytest.fixture
def daemon(fast_site: Site) -> Iterator[subprocess.Popen[str]]:
    process = start_daemon(fast_site)
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=30)


def runs(site: Site, status: str | None = None) -> list[CrawlRun]:
    if not has_tables(site.database_url):
        return []
    query = select(CrawlRun)
    if status:
        query = query.where(CrawlRun.status == status)
    try:
        with Session(site.engine()) as session:
            return list(session.scalars(query))
    except SQLAlchemyError:
        return []  # the daemon is still creating the schema


def add_article(site: Site, path: str, title: str) -> None:
    """A new article page (a copy of PAPUA's with a new address, headline and text) and a new
    item at the top of the feed the source reads."""
    old = (site.root / "news" / PAPUA.path.lstrip("/")).read_text(encoding="utf-8")
    page = old.replace(PAPUA.path, path).replace(PAPUA.title, title)
    for paragraph in PAPUA.paragraphs:
        page = page.replace(paragraph, f"{paragraph[::-1]} {title}.")
    target = site.root / "news" / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    feed = site.root / "news" / "feed" / "internasional.rss"
    now = format_datetime(datetime.now(UTC))
    item = (
        f"<item><title>{title}</title><link>{{{{news}}}}{path}</link>"
        f"<guid>{{{{news}}}}{path}</guid><pubDate>{now}</pubDate></item>"
    )
    text = feed.read_text(encoding="utf-8")
    feed.write_text(text.replace("<item>", item + "<item>", 1), encoding="utf-8")


def crawl_interval(site: Site, source: str) -> timedelta | None:
    """How often the daemon's schedule (its stored job) crawls ``source`` now: the adaptive
    interval, as APScheduler stored it; None before the daemon stored the job."""
    if not has_tables(site.database_url):
        return None
    try:
        with site.engine().connect() as connection:
            states = dict(job_states(connection))
    except SQLAlchemyError:
        return None  # the daemon is still creating the schema
    state = states.get(CRAWL_JOB_PREFIX + source)
    return None if state is None else pickle.loads(state)["trigger"].interval


def stored_paths(site: Site) -> list[str]:
    with Session(site.engine()) as session:
        return [u.split("/", 3)[-1] for u in session.scalars(select(Article.url))]


def test_crawls_on_schedule_and_stores_a_new_article_within_an_interval(
    fast_site: Site, daemon: subprocess.Popen[str]
) -> None:
    wait_for(lambda: len(runs(fast_site, "finished")) >= 2, 40, "the first crawls")
    path = "/read/221500/41/gencatan-senjata-baru-diumumkan-1604400000"
    add_article(fast_site, path, "Gencatan Senjata Baru Diumumkan di Nagorno-Karabakh")
    added = time.monotonic()
    wait_for(lambda: path.lstrip("/") in stored_paths(fast_site), 30, "the new article")
    # One interval, plus the jitter and the crawl that may have been running already.
    assert time.monotonic() - added < 3 * INTERVAL + 10
    # Crawls keep coming on schedule: several per source, none overlapping itself.
    wait_for(lambda: len(runs(fast_site, "finished")) >= 5, 40, "more crawls")
    by_source: dict[str, list[CrawlRun]] = {}
    for run in runs(fast_site, "finished"):
        by_source.setdefault(run.source, []).append(run)
    assert set(by_source) == {"warta", "wire"}
    for source_runs in by_source.values():
        ordered = sorted(source_runs, key=lambda r: r.started_at)
        for before, after in itertools.pairwise(ordered):
            assert before.finished_at is not None and before.finished_at <= after.started_at

    with Session(fast_site.engine()) as session:
        jobs = set(session.scalars(sql("SELECT id FROM apscheduler_jobs")))
    assert jobs == {"crawl:warta", "crawl:wire", "maintenance"}

    status = presswatch(
        "--config", str(fast_site.config), "status", "--json", cwd=fast_site.workdir
    )
    assert status.returncode == 0, status.stderr
    state = json.loads(status.stdout)
    assert state["daemon"]["running"] is True and state["daemon"]["pid"] == daemon.pid
    for row in state["sources"]:
        assert row["last_run"] is not None and row["next_run"] is not None


def test_a_second_daemon_on_the_same_database_is_refused(
    fast_site: Site, daemon: subprocess.Popen[str]
) -> None:
    wait_for(lambda: runs(fast_site), 30, "the daemon's first crawl")
    second = start_daemon(fast_site)
    _, err = second.communicate(timeout=30)
    assert second.returncode == 2
    assert f"pid {daemon.pid}" in err and "one daemon per database" in err
    assert daemon.poll() is None  # the first one runs on


def test_sigterm_stops_it_cleanly(fast_site: Site, daemon: subprocess.Popen[str]) -> None:
    wait_for(lambda: runs(fast_site, "finished"), 40, "a finished crawl")
    daemon.send_signal(signal.SIGTERM)
    _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-2000:]
    assert not [r for r in runs(fast_site) if r.status == "running"]
    stopped = presswatch(
        "--config", str(fast_site.config), "status", "--json", cwd=fast_site.workdir
    )
    assert json.loads(stopped.stdout)["daemon"]["running"] is False  # its lock released


def test_kill_9_mid_crawl_then_restart_stores_every_article_once(
    fast_site: Site, crawled: Crawled
) -> None:
    first = start_daemon(fast_site)
    try:
        wait_for(lambda: runs(fast_site, "running"), 30, "a crawl in progress")
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    finally:
        first.kill()
    killed_at = datetime.now(UTC)
    second = start_daemon(fast_site)
    try:
        wait_for(
            lambda: len([r for r in runs(fast_site, "finished") if _after(r, killed_at)]) >= 2,
            60,
            "crawls after the restart",
        )
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 0, err[-2000:]
    finally:
        second.kill()
    with Session(fast_site.engine()) as session:
        urls = list(session.scalars(select(Article.url)))
        hashes = session.scalar(select(func.count(func.distinct(Article.content_hash))))
        left_running = session.scalar(
            select(func.count()).select_from(CrawlRun).where(CrawlRun.status == "running")
        )
    assert len(urls) == len(set(urls)) == hashes
    # The same site crawled once, undisturbed (the session's shared crawl), stored as many.
    with Session(crawled.site.engine()) as session:
        expected = session.scalar(select(func.count()).select_from(Article))
    assert len(urls) == expected
    assert left_running == 0


def _after(run: CrawlRun, when: datetime) -> bool:
    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
    return started >= when


def test_no_sources_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "presswatch.toml"
    config.write_text('[storage]\nurl = "sqlite:///x.db"\n', encoding="utf-8")
    result = presswatch("--config", str(config), "run", cwd=tmp_path)
    assert result.returncode == 2
    assert "no [[sources]]" in result.stderr
    assert not (tmp_path / "x.db").exists()
    assert os.listdir(tmp_path) == ["presswatch.toml"]


class _Comeback(BaseHTTPRequestHandler):
    """A small news site that was down and is back: a feed and one article."""

    pages: ClassVar[dict[str, tuple[str, str]]] = {}

    def do_GET(self) -> None:
        page = self.pages.get(self.path)
        if page is None:
            self.send_error(404)
            return
        content_type, body = page
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_source_that_stops_answering_turns_unhealthy_once_and_recovers(fast_site: Site) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.3", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.3:{port}"
    config = fast_site.config.read_text(encoding="utf-8")
    config = config.replace(
        "[[sources]]",
        '[daemon]\nunhealthy_after_failures = 2\nlog_file = "daemon.log"\n\n[[sources]]',
        1,
    )
    config += f'\n[[sources]]\nname = "flaky"\nfeeds = ["{base}/rss.xml"]\nevery = "2s"\n'
    fast_site.config.write_text(config, encoding="utf-8")
    log = fast_site.workdir / "daemon.log"

    def logged(text: str) -> int:
        return log.read_text(encoding="utf-8").count(text) if log.exists() else 0

    process = start_daemon(fast_site)
    server: ThreadingHTTPServer | None = None
    try:
        wait_for(lambda: logged("source flaky is unhealthy (failing)"), 40, "the unhealthy flag")
        status = presswatch(
            "--config", str(fast_site.config), "status", "--json", cwd=fast_site.workdir
        )
        (flaky,) = [s for s in json.loads(status.stdout)["sources"] if s["source"] == "flaky"]
        assert flaky["health"]["state"] == "failing"
        assert flaky["health"]["recent_errors"].get("connection_refused", 0) > 0
        # Two more failed crawls are not logged again.
        wait_for(
            lambda: len([r for r in runs(fast_site) if r.source == "flaky"]) >= 5, 30, "crawls"
        )
        assert logged("source flaky is unhealthy") == 1

        now = format_datetime(datetime.now(UTC))
        _Comeback.pages = {
            "/rss.xml": (
                "application/rss+xml; charset=utf-8",
                f"<?xml version='1.0'?><rss version='2.0'><channel><title>Back</title>"
                f"<item><title>Back online</title><link>{base}/news/1</link>"
                f"<pubDate>{now}</pubDate></item></channel></rss>",
            ),
            "/news/1": (
                "text/html; charset=utf-8",
                "<html><head><title>Back online</title></head><body><article><h1>Back online"
                "</h1>"
                + "".join(
                    f"<p>The regional news service resumed publishing on day {i} after an "
                    f"outage that lasted most of the week, its editors said.</p>"
                    for i in range(6)
                )
                + "</article></body></html>",
            ),
        }
        server = ThreadingHTTPServer(("127.0.0.3", port), _Comeback)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        wait_for(lambda: logged("source flaky recovered"), 40, "the recovery")
        status = presswatch(
            "--config", str(fast_site.config), "status", "--json", cwd=fast_site.workdir
        )
        (flaky,) = [s for s in json.loads(status.stdout)["sources"] if s["source"] == "flaky"]
        assert flaky["health"]["state"] == "healthy"
        assert "news/1" in stored_paths(fast_site)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
        if server is not None:
            server.shutdown()


def _one_site(base: str, articles: int) -> dict[str, tuple[str, str]]:
    """A feed of ``articles`` articles, and their pages."""
    now = format_datetime(datetime.now(UTC))
    pages = {}
    items = ""
    for n in range(1, articles + 1):
        items += (
            f"<item><title>Report {n}</title><link>{base}/news/{n}</link>"
            f"<pubDate>{now}</pubDate></item>"
        )
        pages[f"/news/{n}"] = (
            "text/html; charset=utf-8",
            f"<html><head><title>Report {n}</title></head><body><article><h1>Report {n}</h1>"
            + "".join(
                f"<p>Report {n}, part {i}: the district council met again to discuss the "
                f"repair of the bridge that the floods destroyed in the spring.</p>"
                for i in range(6)
            )
            + "</article></body></html>",
        )
    pages["/rss.xml"] = (
        "application/rss+xml; charset=utf-8",
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Quiet</title>{items}"
        "</channel></rss>",
    )
    return pages


def test_a_source_with_nothing_new_turns_quiet_once_and_recovers_on_news(fast_site: Site) -> None:
    """Between failures the daemon tells quiet from healthy from what it knows (the first
    crawl, the last new article), not by reading the crawl history at every poll."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.4", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.4:{port}"
    config = fast_site.config.read_text(encoding="utf-8").replace(
        "[[sources]]", '[daemon]\nquiet_after = "4s"\nlog_file = "daemon.log"\n\n[[sources]]', 1
    )
    config += f'\n[[sources]]\nname = "still"\nfeeds = ["{base}/rss.xml"]\nevery = "1s"\n'
    fast_site.config.write_text(config, encoding="utf-8")
    log = fast_site.workdir / "daemon.log"

    def logged(text: str) -> int:
        return log.read_text(encoding="utf-8").count(text) if log.exists() else 0

    _Comeback.pages = _one_site(base, 1)
    server = ThreadingHTTPServer(("127.0.0.4", port), _Comeback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    process = start_daemon(fast_site)
    try:
        wait_for(lambda: logged("source still is unhealthy (quiet)"), 40, "the quiet flag")
        assert "news/1" in stored_paths(fast_site)
        crawls = len([r for r in runs(fast_site) if r.source == "still"])
        wait_for(
            lambda: len([r for r in runs(fast_site) if r.source == "still"]) >= crawls + 3,
            30,
            "more crawls",
        )
        assert logged("source still is unhealthy") == 1  # said once
        _Comeback.pages = _one_site(base, 2)
        wait_for(lambda: logged("source still recovered"), 40, "the recovery")
        assert "news/2" in stored_paths(fast_site)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
        server.shutdown()


def logging_to_a_file(site: Site, config: str) -> Callable[[str], bool]:
    """Write ``config`` with the daemon logging to a file; return "is this text logged?"."""
    config = config.replace("[[sources]]", '[daemon]\nlog_file = "daemon.log"\n\n[[sources]]', 1)
    site.config.write_text(config, encoding="utf-8")
    log = site.workdir / "daemon.log"
    return lambda text: log.exists() and text in log.read_text(encoding="utf-8")


def test_the_interval_backs_off_while_nothing_is_new_and_resets_on_news(site: Site) -> None:
    config = site.config.read_text(encoding="utf-8")
    site.config.write_text(
        config.replace('every = "15m"', 'every = "2s"\nmax_every = "4s"', 1), encoding="utf-8"
    )
    process = start_daemon(site)
    try:
        # The first crawl stores the site; the next ones find nothing new and back off: the
        # interval the schedule stores grows past `every`, up to max_every.
        every, most = timedelta(seconds=2), timedelta(seconds=4)
        wait_for(lambda: (crawl_interval(site, "warta") or every) > every, 40, "a back-off")
        wait_for(lambda: crawl_interval(site, "warta") == most, 40, "max_every")
        path = "/read/221600/41/pasukan-penjaga-perdamaian-tiba-1604500000"
        add_article(site, path, "Pasukan Penjaga Perdamaian Tiba di Stepanakert")
        wait_for(lambda: crawl_interval(site, "warta") == every, 40, "the reset")
        assert path.lstrip("/") in stored_paths(site)
        warta = sorted((r for r in runs(site) if r.source == "warta"), key=lambda r: r.id)
        assert [r.new for r in warta if r.new][-1] == 1  # the crawl that found the one article
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def test_interval_bounds_must_hold_every(tmp_path: Path) -> None:
    config = tmp_path / "presswatch.toml"
    config.write_text(
        '[[sources]]\nname = "a"\nfeeds = ["https://example.org/rss"]\n'
        'every = "10m"\nmin_every = "20m"\n',
        encoding="utf-8",
    )
    result = presswatch("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "min_every <= every <= max_every" in result.stderr and "sources" in result.stderr


def test_db_maintain_on_demand(site: Site) -> None:
    assert presswatch("--config", str(site.config), "crawl", "-q", cwd=site.workdir).returncode == 0
    result = presswatch("--config", str(site.config), "db", "maintain", cwd=site.workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "0 crawl runs, 0 sent deliveries, 0 pages remembered without text and 0 earlier "
        "article texts past retention"
    )
    assert "database optimised" in result.stdout
    assert len(runs(site)) == 2  # this week's runs are kept


def test_sighup_rereads_the_config(fast_site: Site) -> None:
    logged = logging_to_a_file(fast_site, fast_site.config.read_text(encoding="utf-8"))
    good = fast_site.config.read_text(encoding="utf-8")
    daemon = start_daemon(fast_site)
    try:
        _sighup_rereads_the_config(fast_site, daemon, good, logged)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        daemon.communicate(timeout=30)


def _sighup_rereads_the_config(
    fast_site: Site, daemon: subprocess.Popen[str], good: str, logged: Callable[[str], bool]
) -> None:
    wait_for(
        lambda: {r.source for r in runs(fast_site, "finished")} == {"warta", "wire"}, 40, "crawls"
    )

    def jobs() -> set[str]:
        with Session(fast_site.engine()) as session:
            return set(session.scalars(sql("SELECT id FROM apscheduler_jobs")))

    # A broken config is refused, the operator told so, and the running one kept.
    fast_site.config.write_text(
        good.replace('name = "wire"', 'name = "bad name!"'), encoding="utf-8"
    )
    refused = datetime.now(UTC)
    daemon.send_signal(signal.SIGHUP)
    # The daemon's answer to the signal (the refusal it exists to tell) must have come before
    # the config file is written again: it has no other trace.
    wait_for(
        lambda: logged("SIGHUP: the config is not valid, keeping the running one"), 20, "refusal"
    )
    assert daemon.poll() is None
    assert jobs() == {"crawl:warta", "crawl:wire", "maintenance"}
    wait_for(
        lambda: [
            r for r in runs(fast_site, "finished") if r.source == "wire" and _after(r, refused)
        ],
        40,
        "wire crawled on under the kept config",
    )
    # Then the wire source is removed: its job goes, its crawls stop.
    without_wire = good[: good.index('[[sources]]\nname = "wire"')]
    fast_site.config.write_text(without_wire, encoding="utf-8")
    daemon.send_signal(signal.SIGHUP)
    wait_for(lambda: "crawl:wire" not in jobs(), 20, "the wire job to go")
    assert jobs() == {"crawl:warta", "maintenance"}
    # A wire crawl already handed to the engine when the signal came may still open and close
    # its row meanwhile: there is no sign of it to wait for, so give it two intervals.
    time.sleep(2 * INTERVAL)
    wire_runs = len([r for r in runs(fast_site) if r.source == "wire"])
    # Proves a negative (no run of the removed source in three intervals): only time can.
    time.sleep(3 * INTERVAL)
    assert len([r for r in runs(fast_site) if r.source == "wire"]) == wire_runs
    # And a source is added: the running engine (no restart) takes it at once.
    block = good[good.index('[[sources]]\nname = "wire"') :]
    fast_site.config.write_text(
        without_wire + block.replace('name = "wire"', 'name = "agency"', 1), encoding="utf-8"
    )
    daemon.send_signal(signal.SIGHUP)
    wait_for(lambda: [r for r in runs(fast_site, "finished") if r.source == "agency"], 40, "it")
    assert jobs() == {"crawl:warta", "crawl:agency", "maintenance"}
    engine = presswatch(
        "--config", str(fast_site.config), "status", "--json", cwd=fast_site.workdir
    )
    state = json.loads(engine.stdout)["engine"]["engines"]
    daemon.send_signal(signal.SIGTERM)
    _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-2000:]
    # Every run, before and after the reloads, was made by the one engine the status shows.
    assert {r.pid for r in runs(fast_site)} == {state[0]["pid"]} and len(state) == 1


def test_a_crawl_past_its_time_limit_is_stopped_and_recorded(fast_site: Site) -> None:
    config = fast_site.config.read_text(encoding="utf-8")
    fast_site.config.write_text(
        config.replace(
            "[[sources]]", '[daemon]\ncrawl_time_limit = "1s"\nstop_grace = "5s"\n\n[[sources]]', 1
        ),
        encoding="utf-8",
    )
    process = start_daemon(fast_site)
    try:
        # warta's crawl waits on the test site's slow page (two 2 s timeouts): past 1 s.
        wait_for(
            lambda: [r for r in runs(fast_site, "timeout") if r.source == "warta"], 40, "a timeout"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    (run, *_) = [r for r in runs(fast_site, "timeout") if r.source == "warta"]
    assert run.finished_at is not None
    assert (run.finished_at - run.started_at).total_seconds() < 1 + 5 + 5


def test_a_crawl_killed_with_sigkill_is_recorded_and_the_next_ones_carry_on(
    fast_site: Site, daemon: subprocess.Popen[str], crawled: Crawled
) -> None:
    wait_for(lambda: [r for r in runs(fast_site, "running") if r.pid], 40, "a crawl under way")
    (victim, *_) = [r for r in runs(fast_site, "running") if r.pid]
    os.kill(victim.pid, signal.SIGKILL)  # type: ignore[arg-type]
    wait_for(lambda: [r for r in runs(fast_site, "failed") if r.id == victim.id], 30, "its run row")
    after = victim.id
    wait_for(
        lambda: (
            {r.source for r in runs(fast_site, "finished") if r.id > after} == {"warta", "wire"}
        ),
        60,
        "the next crawls",
    )
    with Session(crawled.site.engine()) as session:
        expected = session.scalar(select(func.count()).select_from(Article))
    wait_for(lambda: len(stored_paths(fast_site)) == expected, 40, "every article")
    with Session(fast_site.engine()) as session:
        urls = list(session.scalars(select(Article.url)))
        hashes = session.scalar(select(func.count(func.distinct(Article.content_hash))))
    assert len(urls) == len(set(urls)) == hashes


def test_status_before_any_crawl_creates_nothing(tmp_path: Path) -> None:
    assert presswatch("init", cwd=tmp_path).returncode == 0
    result = presswatch("status", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["daemon"]["running"] is False
    assert [s["last_run"] for s in state["sources"]] == [None, None]
    assert {s["health"]["state"] for s in state["sources"]} == {"unknown"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["presswatch.toml"]


def test_an_unchanged_source_costs_requests_in_the_one_engine_not_a_process(site: Site) -> None:
    # The wire source without its section page: feeds and sitemaps only, all with validators.
    config = site.config.read_text(encoding="utf-8")
    section = f'pages = ["{site.url("wire", "/")}"]'
    assert section in config
    site.config.write_text(
        config.replace(section, "").replace('every = "30m"', 'every = "2s"'), encoding="utf-8"
    )

    def checks(since: datetime | None = None) -> list[CrawlRun]:
        return [
            r
            for r in runs(site, "finished")
            if r.source == "wire"
            and r.finish_reason == "not_modified"
            and (since is None or _after(r, since))
        ]

    process = start_daemon(site)
    try:
        wait_for(checks, 40, "a check answered 304")
        # Like any crawl that found nothing new, it backs the source's interval off.
        wait_for(lambda: (crawl_interval(site, "wire") or timedelta()).seconds > 2, 40, "back-off")
        site.server.reset_log()
        reset = datetime.now(UTC)
        wait_for(lambda: checks(since=reset), 40, "another poll, started after the reset")
        polled = [r for r in site.server.requested("wire") if r.path != "/robots.txt"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    wire = [r for r in runs(site) if r.source == "wire"]
    assert wire[0].finish_reason == "finished"  # the first: a crawl that stored articles
    checked = [r for r in wire if r.finish_reason == "not_modified"]
    assert checked and all(r.status == "finished" and r.new == 0 for r in checked)
    # A poll costs its conditional requests, answered 304, and no article page ...
    assert polled and all(r.status == 304 and "if-none-match" in r.headers for r in polled)
    # ... and no process: every run of both sources was made by the one engine.
    assert len({r.pid for r in runs(site)}) == 1 and wire[0].pid is not None


def _with_daemon_settings(site: Site, settings: str) -> None:
    config = site.config.read_text(encoding="utf-8")
    site.config.write_text(
        config.replace("[[sources]]", f"[daemon]\n{settings}\n\n[[sources]]", 1), encoding="utf-8"
    )


def test_a_stalled_engine_is_replaced_and_the_runs_it_held_closed_as_failed(
    fast_site: Site,
) -> None:
    _with_daemon_settings(fast_site, 'engine_stall = "5s"')
    process = start_daemon(fast_site)
    try:
        wait_for(lambda: [r for r in runs(fast_site, "running") if r.pid], 40, "a run under way")
        (held, *_) = [r for r in runs(fast_site, "running") if r.pid]
        assert held.pid is not None
        os.kill(held.pid, signal.SIGSTOP)  # alive, but answering nothing
        wait_for(lambda: [r for r in runs(fast_site, "failed") if r.id == held.id], 40, "its row")
        wait_for(
            lambda: (
                {
                    r.source
                    for r in runs(fast_site, "finished")
                    if r.id > held.id and r.pid != held.pid
                }
                == {"warta", "wire"}
            ),
            60,
            "both sources crawled by a new engine",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    (failed,) = [r for r in runs(fast_site) if r.id == held.id]
    assert failed.finish_reason is not None and "stopped answering" in failed.finish_reason
    # Replaced: a second engine (another pid) crawled both sources, waited for above, and ...
    with pytest.raises(ProcessLookupError):
        os.kill(held.pid, 0)  # the stalled engine is gone, not left stopped


def test_the_engine_is_recycled_by_age_and_no_run_is_lost(fast_site: Site) -> None:
    _with_daemon_settings(fast_site, 'engine_recycle = "4s"')
    process = start_daemon(fast_site)
    try:
        wait_for(
            lambda: len({r.pid for r in runs(fast_site, "finished")}) >= 3,
            90,
            "runs finished by three engines in turn",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    # Recycled, not crashed: three engines in turn (waited for above), and draining them
    # failed no run. Draining loses nothing: every run before the stop finished (the last ones stopped).
    ended = [r for r in runs(fast_site) if r.status != "running"]
    assert {r.status for r in ended} <= {"finished", "stopped"}
    assert [r for r in ended if r.status == "finished"]
    with Session(fast_site.engine()) as session:
        urls = list(session.scalars(select(Article.url)))
    assert urls and len(urls) == len(set(urls))


def test_a_changed_watchlist_reaches_the_engine_through_a_fresh_one(
    fast_site: Site, daemon: subprocess.Popen[str]
) -> None:
    # The engine builds its watchlists' matchers once: a SIGHUP that changes them recycles it.
    wait_for(lambda: {r.source for r in runs(fast_site, "finished")} == {"warta", "wire"}, 40, "")
    first = {r.pid for r in runs(fast_site)}
    config = fast_site.config.read_text(encoding="utf-8")
    fast_site.config.write_text(
        config.replace('name = "karabakh"', 'name = "karabakh2"', 1), encoding="utf-8"
    )
    daemon.send_signal(signal.SIGHUP)
    wait_for(
        lambda: (
            {r.source for r in runs(fast_site, "finished") if r.pid not in first}
            == {"warta", "wire"}
        ),
        60,
        "both sources crawled by a fresh engine",
    )
    daemon.send_signal(signal.SIGTERM)
    _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-2000:]
    # Recycled (drained), not killed: no run of the first engine failed.
    assert {r.status for r in runs(fast_site) if r.status != "running"} <= {"finished", "stopped"}


def test_sources_are_polled_every_interval_exactly_each_at_its_own_phase() -> None:
    """A source's turns come exactly `every` apart (no drift, however late one ran), and a
    thousand sources with one interval are spread over it rather than due in one burst."""
    from crawler.service.jobs import SpreadInterval

    every = timedelta(minutes=5)
    now = datetime(2026, 12, 4, 12, 0, 7, tzinfo=UTC)
    trigger = SpreadInterval.of("antara", every)

    def fire(previous: datetime | None, at: datetime) -> datetime:
        turn = trigger.get_next_fire_time(previous, at)
        assert turn is not None
        return turn

    turn = fire(None, now)
    assert now + every / 2 < turn <= now + every * 3 / 2  # not within half an interval
    turns = [turn]
    for _ in range(200):
        # Each turn runs up to 40 s late; the next is still on the grid.
        turns.append(fire(turns[-1], turns[-1] + timedelta(seconds=40)))
    assert {b - a for a, b in itertools.pairwise(turns)} == {every}
    assert fire(turn, turn + every + timedelta(seconds=1)) == turn + every

    # Crawled off the grid (at once, as a new source is): the next turn is on the grid, not
    # within half an interval.
    early, late = turn + timedelta(seconds=100), turn + timedelta(seconds=200)
    assert fire(early, early) == turn + every
    assert fire(late, late) == turn + 2 * every

    firsts = [
        SpreadInterval.of(f"site-{n}", every).get_next_fire_time(None, now) for n in range(1000)
    ]
    assert None not in firsts
    per_minute = [
        sum(
            now + m * every / 5 + every / 2 < t <= now + (m + 1) * every / 5 + every / 2
            for t in firsts
            if t is not None
        )
        for m in range(5)
    ]
    assert all(150 <= count <= 250 for count in per_minute), per_minute
    assert SpreadInterval.of("antara", every).get_next_fire_time(None, now) == turn  # stable


@pytest.mark.parametrize("home", ["crawler.daemon", "crawler.service.daemon"])
def test_jobs_stored_where_the_job_functions_were_before_keep_their_turn_and_interval(
    database_url: str, monkeypatch: pytest.MonkeyPatch, home: str
) -> None:
    """A stored job names its function and its trigger's class by module. The jobs a daemon
    stored when they lived in ``home`` are pointed at crawler.service.jobs at start, not dropped
    by APScheduler as jobs it cannot restore (and the adapted interval and turn with them)."""
    import pickle
    import sys
    import types

    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from crawler.service import jobs
    from storage.engine import make_engine
    from storage.schedule import JOB_TABLE

    class FormerSpreadInterval(jobs.SpreadInterval):
        pass

    FormerSpreadInterval.__module__, FormerSpreadInterval.__qualname__ = home, "SpreadInterval"
    former = types.ModuleType(home)
    former.SpreadInterval = FormerSpreadInterval  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, home, former)
    every = timedelta(minutes=7)  # adapted, unlike the configured one
    turn = datetime(2026, 12, 5, 9, 0, 3, tzinfo=UTC)
    state = {
        "version": 1,
        "id": "crawl:wire",
        "func": f"{home}:run_crawl",
        "trigger": FormerSpreadInterval.of("wire", every),
        "executor": "default",
        "args": ("wire",),
        "kwargs": {},
        "name": "crawl wire",
        "misfire_grace_time": 60,
        "coalesce": True,
        "max_instances": 1,
        "next_run_time": turn,
    }
    engine = make_engine(database_url)
    store = SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)
    store.start(None, "default")
    with engine.begin() as connection:
        connection.execute(
            store.jobs_t.insert().values(
                id="crawl:wire",
                next_run_time=turn.timestamp(),
                job_state=pickle.dumps(state, pickle.HIGHEST_PROTOCOL),
            )
        )
    monkeypatch.undo()  # that module is gone (or holds the daemon alone)

    assert jobs.rehome_stored_jobs(engine) == 1
    (job,) = store.get_all_jobs()
    assert job.func is jobs.run_crawl and job.args == ("wire",)
    assert type(job.trigger) is jobs.SpreadInterval and job.trigger.interval == every
    assert job.next_run_time == turn
    assert jobs.rehome_stored_jobs(engine) == 0  # once
    engine.dispose()
