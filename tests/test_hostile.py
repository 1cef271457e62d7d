"""Bounded under abuse: `presswatch crawl` of a hostile site (tests/hostile.py), a source per
case. Each case is refused or cut with its named error kind, every normal article is stored,
nothing is read from the local disk on a page's say-so, and the crawl ends within its time
and memory bounds. Then the listing parsers' limits, one by one."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.config import SmtpConfig, load_config
from crawler.digests.delivery import build_email
from crawler.digests.digest import build_digest
from crawler.discover import links as discovery
from crawler.discover.links import DiscoveryError, TooLarge, UnsafeXML, parse_feed, parse_sitemap
from storage.models import Article, ArticleUrl
from tests.conftest import _presswatch_command
from tests.databases import reader
from tests.hostile import CASES, Case, Site
from tests.hostile_pages import BILLION_LAUGHS, compressed_zeros

# The crawl's limits in this test: a download timeout shorter than the default 30 s (the slow
# drip is cut after it), long enough for the test server, busy making the other cases, on a
# busy machine (at 10 s, the 50 MB bodies were cut as too_slow before they were too_large
# while other tests ran beside this one).
TIMEOUT = 20.0
# AutoThrottle off: the 1,000 child sitemaps are fetched as fast as the site answers.
CRAWL = f'timeout = "{TIMEOUT:g}s"\nretries = 1\nextract_timeout = "20s"\nautothrottle = false'
# Bounds the whole crawl must keep: wall time, and the largest process's peak RSS.
MAX_SECONDS = 90.0
# All the cases arrive at once here, so several bodies can be at their limits together (four
# bombs cut at 10 MB, a sitemap cut at 50 MB and one unpacked to 50 MB, a 9 MB page in a
# worker): 837-954 MB was seen while other tests ran beside this one. Each case alone stays
# within 60 MB of the crawl's baseline (bench/hostile.py; bench/README.md, "Hostile site").
MAX_RSS_MB = 1200


@dataclass
class HostileCrawl:
    site: Site
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float
    database_url: str

    def summary(self, case: Case) -> dict[str, Any]:
        summaries = {s["source"]: s for s in json.loads(self.stdout)}
        return dict(summaries[case.name])


def crawl_measured(command: list[str], cwd: Path, timeout: float) -> tuple[int, str, str, float]:
    """Run ``command``; its exit status, output, and the peak RSS (MB) of the largest process
    of its tree (the kernel's account of the child and the descendants it waited for)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (
            process.returncode,
            out.read().decode(),
            err.read().decode(),
            usage.ru_maxrss / 1024,
        )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileCrawl]:
    folder = tmp_path_factory.mktemp("hostile")
    site = Site(folder).start()
    database_url = f"sqlite:///{folder / 'crawl.db'}"
    config = folder / "presswatch.toml"
    config.write_text(site.config(database_url, CRAWL), encoding="utf-8")
    started = time.monotonic()
    command = [*_presswatch_command(), "--config", str(config), "crawl", "--json", "-q"]
    returncode, stdout, stderr, peak = crawl_measured(command, folder, 3 * MAX_SECONDS)
    seconds = time.monotonic() - started
    yield HostileCrawl(site, returncode, stdout, stderr, seconds, peak, database_url)
    site.stop()


def _stored_urls(url: str) -> set[str]:
    engine = reader(url)
    try:
        with Session(engine) as session:
            return set(session.scalars(select(ArticleUrl.url)))
    finally:
        engine.dispose()


def _texts(url: str) -> list[str]:
    engine = reader(url)
    try:
        with Session(engine) as session:
            return [f"{a.title}\n{a.text}" for a in session.scalars(select(Article))]
    finally:
        engine.dispose()


