"""The web view's tests: the demo site crawled into SQLite, one hostile article added as an
older version might have stored it, and `presswatch serve` run as a user runs it."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.demo.run import demo_config
from tests.conftest import _presswatch_command, presswatch, start_site

# A title and a body a hostile site could publish: stored as they are, they must reach the
# page as text.
HOSTILE_TITLE = '<script>alert("pw")</script><img src=x onerror=alert(2)> Karabakh war'
HOSTILE_TEXT = (
    "Karabakh: the war goes on. <script>document.title='owned'</script> "
    '<b onmouseover="alert(3)">bold</b> and more text about Karabakh and the war.'
)
PASSWORD = "correct horse battery staple"
PASSWORD_VAR = "PRESSWATCH_TEST_WEB_PASSWORD"


@dataclass
class Crawl:
    config: Path
    database_url: str
    workdir: Path
    hostile_id: int
    seed_id: int
    seed_story: int


def crawl_demo(workdir: Path, url: str | None = None) -> Iterator[Crawl]:
    """The demo site crawled into a database (a new SQLite file unless ``url``), plus the
    hostile article (flagged)."""
    url = url or f"sqlite:///{workdir / 'crawl.db'}"
    site = start_site(workdir, url)
    # The demo's own config, without the tests' deliberately slow pages and with its 10 s
    # timeout: a busy machine must not cost the seed article.
    site.config.write_text(demo_config(site.server, url), encoding="utf-8")
    try:
        result = presswatch("--config", str(site.config), "crawl", "-q", cwd=workdir)
        assert result.returncode == 0, result.stderr
    finally:
        site.server.stop()
    hostile = _store_hostile(url)
    seed = _seed(url)
    yield Crawl(site.config, url, workdir, hostile, seed[0], seed[1])


def _store_hostile(url: str) -> int:
    return store_flagged(url, "https://hostile.example/read/1/", HOSTILE_TITLE, HOSTILE_TEXT)


def store_flagged(url: str, page: str, title: str, body: str) -> int:
    """Store an article published an hour ago, flagged by the demo's watchlist as
    ``Karabakh AND war`` would flag it, with its title exactly as given."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from crawler.watch.flagging import Flagger, search_words
    from crawler.watch.matcher import WatchlistQuery
    from storage import articles, search
    from storage.engine import make_engine
    from storage.models import Article

    now = datetime.now(UTC)
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            stored = articles.store_article(
                session,
                articles.ArticleRecord(
                    source="warta",
                    url=page,
                    text=body,
                    fetched_at=now,
                    published_at=now - timedelta(hours=1),
                ),
            )
            # As an older version stored it: exactly these characters.
            session.execute(
                update(Article).where(Article.id == stored.article_id).values(title=title)
            )
            article = session.get_one(Article, stored.article_id)
            Flagger([WatchlistQuery("karabakh", "Karabakh AND war")]).flag(
                session, article, now, scope=["karabakh"]
            )
            search.set_search_words(session, article.id, search_words(title, body))
            return stored.article_id
    finally:
        engine.dispose()


def _seed(url: str) -> tuple[int, int]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from storage.engine import make_engine
    from storage.models import Article

    engine = make_engine(url, write=False)
    try:
        with Session(engine) as session:
            row = session.execute(
                select(Article.id, Article.story_id).where(
                    Article.title.like("Azerbaijan Bersumpah Berperang%")
                )
            ).one()
            return row.id, row.story_id or row.id
    finally:
        engine.dispose()


@dataclass
class Server:
    process: subprocess.Popen[str]
    base: str

    def url(self, path: str) -> str:
        return self.base + path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def web_config(crawl: Crawl, name: str, web: str) -> Path:
    """The crawl's config with a [web] section."""
    path = crawl.workdir / name
    path.write_text(crawl.config.read_text(encoding="utf-8") + "\n[web]\n" + web, "utf-8")
    return path


def serve(config: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    """`presswatch serve --port 0 ...`, once it says where it listens."""
    process = subprocess.Popen(
        [*_presswatch_command(), "--config", str(config), "serve", "--port", "0", *args],
        cwd=config.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    found = re.search(r"(http://\S+?)/?$", line.strip())
    if not found:
        process.kill()
        raise AssertionError(f"serve did not start: {line}{process.stderr.read()}")
    return Server(process, found.group(1))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: Any
    body: str

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class Client:
    """A browser-like client without JavaScript: cookies kept, redirects not followed."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect()
        )

    def request(
        self,
        path: str,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.server.url(path), data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return Reply(response.status, response.headers, response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read().decode("utf-8"))

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request(path, **kw)

    def post(self, path: str, data: dict[str, str], **kw: Any) -> Reply:
        return self.request(path, data=data, **kw)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token in the page"
    return found.group(1)
