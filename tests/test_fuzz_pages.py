"""Fuzzing the page -> article path: whatever bytes a stranger's page carries around its article
(control characters, invalid UTF-8, mixed encodings, cut-off markup, huge attributes), the
worker never raises, the article is found, what is stored is clean, and every output of it
passes its own validator: JSON, CSV (and no formula), Atom (feedparser, no bozo), email (the
email package's parser, no header injected), the terminal (no control character)."""

from __future__ import annotations

import csv
import io
import json
import string
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from crawler.cli.export import EXPORT_FIELDS
from crawler.cli.export import write_export as _write_export
from crawler.config import SmtpConfig, WatcherConfig
from crawler.digests.atom import render_atom
from crawler.digests.delivery import build_email, webhook_payload
from crawler.digests.digest import Digest, Entry, Group
from crawler.digests.formats import render
from crawler.extract.pool import PageTask, Processed, process_page, start_worker
from crawler.items import ExtractedArticle

CONTROL = {chr(c) for c in range(0x20) if c not in (9, 10)} | {chr(c) for c in range(0x7F, 0xA0)}

SENTENCES = [
    "Delegations from both sides met in the border town on Monday to resume the talks.",
    "Officials said the convoy carrying aid reached the villages after a week of delays.",
    "The ceasefire has mostly held since spring, although shelling was reported overnight.",
    "Local councils asked for more shelters before the winter and for repairs to the bridge.",
    "Observers will visit the region again next month, the mission's spokesperson said.",
]
# Characters a hostile or broken page may carry anywhere.
NASTY = st.sampled_from(
    [chr(c) for c in range(0x20) if c not in (9, 10, 13)]
    + ["\x7f", "\x85", "\x9b", "\ud800", "\udfff", "\ufffe", "\uffff", "\u202e", "\u2066"]
    + ["\x1b[31m", "\x1b]0;x\x07", "\x1b]8;;http://e.test\x1b\\", "\x1b[2J", "\ufeff"]
)
JUNK = st.lists(NASTY, min_size=1, max_size=4).map("".join)
# Raw bytes that are not UTF-8, and text in other encodings, spliced into the page's bytes.
INVALID_UTF8 = [b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80\x81"]
OTHER_ENCODINGS = ["Ереван".encode("cp1251"), "Çağ".encode("cp1254"), "日本".encode("shift_jis")]
BAD_BYTES = st.sampled_from([*INVALID_UTF8, *OTHER_ENCODINGS])


def _text_with_junk(draw: st.DrawFn, text: str) -> str:
    """``text`` with junk at a few word boundaries (words themselves stay whole)."""
    words = text.split(" ")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(words) - 1))
        words[at] = words[at] + draw(JUNK)
    return " ".join(words)


@st.composite
def pages(draw: st.DrawFn) -> tuple[bytes, str | None]:
    formula = draw(st.sampled_from(["", '=HYPERLINK("http://e.test","x") ', "-", "+1 ", "@cmd "]))
    title = formula + _text_with_junk(draw, "Talks resume in the border town")
    paragraphs = [_text_with_junk(draw, sentence) for sentence in SENTENCES]
    attribute = draw(st.sampled_from(["", "x" * 200_000, "&quot;" * 5000, "\x1b" * 1000]))
    head = (
        f"<title>{title}</title>"
        f'<meta name="description" content="{draw(JUNK)}summary">'
        f'<meta name="author" content="Ann{draw(JUNK)} Lee">'
        f'<meta property="og:site_name" content="{draw(JUNK)}Daily">'
    )
    if draw(st.booleans()):
        head = '<meta charset="utf-8">' + head
    chrome = draw(st.text(string.printable + "\x00\x1b\x85\u202e", max_size=200))
    html = (
        f"<html><head>{head}</head><body><nav data-x='{attribute}'>{chrome}</nav><article>"
        f"<h1>{title}</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article>"
    )
    tail = "<aside><ul><li>More stories</li></ul></aside><footer>(c) Daily</footer></body></html>"
    html += tail[: draw(st.integers(0, len(tail)))]  # cut anywhere after the article
    body = html.encode("utf-8", errors="surrogatepass")
    # Invalid bytes or another encoding's text in the page chrome (never inside the article).
    for _ in range(draw(st.integers(0, 3))):
        at = body.index(b"</nav>")
        body = body[:at] + draw(BAD_BYTES) + body[at:]
    declared = draw(st.sampled_from([None, "utf-8", "windows-1252", "iso-8859-1", "bogus"]))
    return body, declared


