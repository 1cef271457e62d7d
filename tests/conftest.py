"""Fixtures: the news site served from files on 127.0.0.1/127.0.0.2, configs, and commands run
as a user runs them (the ``presswatch`` console script, ``scrapy crawl`` from the repo root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from crawler.demo import SITE
from crawler.demo.run import demo_config
from crawler.demo.server import SiteServer
from tests.databases import REQUIRE_VAR, NoPostgres, PostgresServer, reader

REPO = Path(__file__).resolve().parents[1]
OVERLAY = REPO / "tests" / "pages"
TEST_PAGES = ("/uji/",)


def _presswatch_command() -> list[str]:
    script = Path(sys.executable).parent / "presswatch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "crawler.cli"]


def run(
    args: list[str], cwd: Path, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def presswatch(*args: str, cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    return run([*_presswatch_command(), *args], cwd=cwd, **kw)


def start_daemon(config: Path, cwd: Path) -> subprocess.Popen[str]:
    """`presswatch run` with ``config``, in the background; its output piped for the test."""
    return subprocess.Popen(
        [*_presswatch_command(), "--config", str(config), "run"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def scrapy_crawl(
    config: Path, source: str, *arguments: str, key: str = "source"
) -> subprocess.CompletedProcess[str]:
    scrapy = Path(sys.executable).parent / "scrapy"
    command = [str(scrapy)] if scrapy.exists() else [sys.executable, "-m", "scrapy"]
    extra = [part for argument in arguments for part in ("-a", argument)]
    return run(
        [*command, "crawl", "news", "-a", f"{key}={source}", "-a", f"config={config}", *extra],
        cwd=REPO,
    )


# -- databases: every test that takes `database_url` (or `site`, or `crawled`) runs twice,
# on SQLite and on a real PostgreSQL server ----------------------------------------------


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    # Not under pytest's own (root-only) temporary folder: the server may run as another user.
    root = Path(tempfile.mkdtemp(prefix="presswatch-test-pg-"))
    server = PostgresServer(root)
    try:
        server.start()
    except NoPostgres as exc:
        if os.environ.get(REQUIRE_VAR):
            pytest.fail(f"PostgreSQL is required here (${REQUIRE_VAR}) but: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty database of the test's backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'crawl.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    yield url
    server.drop_database(url)


def has_tables(url: str) -> bool:
    """Whether anything was written to the database at ``url`` (a SQLite file that does not
    exist has nothing)."""
    from sqlalchemy import inspect

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return False
    engine = reader(url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@dataclass
class Site:
    """A served copy of the site that a test may change, and where its config lives."""

    root: Path
    server: SiteServer
    config: Path
    workdir: Path
    database_url: str

    def url(self, host: str, path: str) -> str:
        return self.server.url(host, path)

    def engine(self) -> Engine:
        return reader(self.database_url)


def start_site(workdir: Path, database_url: str) -> Site:
    root = workdir / "site"
    shutil.copytree(SITE, root)
    server = SiteServer([root, OVERLAY]).start()
    config = workdir / "presswatch.toml"
    config.write_text(
        demo_config(server, database_url, extra_pages=TEST_PAGES, timeout="2s", retries=1),
        encoding="utf-8",
    )
    return Site(root, server, config, workdir, database_url)


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    served = start_site(tmp_path, database_url)
    yield served
    served.server.stop()


@dataclass
class Crawled:
    site: Site
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session")
def crawled(
    tmp_path_factory: pytest.TempPathFactory, backend: str, request: pytest.FixtureRequest
) -> Iterator[Crawled]:
    """One `presswatch crawl --json` of both sources, shared by the read-only tests."""
    workdir = tmp_path_factory.mktemp(f"crawled-{backend}")
    server: PostgresServer | None = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'crawl.db'}"
    else:
        server = request.getfixturevalue("postgres")
        url = server.create_database()
    served = start_site(workdir, url)
    result = presswatch("--config", str(served.config), "crawl", "--json", cwd=served.workdir)
    yield Crawled(served, result)
    served.server.stop()
    if server is not None:
        server.drop_database(url)