def test_the_crawl_finishes_within_its_bounds(hostile: HostileCrawl) -> None:
    assert hostile.returncode == 0, hostile.stderr[-3000:]
    assert hostile.seconds < MAX_SECONDS, hostile.seconds
    assert hostile.peak_rss_mb < MAX_RSS_MB, hostile.peak_rss_mb
    for case in CASES:
        assert hostile.summary(case)["status"] == "finished", case.name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_case_is_recorded_with_its_kind(hostile: HostileCrawl, case: Case) -> None:
    summary = hostile.summary(case)
    assert summary["errors"] == case.errors, summary
    assert summary["empty"] == case.empty, summary


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_normal_article_is_stored(hostile: HostileCrawl, case: Case) -> None:
    summary = hostile.summary(case)
    assert summary["new"] == case.stored, summary
    base = hostile.site.base(case)
    assert f"{base}/news/normal-report.html" in _stored_urls(hostile.database_url)


def test_nothing_is_read_from_the_local_disk(hostile: HostileCrawl) -> None:
    # The external entities and the file: redirect all point to the tripwire (a named pipe),
    # and to /etc/passwd.
    assert not hostile.site.tripwire.tripped
    for text in _texts(hostile.database_url):
        assert "TRIPWIRE" not in text and "root:" not in text


def test_sitemaps_followed_are_capped(hostile: HostileCrawl) -> None:
    (case,) = [c for c in CASES if c.name == "sitemap_index"]
    children = hostile.site.requested(case, "/sitemaps/")
    assert len(children) == 1000 and len(set(children)) == 1000
    assert "/sitemaps/0.xml" in children
    stored = _stored_urls(hostile.database_url)
    assert f"{hostile.site.base(case)}/news/listed-0.html" in stored


def test_cut_and_refused_pages_are_not_asked_for_again(hostile: HostileCrawl) -> None:
    by_name = {c.name: c for c in CASES}
    assert hostile.site.requested(by_name["slow_drip"], "/news/drip.html") == ["/news/drip.html"]
    for encoding in ("gzip", "deflate", "br", "zstd"):
        path = f"/news/bomb-{encoding}.html"
        assert hostile.site.requested(by_name["compressed"], path) == [path]
    # Redirects to a non-web URL: asked for once each, and the target never.
    assert len(hostile.site.requested(by_name["redirects"], "/news/to-")) == 3


# -- the listing parsers' limits ----------------------------------------------------------------


def _feed(prolog: str, title: str = "x") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><link>https://n.example/a</link></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "prolog",
    [
        BILLION_LAUGHS,
        '<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE rss [<!ENTITY x PUBLIC "-//x//EN" "http://127.0.0.1:9/x">]>',
        '<!DOCTYPE rss [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
        '<!DOCTYPE rss [<!ENTITY big "' + "A" * 100_000 + '">]>',
        '<!DOCTYPE rss [%undeclared; <!ENTITY lol2 "&lol;&lol;">]>',
    ],
    ids=["billion-laughs", "external", "public", "parameter", "long", "after-parameter-ref"],
)
def test_dangerous_entities_are_refused(prolog: str) -> None:
    with pytest.raises(UnsafeXML):
        parse_feed(_feed(prolog, "&x;"), "https://n.example/rss")
    sitemap = _feed(prolog).replace(b"<rss", b"<urlset").replace(b"</rss>", b"</urlset>")
    with pytest.raises(UnsafeXML):
        parse_sitemap(sitemap, "https://n.example/sitemap.xml")


def test_plain_entities_and_doctypes_are_read() -> None:
    named = '<!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY copy "©">]>'
    (entry,) = parse_feed(_feed(named, "a&nbsp;b &copy;"), "https://n.example/rss")
    assert entry.title == "a\xa0b ©"
    netscape = (
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
    )
    assert len(parse_feed(_feed(netscape), "https://n.example/rss")) == 1


def test_a_sitemap_is_read_up_to_its_cap() -> None:
    urls = "".join(f"<url><loc>https://n.example/{n}</loc></url>" for n in range(120))
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    capped = parse_sitemap(gzip.compress(body.encode()), "https://n.example/s", max_entries=100)
    assert capped.capped and len(capped.entries) == 100
    assert capped.entries[-1].url == "https://n.example/99"
    whole = parse_sitemap(body.encode(), "https://n.example/s", max_entries=120)
    assert not whole.capped and len(whole.entries) == 120


