"""`presswatch serve` over HTTP: authentication, CSRF, escaping, search errors, the JSON API and
the feeds, against a real server process over a crawl of the demo site."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import presswatch
from tests.databases import PostgresServer
from tests.webserve import (
    HOSTILE_TITLE,
    PASSWORD,
    PASSWORD_VAR,
    Client,
    Crawl,
    Server,
    crawl_demo,
    csrf_of,
    serve,
    store_flagged,
    web_config,
)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    yield from crawl_demo(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def server(crawl: Crawl) -> Iterator[Server]:
    """On 127.0.0.1 without a password: no login."""
    running = serve(crawl.config)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def guarded(crawl: Crawl) -> Iterator[Server]:
    """With a password."""
    config = web_config(crawl, "guarded.toml", f'password_env = "{PASSWORD_VAR}"\n')
    running = serve(config, env={PASSWORD_VAR: PASSWORD})
    yield running
    running.stop()


# -- starting ------------------------------------------------------------------------------


def test_refuses_to_serve_off_loopback_without_authentication(crawl: Crawl) -> None:
    result = presswatch(
        "--config",
        str(crawl.config),
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        cwd=crawl.workdir,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refusing to serve on 0.0.0.0" in lines[0]
    assert "password_env" in lines[0] and "Traceback" not in result.stderr


def test_refuses_a_password_variable_that_is_not_set(crawl: Crawl) -> None:
    config = web_config(crawl, "unset.toml", 'password_env = "PRESSWATCH_TEST_UNSET_VAR"\n')
    result = presswatch("--config", str(config), "serve", "--port", "0", cwd=crawl.workdir)
    assert result.returncode == 2
    assert "PRESSWATCH_TEST_UNSET_VAR" in result.stderr and "Traceback" not in result.stderr


def test_the_database_is_opened_read_only(crawl: Crawl) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from crawler.config import load_config
    from crawler.web.server import read_only_engine

    engine = read_only_engine(load_config(crawl.config))
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM articles"))
            with pytest.raises(OperationalError, match="readonly"):
                connection.execute(text("DELETE FROM articles"))
    finally:
        engine.dispose()


# -- authentication and CSRF --------------------------------------------------------------


def test_pages_redirect_to_login_and_the_api_answers_401_without_a_session(
    guarded: Server,
) -> None:
    client = Client(guarded)
    page = client.get("/stories/1?article=1")
    assert page.status == 303
    assert page.headers["location"] == "/login?next=%2Fstories%2F1%3Farticle%3D1"
    for path in ("/api/", "/api/search?q=Karabakh", "/api/sources"):
        reply = client.get(path)
        assert reply.status == 401, path
        assert reply.json() == {"error": "authentication required"}
    assert client.get("/feeds/karabakh.atom").status == 401
    assert client.get("/login").status == 200
    assert client.get("/static/app.js").status == 200


def test_login_needs_the_csrf_token_and_the_password(guarded: Server) -> None:
    client = Client(guarded)
    form = client.get("/login?next=/search")
    token = csrf_of(form.body)
    # No token, a wrong one, or a token from another session: refused.
    assert client.post("/login", {"password": PASSWORD}).status == 403
    assert client.post("/login", {"password": PASSWORD, "csrf": token + "x"}).status == 403
    other = Client(guarded)
    assert other.post("/login", {"password": PASSWORD, "csrf": token}).status == 403
    wrong = client.post("/login", {"password": "guess", "csrf": token, "next": "/"})
    assert wrong.status == 401 and "not the one configured" in wrong.body
    # Another site as the place to go after logging in is not followed.
    done = client.post("/login", {"password": PASSWORD, "csrf": token, "next": "//evil.example/"})
    assert done.status == 303 and done.headers["location"] == "/"
    cookie = done.headers["set-cookie"]
    assert "presswatch_session=" in cookie
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert client.get("/").status == 200
    assert client.get("/api/").status == 200


def test_mark_as_read_needs_the_csrf_token(server: Server) -> None:
    client = Client(server)
    page = client.get("/")
    assert page.status == 200
    assert client.post("/read", {}).status == 403
    assert client.post("/read", {"csrf": "forged"}).status == 403
    reply = client.post("/read", {"csrf": csrf_of(page.body)})
    assert reply.status == 303 and reply.headers["location"] == "/"
    # Nothing is new any more for this reader.
    assert "Nothing new." in client.get("/").body
    # Without a password there is nothing to log in with.
    assert client.get("/login?next=/sources").headers["location"] == "/sources"


def test_logout_needs_the_csrf_token(guarded: Server) -> None:
    client = Client(guarded)
    token = csrf_of(client.get("/login").body)
    assert client.post("/login", {"password": PASSWORD, "csrf": token}).status == 303
    page = client.get("/")
    assert client.post("/logout", {}).status == 403
    assert client.get("/").status == 200
    assert client.post("/logout", {"csrf": csrf_of(page.body)}).status == 303
    assert client.get("/").status == 303


def test_programs_and_feed_readers_may_use_basic_authentication(guarded: Server) -> None:
    client = Client(guarded)
    good = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
    bad = "Basic " + base64.b64encode(b"reader:guess").decode()
    assert client.get("/api/sources", headers={"Authorization": good}).status == 200
    assert client.get("/feeds/karabakh.atom", headers={"Authorization": good}).status == 200
    assert client.get("/api/sources", headers={"Authorization": bad}).status == 401


def test_a_trusted_proxy_header_names_the_user(crawl: Crawl) -> None:
    config = web_config(crawl, "proxy.toml", 'trusted_proxy_header = "X-Forwarded-User"\n')
    running = serve(config)
    try:
        client = Client(running)
        assert client.get("/").status == 401
        assert client.get("/", headers={"X-Forwarded-User": "ana"}).status == 200
    finally:
        running.stop()


# -- what every page is sent with ----------------------------------------------------------


def test_every_page_has_a_strict_policy_and_no_inline_script(server: Server, crawl: Crawl) -> None:
    client = Client(server)
    pages = [
        "/",
        "/watchlists/karabakh",
        f"/stories/{crawl.seed_story}",
        "/search?q=Karabakh",
        "/search?q=Karabakh+AND+(",
        "/sources",
        "/digests",
    ]
    for path in pages:
        reply = client.get(path)
        assert reply.status in (200, 400), path
        policy = reply.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["x-content-type-options"] == "nosniff"
        scripts = re.findall(r"<script[^>]*>", reply.body)
        assert scripts == ['<script src="/static/app.js" defer>'], (path, scripts)
        assert " on" not in "".join(re.findall(r"<[a-z]+ [^>]*\bon\w+=", reply.body)), path


def test_a_stored_script_title_arrives_as_text(server: Server, crawl: Crawl) -> None:
    client = Client(server)
    escaped = "&lt;script&gt;alert(&#34;pw&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    for path in (
        "/",
        "/watchlists/karabakh",
        f"/stories/{crawl.hostile_id}",
        "/search?q=Karabakh+AND+war",
    ):
        body = client.get(path).body
        assert escaped in body, path
        assert "<script>alert" not in body and "<img src=x" not in body, path
    story = client.get(f"/stories/{crawl.hostile_id}").body
    assert "&lt;script&gt;document.title=" in story
    assert '&lt;b onmouseover="alert(3)"&gt;' in story or "&lt;b onmouseover=&#34;" in story
    # The API gives the title exactly as stored.
    api = client.get(f"/api/stories/{crawl.hostile_id}").json()
    assert api["article"]["title"] == HOSTILE_TITLE


def test_a_search_syntax_error_shows_its_position(server: Server) -> None:
    client = Client(server)
    page = client.get("/search?q=Karabakh+AND+(war")
    assert page.status == 400
    assert "error at position 14" in page.body
    assert "this ( is never closed" in page.body
    assert '<mark class="at">(</mark>' in page.body
    api = client.get("/api/search?q=Karabakh+AND+(war")
    assert api.status == 400
    assert api.json()["position"] == 14
    assert api.json()["error"].startswith("position 14:")


# -- pages ---------------------------------------------------------------------------------


def test_the_story_page_highlights_the_hits_in_the_whole_text(server: Server, crawl: Crawl) -> None:
    body = Client(server).get(f"/stories/{crawl.seed_story}?article={crawl.seed_id}").body
    assert body.count("<mark>Nagorno-Karabakh</mark>") >= 5
    assert "<mark>berperang</mark>" in body
    assert "Azerbaijan Bersumpah Berperang sampai Akhir demi Nagorno-Karabakh" in body
    assert 'class="original"' in body


def test_the_overview_lists_new_stories_and_the_breaking_rule(server: Server) -> None:
    body = Client(server).get("/").body
    assert 'href="/watchlists/karabakh"' in body
    assert "Azerbaijan Bersumpah Berperang" in body
    assert "<svg" in body and "Mentions per day" in body
    assert "Breaking: at least 5 mentions in the last 6 hours" in body


def test_search_pages_with_filters(server: Server) -> None:
    client = Client(server)
    everything = client.get("/api/search?q=Karabakh").json()
    assert everything["complete"] and everything["results"]
    ids = [r["id"] for r in everything["results"]]
    russian = client.get(
        "/api/search?q=Karabakh+OR+%D0%9A%D0%B0%D1%80%D0%B0%D0%B1%D0%B0%D1%85&language=ru"
    ).json()["results"]
    assert russian and all(r["language"] == "ru" for r in russian)
    wire = client.get("/api/search?q=Karabakh&source=wire").json()["results"]
    assert wire and all(r["source"] == "wire" for r in wire)
    flagged = client.get("/api/search?q=Karabakh&watchlist=karabakh").json()["results"]
    assert flagged and all("karabakh" in r["flagged_by"] for r in flagged)
    # Pages of one result each, by the cursor, give the same articles in the same order.
    paged: list[int] = []
    after = ""
    while True:
        page = client.get(f"/api/search?q=Karabakh&limit=1&after={after}").json()
        paged += [r["id"] for r in page["results"]]
        if not page["next"]:
            break
        after = page["next"]
    assert paged == ids
    html = client.get("/search?q=Karabakh").body
    assert "<mark>" in html
    bad = client.get("/api/search?q=Karabakh&since=yesterday")
    assert bad.status == 400 and bad.json()["error"].startswith("since:")


def test_trying_a_draft_watchlist(server: Server, crawl: Crawl) -> None:
    from sqlalchemy import func, select

    from crawler.watch.matcher import Matcher, WatchlistQuery
    from storage.engine import make_engine
    from storage.models import Article

    client = Client(server)
    reply = client.get("/api/search?q=war&try=3650").json()
    assert reply["days"] == 90  # at most 90 days
    # What the trial says is what the matcher finds, article by article, over the same days.
    engine = make_engine(crawl.database_url, write=False)
    matcher = Matcher([WatchlistQuery("draft", "Karabakh OR Armenia*")])
    since = datetime.now(UTC) - timedelta(days=90)
    recency = func.coalesce(Article.published_at, Article.fetched_at)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Article.id, Article.title, Article.text, Article.language)
            .where(recency >= since)
            .order_by(recency.desc(), Article.id.desc())
        ).all()
    engine.dispose()
    expected = [r.id for r in rows if matcher.match(r.title or "", r.text, r.language)]
    trial = client.get("/api/search?q=Karabakh+OR+Armenia*&try=90").json()
    assert trial["complete"] and trial["examined"] <= len(rows)
    assert trial["would_flag"] == len(expected) >= 1  # the demo's articles are of 2020
    assert [r["id"] for r in trial["results"]] == expected[: len(trial["results"])]
    recent = client.get("/api/search?q=Karabakh+AND+war&try=7").json()
    assert recent["would_flag"] >= 1  # the hostile article, stored an hour ago
    assert recent["already_flagged"] >= 1
    page = client.get("/search?q=Karabakh+AND+war&try=7").body
    assert "A watchlist with this query would flag" in page


def _counted_beyond_the_listed(url: str) -> tuple[Any, Any]:
    """A search for Karabakh listing every match, and one listing the first only (counting
    the rest from the articles' indexed words, read three at a time)."""
    from sqlalchemy.orm import Session

    from crawler.web import search as searching
    from storage.engine import make_engine

    engine = make_engine(url, write=False)
    try:
        with Session(engine) as session:
            every = searching.search(session, "Karabakh", searching.Filters(), page=1000)
            listed = searching.search(
                session, "Karabakh", searching.Filters(), page=1000, shown=1, chunk=3
            )
    finally:
        engine.dispose()
    return every, listed


def test_a_trial_counts_the_matches_beyond_those_it_lists(crawl: Crawl) -> None:
    """Past the articles it shows, a trial only counts matches (by presence checks on the
    indexed words): the count and the already-flagged count are those of a search that lists
    every match."""
    every, listed = _counted_beyond_the_listed(crawl.database_url)
    assert every.complete and listed.complete
    assert len(every.hits) == every.count >= 3
    assert listed.count == every.count and listed.flagged == every.flagged >= 1
    assert [h.id for h in listed.hits] == [every.hits[0].id]


def test_the_api(server: Server, crawl: Crawl) -> None:
    client = Client(server)
    overview = client.get("/api/").json()
    (karabakh,) = overview["watchlists"]
    assert karabakh["name"] == "karabakh"
    assert len(karabakh["mentions_per_day"]) == 30
    assert set(karabakh["breaking"]) == {"breaking", "recent", "usual", "rule"}
    assert karabakh["feed"] == "/feeds/karabakh.atom"
    assert client.get("/api/overview?since=3650d").json()["watchlists"][0]["new_stories"]

    story = client.get(f"/api/stories/{crawl.seed_story}?article={crawl.seed_id}").json()
    text = story["article"]["text"]
    marked = [text[a:b] for a, b in story["highlights"]]
    assert "Nagorno-Karabakh" in marked
    assert story["matches"][0]["watchlist"] == "karabakh"
    assert any(a["original"] for a in story["articles"])
    assert client.get("/api/stories/999999").status == 404

    sources = client.get("/api/sources").json()
    assert sources["daemon"]["running"] is False
    names = {s["source"]: s for s in sources["sources"]}
    assert set(names) == {"warta", "wire"}
    assert names["warta"]["last_run"]["status"] == "finished"
    assert names["warta"]["health"]["state"]

    assert client.get("/api/digests").json() == {"watchers": []}
    watchlist = client.get("/api/watchlists/karabakh").json()
    assert watchlist["stories"] and watchlist["query"].startswith('("Nagorno-Karabakh"')
    assert client.get("/api/watchlists/nope").status == 404


def test_the_atom_feed(server: Server) -> None:
    reply = Client(server).get("/feeds/karabakh.atom")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(reply.body.encode("utf-8"))
    atom = "{http://www.w3.org/2005/Atom}"
    assert feed.findtext(f"{atom}id") == "urn:presswatch:watchlist:karabakh"
    titles = [e.findtext(f"{atom}title") for e in feed.iter(f"{atom}entry")]
    assert HOSTILE_TITLE in titles
    assert Client(server).get("/feeds/nope.atom").status == 404


def test_the_feed_is_the_one_presswatch_feed_writes(server: Server, crawl: Crawl) -> None:
    atom = "{http://www.w3.org/2005/Atom}"
    written = presswatch("--config", str(crawl.config), "feed", "karabakh", cwd=crawl.workdir)
    assert written.returncode == 0, written.stderr
    served = Client(server).get("/feeds/karabakh.atom").body
    expected, got = ET.fromstring(written.stdout), ET.fromstring(served.encode("utf-8"))

    def entries(feed: ET.Element) -> list[tuple[str | None, str | None, str | None]]:
        return [
            (e.findtext(f"{atom}id"), e.findtext(f"{atom}title"), e.findtext(f"{atom}summary"))
            for e in feed.iter(f"{atom}entry")
        ]

    assert entries(got) == entries(expected)
    assert len(entries(got)) >= 5


def test_an_article_flagged_while_serving_is_new_at_once(server: Server, crawl: Crawl) -> None:
    client = Client(server)
    page = client.get("/")
    assert client.post("/read", {"csrf": csrf_of(page.body)}).status == 303
    assert "Nothing new." in client.get("/").body  # (the overview's snapshot is made by now)
    title = "Fresh report: Karabakh war flares again"
    store_flagged(
        crawl.database_url,
        "https://fresh.example/read/2/",
        title,
        "Karabakh: the war flared again overnight, officials said.",
    )
    body = client.get("/").body
    assert title in body and "1 new story" in body


def test_pages_of_the_sources_and_digests(server: Server, tmp_path: Path) -> None:
    client = Client(server)
    sources = client.get("/sources").body
    assert "warta" in sources and "wire" in sources and "not running" in sources
    assert client.get("/digests").status == 200


# -- started by the daemon -----------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_daemon_serves_the_web_view_when_enabled(crawl: Crawl) -> None:
    import json
    import os
    import signal
    import subprocess
    import time
    import urllib.request

    from tests.conftest import _presswatch_command

    refused = web_config(crawl, "daemon-open.toml", 'enabled = true\nhost = "0.0.0.0"\n')
    result = presswatch("--config", str(refused), "run", cwd=crawl.workdir, timeout=60)
    assert result.returncode == 2 and "refusing to serve on 0.0.0.0" in result.stderr

    port = _free_port()
    config = web_config(crawl, "daemon.toml", f"enabled = true\nport = {port}\n")
    daemon = subprocess.Popen(
        [*_presswatch_command(), "--config", str(config), "run"],
        cwd=crawl.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 60
        state = None
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/api/sources"
                with urllib.request.urlopen(url, timeout=5) as reply:
                    state = json.loads(reply.read())
                if state["daemon"]["running"]:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        assert state is not None and state["daemon"]["running"], state
        assert state["daemon"]["pid"] == daemon.pid
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, stderr
    # Served while the daemon ran (above), and no longer once it stopped.
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_control_characters_in_stored_text_do_not_reach_the_page(
    server: Server, crawl: Crawl
) -> None:
    title = "Karabakh war \x1b[31mred\x1b[0m \u202etxt.exe\x07 end"
    article = store_flagged(
        crawl.database_url, "https://controls.example/read/3/", title, "Karabakh war\x00 text."
    )
    client = Client(server)
    body = client.get(f"/stories/{article}").body
    assert "Karabakh war red txt.exe end" in body
    assert not any(c in body for c in "\x1b\u202e\x07\x00")
    assert client.get(f"/api/stories/{article}").json()["article"]["title"] == title


# -- PostgreSQL ----------------------------------------------------------------------------


def test_every_page_on_postgresql(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The same code over PostgreSQL: the demo crawled into it, every page and API answered."""
    url = postgres.create_database()
    workdir = tmp_path_factory.mktemp("web-postgresql")
    try:
        crawl = next(crawl_demo(workdir, url))
        running = serve(crawl.config)
        try:
            client = Client(running)
            for path in (
                "/",
                "/watchlists/karabakh",
                f"/stories/{crawl.seed_story}?article={crawl.seed_id}",
                "/search?q=Karabakh+AND+war",
                "/search?q=Karabakh&language=id&after=20991231T000000.000000_999999",
                "/search?q=Karabakh+AND+war&try=7",
                "/sources",
                "/digests",
                "/feeds/karabakh.atom",
                "/api/",
                "/api/search?q=Karabakh",
            ):
                assert client.get(path).status == 200, path
            story = client.get(f"/stories/{crawl.seed_story}?article={crawl.seed_id}").body
            assert "<mark>Nagorno-Karabakh</mark>" in story
            assert client.get("/api/search?q=Karabakh").json()["results"]
        finally:
            running.stop()
        # Counting past the listed matches from the indexed words, as on SQLite.
        every, listed = _counted_beyond_the_listed(url)
        assert listed.count == every.count >= 3 and listed.flagged == every.flagged
    finally:
        postgres.drop_database(url)


def test_a_revised_article_shows_its_revisions(server: Server, crawl: Crawl) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.orm import Session

    from storage import articles
    from storage.engine import make_engine

    page = "https://revised.example/read/4/"
    first = store_flagged(crawl.database_url, page, "Karabakh war: first report", "Karabakh war.")
    engine = make_engine(crawl.database_url)
    try:
        with Session(engine) as session, session.begin():
            stored = articles.store_article(
                session,
                articles.ArticleRecord(
                    source="warta",
                    url=page,
                    text="Karabakh war: the corrected report, with more detail.",
                    fetched_at=datetime.now(UTC) + timedelta(minutes=1),
                    title="Karabakh war: corrected report",
                ),
            )
    finally:
        engine.dispose()
    assert stored.outcome == articles.Outcome.UPDATED and stored.article_id == first
    client = Client(server)
    body = client.get(f"/stories/{first}").body
    assert "Revisions of this article" in body
    assert "corrected report, with more detail" in body
    assert f"/stories/{first}?article={first}&amp;revision=1" in body
    earlier = client.get(f"/stories/{first}?article={first}&revision=1").body
    assert "This is revision 1, replaced since" in earlier
    assert "Karabakh war: first report" in earlier and "more detail" not in earlier
    api = client.get(f"/api/stories/{first}").json()
    assert [r["revision"] for r in api["revisions"]] == [1]
    assert api["article"]["revision"] == 2