start_worker([])


def assert_every_exit_is_valid(article: ExtractedArticle) -> None:
    """The article through each exit, each checked by its own reader."""
    when = datetime(2026, 11, 2, tzinfo=UTC)
    entry = Entry(
        article_id=1,
        story_id=1,
        title=article.title or "",
        url=article.url,
        source=article.site_name or "source",
        published_at=article.published_at,
        terms=(("talks", 1),),
        snippet={"text": article.text[:300], "highlights": [[0, 5]]},
        updated=False,
        changed_at=when,
    )
    groups = (Group("talks", article.description or "", (entry,)),)
    digest = Digest(WatcherConfig(name="desk", watchlists=["talks"]), when, when, groups)
    # Atom: well-formed XML 1.0, and feedparser reads it without complaint.
    atom = render_atom(feed_id="urn:t", title="t", groups=groups, now=when, limit=5)
    etree.fromstring(atom)
    feed = feedparser.parse(atom)
    assert not feed.bozo, feed.bozo_exception
    # Email: parsed back, the headers are the ones written, each on one line.
    mail = build_email(digest, smtp=SmtpConfig(), to="a@example.org", message_id="<1@t>")
    parsed = BytesParser(policy=policy.default).parsebytes(mail.as_bytes())
    assert sorted(parsed.keys()) == sorted(mail.keys())
    assert not any(c in str(parsed["Subject"]) for c in "\r\n")
    # Webhook JSON and the JSON digest: valid, encodable.
    json.loads(json.dumps(webhook_payload(digest, "<1@t>"), ensure_ascii=False).encode("utf-8"))
    json.loads(render(digest, "json"))
    # Terminal: the text digest carries no control character but its line breaks.
    assert not CONTROL & set(render(digest, "text"))
    # CSV: read back whole by the csv module, no text cell starting like a formula.
    row = {field: None for field in EXPORT_FIELDS} | {
        "id": 1,
        "url": article.url,
        "urls": [article.url],
        "title": article.title,
        "authors": list(article.authors),
        "tags": list(article.tags),
        "text": article.text,
        "description": article.description,
        "matches": [],
    }
    out = io.StringIO()
    _write_export(iter([row]), "csv", out)
    header, cells = list(csv.reader(io.StringIO(out.getvalue())))
    assert len(cells) == len(header) == len(EXPORT_FIELDS)
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in cells)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(pages())
def test_every_mangled_page_still_yields_its_article_cleaned(
    page: tuple[bytes, str | None],
) -> None:
    body, declared = page
    result = process_page(PageTask("http://news.test/a/1", body, declared, "UTC", "en", None))
    assert isinstance(result, Processed)
    article = result.article
    # Every sentence of the article is there (mis-decoded chrome may not be, but no word of the
    # article is lost to a control character beside it).
    flat = " ".join(article.text.split())
    for sentence in SENTENCES:
        for word in sentence.split():
            assert word in flat, (word, flat)
    fields = [article.text, article.title or "", article.description or "", article.site_name or ""]
    fields += [*article.authors, *article.tags]
    for value in fields:
        assert not any(
            (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in value
        ), value
        assert not any(0xD800 <= ord(c) <= 0xDFFF or c in "\ufffe\uffff" for c in value), value
        value.encode("utf-8")  # storable as UTF-8
    for value in [article.title or "", *article.authors, article.site_name or ""]:
        assert not any(c in value for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert article.title is not None and "Talks" in article.title
    assert_every_exit_is_valid(article)
