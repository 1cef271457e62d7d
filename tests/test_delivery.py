"""Digest delivery through the outbox, against real servers on 127.0.0.1: an SMTP server
(aiosmtpd) that receives the mail, an HTTP server that receives the webhook, feeds parsed by
feedparser, and the `presswatch` command run as a user runs it."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, insert, select, update
from sqlalchemy import text as text_sql
from sqlalchemy.orm import Session

from crawler.config import load_config
from crawler.demo.articles import SEED_STORY
from storage.engine import make_engine
from storage.models import Article, Delivery, DeliveryItem, WatcherState, WatchMatch
from tests.conftest import Crawled, Site, _presswatch_command, presswatch, start_daemon
from tests.databases import PostgresServer, clone, free_port, reader

# -- real servers ---------------------------------------------------------------------------


class MailSink:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.on_message: Callable[[EmailMessage], None] | None = None
        self.received = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        self.received.set()
        if self.on_message is not None:
            self.on_message(message)
        return "250 Message accepted"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def start_smtp(port: int) -> tuple[Controller, MailSink]:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, sink


@pytest.fixture
def smtp(smtp_port: int) -> Iterator[MailSink]:
    controller, sink = start_smtp(smtp_port)
    yield sink
    controller.stop()


class Hook:
    """An HTTP endpoint answering the status codes it is given in turn (then 200)."""

    def __init__(self, answers: list[int], delays: list[float] | None = None) -> None:
        self.answers = answers
        self.delays = delays or []  # seconds to wait before answering, in turn
        self.requests: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = hook.answers.pop(0) if hook.answers else 200
                hook.requests.append((status, dict(self.headers), json.loads(body)))
                time.sleep(hook.delays.pop(0) if hook.delays else 0)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def keys(self) -> list[str]:
        return [headers["Idempotency-Key"] for _, headers, _ in self.requests]


# -- a copy of the crawled database and a config with a watcher -----------------------------


@dataclass
class Copy:
    """A private copy of the crawled database."""

    crawled: Crawled
    url: str

    def write(self) -> Any:
        """An engine to change the copy with (disposed by the caller)."""
        return make_engine(self.url)


@pytest.fixture
def copy(
    crawled: Crawled, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> Iterator[Copy]:
    server: PostgresServer | None = (
        request.getfixturevalue("postgres") if backend == "postgresql" else None
    )
    url = clone(crawled.site.database_url, server, tmp_path / "crawl.db")
    yield Copy(crawled, url)
    if server is not None:
        server.drop_database(url)


def setup(copy: Copy, tmp_path: Path, watcher: str, delivery: str = "") -> Path:
    """A config on the copy of the crawled database, adding ``watcher`` (TOML lines) and
    ``delivery``."""
    config = tmp_path / "presswatch.toml"
    site = copy.crawled.site
    base = site.config.read_text(encoding="utf-8")
    assert site.database_url in base
    lines = [
        base.replace(site.database_url, copy.url),
        "[[watchers]]",
        'name = "analyst"',
        'watchlists = ["karabakh"]',
        'timezone = "Asia/Jakarta"',
        watcher,
        delivery,
    ]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def smtp_settings(port: int) -> str:
    return (
        f'[delivery.smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
        'from = "presswatch <alerts@example.org>"\ntimeout = "5s"\n'
    )


def send(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return presswatch(
        "--config", str(config), "digest", "analyst", "--send", *extra, cwd=config.parent
    )


def preview(config: Path) -> dict[str, Any]:
    result = presswatch(
        "--config", str(config), "digest", "analyst", "--format", "json", cwd=config.parent
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def deliveries(config: Path) -> list[Delivery]:
    engine = reader(load_config(config).database_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(Delivery).order_by(Delivery.id)))
        session.expunge_all()
    engine.dispose()
    return rows


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return str(plain.get_content()), str(html.get_content())


# -- email ----------------------------------------------------------------------------------


def test_email_digest_arrives_grouped_escaped_with_a_message_id(
    copy: Copy, tmp_path: Path, smtp: MailSink, smtp_port: int
) -> None:
    config = setup(copy, tmp_path, 'email = "analyst@example.org"', smtp_settings(smtp_port))
    # A headline carrying markup must arrive as text.
    engine = copy.write()
    with engine.begin() as db:
        db.execute(
            update(Article)
            .where(Article.title == SEED_STORY.title)
            .values(title="<script>alert(1)</script> " + SEED_STORY.title)
        )
    engine.dispose()
    expected = preview(config)
    assert expected["stories"] >= 3 and expected["articles"] > expected["stories"]

    result = send(config)
    assert result.returncode == 0, result.stderr
    assert "analyst email digest" in result.stdout and "sent" in result.stdout
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert smtp.recipients[0] == ["analyst@example.org"]
    assert message["Message-ID"] and message["Message-ID"].endswith("@example.org>")
    assert message["From"] == "presswatch <alerts@example.org>"
    assert "karabakh" in message["Subject"]
    plain, html = parts(message)
    (group,) = expected["watchlists"]
    for entry in group["entries"]:
        title = entry["title"]
        assert title in plain
        assert entry["url"] in plain
    # One entry per story; the wire story's other outlet is listed, not repeated.
    assert plain.count("\n* ") == expected["stories"]
    assert "also reported by: wire " in plain
    assert f"<script>alert(1)</script> {SEED_STORY.title}" in plain
    assert "[Nagorno-Karabakh]" in plain
    assert "WIB" in plain  # times in the watcher's zone
    # HTML: escaped article text, highlighted hits, the chart inline.
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<mark" in html
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    cid = str(image["Content-ID"]).strip("<>")
    assert f"cid:{cid}" in html
    assert bytes(image.get_content()).startswith(b"\x89PNG")
    assert "mentions per day" in plain

    (row,) = deliveries(config)
    assert (row.status, row.channel, row.kind, row.attempts) == ("sent", "email", "digest", 1)
    assert row.message_id == message["Message-ID"].strip()

    # Nothing new since: nothing is sent, and the preview says so.
    again = send(config)
    assert again.returncode == 0 and "nothing new" in again.stdout
    assert len(smtp.messages) == 1
    assert preview(config)["stories"] == 0


def test_smtp_down_then_back_sends_everything_once_with_what_arrived_since(
    copy: Copy, tmp_path: Path, smtp_port: int
) -> None:
    config = setup(copy, tmp_path, 'email = "analyst@example.org"', smtp_settings(smtp_port))
    # One match arrives later (as a crawl would flag it): hold it back for now.
    engine = copy.write()
    with engine.begin() as db:
        late = dict(
            db.execute(select(WatchMatch.__table__).order_by(WatchMatch.id.desc()).limit(1))
            .mappings()
            .one()
        )
        db.execute(delete(WatchMatch).where(WatchMatch.id == late["id"]))
    first = preview(config)

    down = send(config)
    assert down.returncode == 1
    assert "NOT delivered" in down.stdout and f"127.0.0.1:{smtp_port}" in down.stdout
    (row,) = deliveries(config)
    assert (row.status, row.attempts) == ("pending", 1) and row.last_error
    failed_id = row.message_id

    with engine.begin() as db:
        late["updated_at"] = late["matched_at"] = datetime.now(UTC)
        db.execute(insert(WatchMatch).values(**late))

    controller, sink = start_smtp(smtp_port)
    try:
        back = send(config)
        assert back.returncode == 0, back.stdout + back.stderr
        assert len(sink.messages) == 1
        plain, _ = parts(sink.messages[0])
        for entry in first["watchlists"][0]["entries"]:
            assert entry["url"] in plain
        (row,) = deliveries(config)  # the pending digest, grown, not a second one
        assert (row.status, row.attempts) == ("sent", 2)
        # Its content changed since the failed attempt, so it is a new message.
        assert sink.messages[0]["Message-ID"].strip() == row.message_id != failed_id
        with Session(engine) as session:
            taken = session.scalars(select(DeliveryItem.article_id)).all()
        engine.dispose()
        assert late["article_id"] in taken and len(taken) == len(set(taken))

        assert send(config).returncode == 0
        assert len(sink.messages) == 1
    finally:
        controller.stop()


def test_a_crash_between_sending_and_recording_repeats_that_digest_with_its_message_id(
    copy: Copy, tmp_path: Path, smtp: MailSink, smtp_port: int
) -> None:
    config = setup(copy, tmp_path, 'email = "analyst@example.org"', smtp_settings(smtp_port))
    process = subprocess.Popen(
        [*_presswatch_command(), "--config", str(config), "digest", "analyst", "--send"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The server has the message; the sender dies before it hears back or records anything.
    smtp.on_message = lambda _message: os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert len(smtp.messages) == 1
    (row,) = deliveries(config)
    assert row.status == "sending"
    smtp.on_message = None

    result = send(config)
    assert result.returncode == 0, result.stderr
    assert len(smtp.messages) == 2
    first, second = smtp.messages
    assert first["Message-ID"].strip() == second["Message-ID"].strip() == row.message_id
    assert parts(first)[0] == parts(second)[0]
    (row,) = deliveries(config)
    assert (row.status, row.attempts) == ("sent", 2)
    assert send(config).returncode == 0 and len(smtp.messages) == 2


# -- webhook, directory, feed ---------------------------------------------------------------


def test_webhook_answering_500_then_200_gets_the_digest_once(copy: Copy, tmp_path: Path) -> None:
    hook = Hook([500])
    try:
        config = setup(copy, tmp_path, f'webhook = "{hook.url}"')
        expected = preview(config)
        failed = send(config)
        assert failed.returncode == 1 and "HTTP 500" in failed.stdout
        assert "secret-token" not in failed.stdout + failed.stderr  # hook URLs are secrets
        ok = send(config)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert send(config).returncode == 0
        assert [status for status, _, _ in hook.requests] == [500, 200]
        (_, first_headers, _), (_, headers, payload) = hook.requests
        assert headers["Idempotency-Key"] == first_headers["Idempotency-Key"]
        assert payload["text"].startswith("*presswatch digest for analyst")
        urls = sorted(item["url"] for item in payload["items"])
        assert urls == sorted(e["url"] for e in expected["watchlists"][0]["entries"])
        assert all(item["watchlist"] == "karabakh" for item in payload["items"])
        assert payload["stories"] == expected["stories"]
    finally:
        hook.stop()


def test_directory_and_feed_channels(copy: Copy, tmp_path: Path) -> None:
    config = setup(copy, tmp_path, 'directory = "digests/"\nfeed = "feeds/karabakh.xml"')
    expected = preview(config)
    result = send(config)
    assert result.returncode == 0, result.stdout + result.stderr
    html_files = list((tmp_path / "digests").glob("analyst-*-digest-*.html"))
    md_files = list((tmp_path / "digests").glob("analyst-*-digest-*.md"))
    assert len(html_files) == len(md_files) == 1
    page = html_files[0].read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and SEED_STORY.title in page
    feed = feedparser.parse(str(tmp_path / "feeds" / "karabakh.xml"))
    assert not feed.bozo, feed.bozo_exception
    assert len(feed.entries) == expected["stories"]


def test_feed_command_writes_valid_atom_one_entry_per_story(copy: Copy, tmp_path: Path) -> None:
    config = setup(copy, tmp_path, "")
    stories = preview(config)["watchlists"][0]["entries"]
    out = tmp_path / "karabakh.xml"
    result = presswatch("--config", str(config), "feed", "karabakh", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    feed = feedparser.parse(out.read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert len(feed.entries) == len(stories)
    assert len({e.id for e in feed.entries}) == len(feed.entries)
    by_link = {e.link: e for e in feed.entries}
    seed = next(s for s in stories if s["title"] == SEED_STORY.title)
    entry = by_link[seed["url"]]
    assert entry.title == SEED_STORY.title
    assert "<strong>Nagorno-Karabakh</strong>" in entry.summary and entry.tags[0].term == "karabakh"
    # Rewriting the feed keeps every entry's id: readers show each story once.
    again = presswatch("--config", str(config), "feed", "karabakh", cwd=tmp_path)
    assert {e.id for e in feedparser.parse(again.stdout).entries} == {e.id for e in feed.entries}
    unknown = presswatch("--config", str(config), "feed", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "no watchlist named 'nope'" in unknown.stderr


def test_send_and_since_together_is_a_usage_error(copy: Copy, tmp_path: Path) -> None:
    config = setup(copy, tmp_path, 'directory = "digests/"')
    result = send(config, "--since", "1d")
    assert result.returncode == 2 and "--since is for dry runs" in result.stderr
    assert not (tmp_path / "digests").exists()
    assert deliveries(config) == []


# -- urgent alerts, the daemon's schedule, status -------------------------------------------


def test_urgent_alert_is_sent_by_the_crawl_and_not_repeated_in_the_digest(
    site: Site, smtp: MailSink, smtp_port: int
) -> None:
    text = site.config.read_text(encoding="utf-8")
    assert 'name = "karabakh"\n' in text
    site.config.write_text(
        text.replace('name = "karabakh"\n', 'name = "karabakh"\npriority = "urgent"\n', 1)
        + '\n[[watchers]]\nname = "analyst"\nwatchlists = ["karabakh"]\n'
        'email = "analyst@example.org"\n' + smtp_settings(smtp_port),
        encoding="utf-8",
    )
    crawl = presswatch("--config", str(site.config), "crawl", cwd=site.workdir)
    assert crawl.returncode == 0, crawl.stderr
    # Delivered within the crawl run: the mail is there when the command returns.
    alerts = [m for m in smtp.messages if m["Subject"].startswith("URGENT [karabakh]")]
    assert alerts and len(alerts) == len(smtp.messages)
    alerted = "".join(parts(m)[0] for m in alerts)
    assert SEED_STORY.title in alerted
    assert alerted.count(SEED_STORY.title) == 1
    config = site.config
    engine = site.engine()
    with Session(engine) as session:
        kinds = set(session.scalars(select(Delivery.kind)))
        flagged = session.execute(text_sql("SELECT count(*) FROM matches")).scalar_one()
        taken = session.execute(text_sql("SELECT count(*) FROM delivery_items")).scalar_one()
    engine.dispose()
    assert kinds == {"alert"} and flagged > 0
    # Every match went into an alert, except later copies of a story already alerted.
    assert 0 < taken <= flagged

    after = presswatch("--config", str(config), "digest", "analyst", "--send", cwd=site.workdir)
    assert after.returncode == 0, after.stderr
    assert "nothing new" in after.stdout
    assert len(smtp.messages) == len(alerts)


def test_a_digest_missed_while_the_daemon_was_down_is_sent_once_at_start(
    copy: Copy, tmp_path: Path, smtp: MailSink, smtp_port: int
) -> None:
    config = setup(
        copy,
        tmp_path,
        'email = "analyst@example.org"\nschedule = "hourly"',
        smtp_settings(smtp_port),
    )
    # The digest last ran five hours ago: four hourly digests were missed.
    engine = copy.write()
    with engine.begin() as db:
        db.execute(
            insert(WatcherState).values(
                watcher="analyst", last_digest_at=datetime.now(UTC) - timedelta(hours=5)
            )
        )
    engine.dispose()
    daemon = start_daemon(config, tmp_path)
    try:
        assert smtp.received.wait(60), "no digest arrived"
        # Proves a negative: the missed digests come as one, no second one within 3 s.
        time.sleep(3)
        assert len(smtp.messages) == 1
        assert "karabakh" in smtp.messages[0]["Subject"]
        status = presswatch("--config", str(config), "status", "--json", cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        (watcher,) = json.loads(status.stdout)["watchers"]
        assert watcher["next_digest"] and watcher["last_digest"]
        assert datetime.fromisoformat(watcher["last_digest"]) > datetime.now(UTC) - timedelta(
            minutes=5
        )
        assert watcher["deliveries"][0]["status"] == "sent"
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=60)
    assert "was missed while the daemon was down" in stderr
    assert daemon.returncode == 0


def test_status_shows_a_pending_delivery_and_why(
    copy: Copy, tmp_path: Path, smtp_port: int
) -> None:
    config = setup(copy, tmp_path, 'email = "analyst@example.org"', smtp_settings(smtp_port))
    assert send(config).returncode == 1
    status = presswatch("--config", str(config), "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    line = next(x for x in status.stdout.splitlines() if x.startswith("analyst "))
    assert "email digest PENDING after 1 attempts" in line and "could not be reached" in line


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('email = "not-an-address"', "watchers[0] ('analyst').email: 'not-an-address' is not"),
        (
            'email = "a@example.org"\n[delivery.smtp]\nssl = true',
            "delivery.smtp: ssl and starttls are exclusive",
        ),
        ('webhook = "chat.example.org/hook"', "watchers[0] ('analyst').webhook"),
        ('directory = "d"\n[delivery.smtp]\npasword_env = "X"', "delivery.smtp.pasword_env"),
    ],
)
def test_bad_delivery_settings_are_config_errors(tmp_path: Path, lines: str, message: str) -> None:
    config = tmp_path / "presswatch.toml"
    config.write_text(
        '[[watchlists]]\nname = "karabakh"\nquery = "Karabakh"\n'
        f'[[watchers]]\nname = "analyst"\nwatchlists = ["karabakh"]\n{lines}\n',
        encoding="utf-8",
    )
    result = presswatch("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unset_password_variable_is_warned_of_and_keeps_the_email_pending(
    copy: Copy, tmp_path: Path, smtp: MailSink, smtp_port: int
) -> None:
    config = setup(
        copy,
        tmp_path,
        'email = "analyst@example.org"',
        smtp_settings(smtp_port) + 'username = "pw"\npassword_env = "PW_TEST_SMTP_PASSWORD"\n',
    )
    env = {k: v for k, v in os.environ.items() if k != "PW_TEST_SMTP_PASSWORD"}
    check = subprocess.run(
        [*_presswatch_command(), "--config", str(config), "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert check.returncode == 0
    assert "$PW_TEST_SMTP_PASSWORD, which is not set" in check.stdout
    result = subprocess.run(
        [*_presswatch_command(), "--config", str(config), "digest", "analyst", "--send"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1
    assert "export it in the environment presswatch runs in" in result.stdout
    assert smtp.messages == []
    (row,) = deliveries(config)
    assert row.status == "pending"


def test_a_webhook_that_took_the_post_but_never_answered_gets_the_same_delivery_again(
    copy: Copy, tmp_path: Path
) -> None:
    # It processes the first POST, then answers too late: the outcome is unknown, so the same
    # digest (same key, same items) is sent again, and what arrives later waits for the next.
    hook = Hook([200], delays=[4])
    try:
        config = setup(
            copy, tmp_path, f'webhook = "{hook.url}"', '[delivery.webhook]\ntimeout = "1s"'
        )
        first = send(config)
        assert first.returncode == 1 and "gave no answer in time" in first.stdout
        (row,) = deliveries(config)
        assert (row.status, row.uncertain) == ("pending", True)
        second = send(config)
        assert second.returncode == 0, second.stdout + second.stderr
        assert len(hook.requests) == 2 and hook.keys()[0] == hook.keys()[1] == row.message_id
        assert hook.requests[0][2]["items"] == hook.requests[1][2]["items"]
    finally:
        hook.stop()


def test_a_delivery_being_sent_by_a_live_process_is_left_to_it(copy: Copy, tmp_path: Path) -> None:
    from crawler.digests.sending import _started

    hook = Hook([500])
    try:
        config = setup(copy, tmp_path, f'webhook = "{hook.url}"')
        assert send(config).returncode == 1  # recorded, pending
        # Another sender (a live process) has claimed it and is sending it now.
        other = subprocess.Popen(["sleep", "60"])
        try:
            engine = copy.write()
            with engine.begin() as db:
                db.execute(
                    update(Delivery).values(
                        status="sending",
                        sender=f"{socket.gethostname()}:{other.pid}:{_started(other.pid)}",
                        attempted_at=datetime.now(UTC),
                    )
                )
            busy = send(config)
            assert busy.returncode == 0 and "being sent by another process" in busy.stdout
            assert len(hook.requests) == 1
            # Its sender gone, the delivery is taken over and sent as it was.
            other.kill()
            other.wait()
            taken = send(config)
            assert taken.returncode == 0, taken.stdout
            assert len(hook.requests) == 2 and hook.keys()[0] == hook.keys()[1]
            (row,) = deliveries(config)
            assert (row.status, row.uncertain) == ("sent", True)
        finally:
            other.kill()
            engine.dispose()
    finally:
        hook.stop()
