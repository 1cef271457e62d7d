"""Fixtures: the news site served from files on 127.0.0.1/127.0.0.2, configs, and commands run
as a user runs them (the ``presswatch`` console script, ``scrapy crawl`` from the repo root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from crawler.demo import SITE
from crawler.demo.run import demo_config
from crawler.demo.server import SiteServer
from storage.engine import make_engine

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


def scrapy_crawl(config: Path, source: str) -> subprocess.CompletedProcess[str]:
    scrapy = Path(sys.executable).parent / "scrapy"
    command = [str(scrapy)] if scrapy.exists() else [sys.executable, "-m", "scrapy"]
    return run(
        [*command, "crawl", "news", "-a", f"source={source}", "-a", f"config={config}"], cwd=REPO
    )


@dataclass
class Site:
    """A served copy of the site that a test may change, and where its config lives."""

    root: Path
    server: SiteServer
    config: Path
    workdir: Path

    def url(self, host: str, path: str) -> str:
        return self.server.url(host, path)

    def engine(self) -> Engine:
        return make_engine(f"sqlite:///{self.workdir / 'crawl.db'}", write=False)


def start_site(workdir: Path) -> Site:
    root = workdir / "site"
    shutil.copytree(SITE, root)
    server = SiteServer([root, OVERLAY]).start()
    config = workdir / "presswatch.toml"
    config.write_text(
        demo_config(server, "crawl.db", extra_pages=TEST_PAGES, timeout="2s", retries=1),
        encoding="utf-8",
    )
    return Site(root, server, config, workdir)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    served = start_site(tmp_path)
    yield served
    served.server.stop()


@dataclass
class Crawled:
    site: Site
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """One `presswatch crawl --json` of both sources, shared by the read-only tests."""
    served = start_site(tmp_path_factory.mktemp("crawled"))
    result = presswatch("--config", str(served.config), "crawl", "--json", cwd=served.workdir)
    yield Crawled(served, result)
    served.server.stop()