def test_a_sitemap_keeps_only_web_urls() -> None:
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>file:///etc/passwd</loc></url><url><loc>data:text/html,x</loc></url>"
        b"<url><loc>/read/1/a</loc></url></urlset>"
    )
    sitemap = parse_sitemap(body, "https://n.example/sitemap.xml")
    assert [e.url for e in sitemap.entries] == ["https://n.example/read/1/a"]


def test_a_gzip_bomb_listing_unpacks_no_further_than_its_limit() -> None:
    bomb = compressed_zeros("gzip", 100 * (1 << 20))
    started = time.monotonic()
    with pytest.raises(TooLarge):
        parse_sitemap(bomb, "https://n.example/sitemap.xml.gz", max_size=10_000_000)
    with pytest.raises(TooLarge):
        parse_feed(bomb, "https://n.example/rss.gz")
    assert discovery.sniff(bomb) == "unknown"
    assert time.monotonic() - started < 5


def test_a_deep_sitemap_is_no_crash() -> None:
    # libxml2's own depth limit holds (no huge_tree): read as far as it goes, or refused.
    deep = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + b"<a>" * 100_000
    try:
        sitemap = parse_sitemap(deep, "https://n.example/sitemap.xml")
    except DiscoveryError:
        return
    assert sitemap.entries == []


# Control characters no exit may pass on (newline and tab aside, where a layout has them).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_every_export_feed_and_digest_of_the_hostile_crawl_validates(
    hostile: HostileCrawl,
) -> None:
    """The crawl of the hostile site, read back through each exit: CSV (the csv module and a
    formula check), JSON lines, the Atom feed (feedparser, no bozo), the digests as text,
    HTML, Markdown and JSON, and the digest email (the email package's parser)."""
    config = Path(hostile.database_url.removeprefix("sqlite:///")).parent / "presswatch.toml"

    def run(*args: str) -> bytes:
        done = subprocess.run(
            [*_presswatch_command(), "--config", str(config), *args],
            cwd=config.parent,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout

    rows = list(csv.reader(io.StringIO(run("export", "--format", "csv").decode())))
    header, cells = rows[0], rows[1:]
    title = header.index("title")
    nasty = [row for row in cells if "Ceasefire talks resume" in row[title]]
    assert nasty, "the nasty article is stored"
    assert nasty[0][title].startswith("'=HYPERLINK")  # neutralised, whole
    for row in cells:
        assert len(row) == len(header)
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row), row
    for line in run("export").decode().splitlines():
        json.loads(line)
    atom = run("feed", "talks")
    etree.fromstring(atom)
    feed = feedparser.parse(atom)
    assert not feed.bozo and feed.entries, feed.get("bozo_exception")
    for fmt in ("text", "html", "md"):
        shown = run("digest", "desk", "--since", "2000-01-01", "--format", fmt).decode()
        assert "Ceasefire talks resume" in shown, fmt
        assert not _CONTROLS.search(shown), (fmt, _CONTROLS.search(shown))
    digest = json.loads(run("digest", "desk", "--since", "2000-01-01", "--format", "json"))
    assert digest
    loaded = load_config(config)
    engine = reader(hostile.database_url)
    try:
        with Session(engine) as session:
            made = build_digest(
                session, loaded, loaded.watchers[0], datetime(2000, 1, 1, tzinfo=UTC)
            )
    finally:
        engine.dispose()
    mail = build_email(made, smtp=SmtpConfig(), to="desk@example.org", message_id="<1@t>")
    parsed = BytesParser(policy=policy.default).parsebytes(mail.as_bytes())
    assert sorted(parsed.keys()) == sorted(mail.keys())  # nothing injected
    assert not _CONTROLS.search(str(parsed["Subject"]))
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "Ceasefire talks resume" in text
    assert not _CONTROLS.search(text)
