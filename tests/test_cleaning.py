"""Text from pages is cleaned once, at the edge: escape sequences, control characters, invalid
code points and (in one-line fields) bidi controls never reach storage, and never cost an
article."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import trafilatura

from crawler.extract.article import ExtractionOptions, extract_article
from crawler.extract.cleaning import clean_line, clean_lines, clean_markup, clean_text
from tests import manysites
from tests.conftest import presswatch

BODY = " ".join(
    ["The ceasefire talks resumed in the capital on Monday as the delegations arrived."] * 8
)


def _page(title: str, body: str = BODY, author: str = "Ann Lee") -> str:
    return (
        f'<html><head><title>{title}</title><meta name="author" content="{author}">'
        f'<meta property="og:site_name" content="Daily\x1b[0m News"></head>'
        f"<body><article><h1>{title}</h1><p>{body}</p><p>{body}</p></article></body></html>"
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Talks \x1b[31mresume\x1b[0m", "Talks resume"),  # CSI (colour)
        ("Talks \x1b]0;pwned\x07resume", "Talks resume"),  # OSC (window title), BEL-ended
        ("Talks \x1b]8;;http://x\x1b\\resume", "Talks resume"),  # OSC ended by ESC \
        ("Talks\x00 \x07resume\x7f", "Talks resume"),  # NUL, BEL, DEL
        ("Talks \x85\x9bresume", "Talks resume"),  # C1 controls
        ("Talks \u202eemuser\u202c now", "Talks emuser now"),  # right-to-left override
        ("Talks \u2067resume\u2069", "Talks resume"),  # isolates
        ("Talks \ud800resume", "Talks \ufffdresume"),  # lone surrogate
        ("Talks\ufffe resume\uffff", "Talks resume"),  # non-characters XML forbids
        ("Cafe\u0301 talks", "Café talks"),  # NFC
        ("  Talks\t\nresume  ", "Talks resume"),
        ("\x1b[2J\x1b[H", None),  # nothing left
    ],
)
def test_one_line_fields_lose_escapes_controls_and_bidi_overrides(raw: str, clean: str) -> None:
    assert clean_line(raw) == clean


def test_an_unended_osc_string_costs_its_escape_and_one_character_not_the_page() -> None:
    page = "<p>a \x1b]unended, and the rest of the article</p>" + "<p>more</p>" * 50
    cleaned = clean_markup(page)
    assert cleaned.startswith("<p>a unended, and the rest of the article</p>")
    assert cleaned.count("<p>more</p>") == 50


def test_multi_line_text_keeps_its_lines_and_tabs_and_bidi_marks() -> None:
    text = "First line\r\nsecond\tline \u202bمرحبا\u202c\rthird\x1b[1m line Su\u0308d"
    assert clean_text(text) == "First line\nsecond\tline \u202bمرحبا\u202c\nthird line Su\u0308d"


def test_a_clean_page_is_returned_as_it_is() -> None:
    page = _page("Talks resume — Ереван ‏Ḳ").replace("\x1b[0m", "")
    assert clean_markup(page) is page


def test_lists_are_cleaned_and_deduplicated_in_order() -> None:
    assert clean_lines(("B\x1b[1mob", "Ann", "Bob", " ", "\u202eAnn")) == ("Bob", "Ann")


@pytest.mark.parametrize(
    "title",
    [
        "Talks \x1b[31mresume",
        "Talks \x00resume",
        "Talks \x08\x0b\x0c\x1fresume",
        "Talks \u202eresume",
        "Talks \x9bresume",
    ],
)
def test_a_page_with_control_characters_in_its_headline_is_extracted_whole(title: str) -> None:
    plain = extract_article(_page("Talks resume"), ExtractionOptions(url="http://x.test/a"))
    article = extract_article(
        _page(title, author="Ann\x1b[1m Lee"), ExtractionOptions(url="http://x.test/a")
    )
    assert plain is not None and article is not None
    assert trafilatura.extract(_page(title)) is not None  # trafilatura alone keeps it too
    assert article.title == "Talks resume"
    assert article.text == plain.text
    assert article.authors == ("Ann Lee",)
    assert article.site_name == "Daily News"


def test_control_characters_inside_the_text_are_removed_not_the_paragraph() -> None:
    body = BODY.replace("capital", "capi\x1b[1mtal\x07")
    article = extract_article(_page("Talks", body=body), ExtractionOptions(url="http://x.test/b"))
    assert article is not None
    assert "capital" in article.text
    assert not any(ord(c) < 32 and c not in "\n\t" for c in article.text)


def test_a_crawl_stores_the_article_whose_headline_carries_an_escape(tmp_path: Path) -> None:
    """The case from the issue: the same crawl used to report `empty 1` and store nothing."""
    sites = manysites.specs(1, 3)[:1]
    sites = [manysites.SiteSpec(sites[0].host, sites[0].address, {"/rss.xml": 3})]
    root = tmp_path / "sites"
    manysites.build(root, sites)
    page = root / sites[0].host / "news" / "1.html"
    html = page.read_text(encoding="utf-8")
    title = html.split("<title>")[1].split("</title>")[0]
    page.write_text(html.replace(title, "\x1b[31m" + title + "\x1b[0m \u202e"), encoding="utf-8")
    server = manysites.serve(root, sites)
    try:
        database = tmp_path / "crawl.db"
        config = tmp_path / "presswatch.toml"
        config.write_text(
            manysites.config(server, sites, f"sqlite:///{database}"), encoding="utf-8"
        )
        done = presswatch("--config", str(config), "crawl", "--json", "-q", cwd=tmp_path)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    [run] = json.loads(done.stdout)
    assert run["new"] == 3, run
    with sqlite3.connect(database) as db:
        titles = [row[0] for row in db.execute("SELECT title FROM articles ORDER BY url")]
    assert title in titles
    assert not any(ch in t for t in titles for ch in "\x1b\u202e")
