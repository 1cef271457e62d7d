from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from lxml import html as lxml_html

from crawler.extract.article import ExtractionOptions, extract_article
from crawler.extract.authors import clean_authors, page_authors, split_names
from crawler.extract.decoding import decode_html
from crawler.extract.lead import page_lead
from crawler.extract.lines import strip_read_also, without_headline
from crawler.extract.titles import clean_title
from crawler.units import parse_datetime

JAKARTA = ZoneInfo("Asia/Jakarta")
BODY = " ".join(["Pasukan kedua negara saling menembaki posisi di perbatasan."] * 6)


def page(head: str = "", body: str = "", lang: str = "id") -> str:
    return (
        f'<html lang="{lang}"><head><meta charset="utf-8"><title>Judul Berita - Warta</title>'
        f'{head}</head><body><nav><a href="/">Beranda</a> <a href="/dunia">Dunia</a></nav>'
        f"<article><h1>Judul Berita</h1><p>{BODY}</p>{body}</article>"
        "<footer>Copyright 2020 Warta</footer></body></html>"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Kalimat pertama. (Baca: Judul Lain )", "Kalimat pertama."),
        ("Kalimat pertama. (Baca juga: Beredar Video (Lengkap) )", "Kalimat pertama."),
        ("Kalimat. (BACA JUGA: x) Kalimat dua.", "Kalimat. Kalimat dua."),
        ("Sentence one. [Read more: Another story]", "Sentence one."),
        ("Read also: Armenia and Azerbaijan agree to talks", ""),
        ("Читайте также: Карабах", ""),
        ("Lihat juga: Video pertempuran", ""),
        ("اقرأ أيضا: خبر آخر", ""),
        ("Les også: Dette skjedde da brua stengte", ""),
        ("Läs också: Så gick det till", ""),
        ("Related post: Ten years of the ceasefire", ""),
        ("(min)", ""),
        ("(ian/nng)", ""),
        (
            "The reader (who read also the paper) agreed.",
            "The reader (who read also the paper) agreed.",
        ),
        ("Baca selengkapnya di halaman dua", "Baca selengkapnya di halaman dua"),
        ("SEE MORE: Hong Kong protests: 800 students under siege", ""),
        # a picture's credit on a line of its own, in several languages
        ("Photo: AFP", ""),
        ("Image: Phando Jikelo/Independent Newspapers", ""),
        ("Fotos: NIKOLAI VON BISMARCK", ""),
        ("写真：共同", ""),
        # a sentence that starts like one is the article's
        (
            "Photo: the minister said the picture, taken before the war, had been shared by "
            "thousands of people",
            "Photo: the minister said the picture, taken before the war, had been shared by "
            "thousands of people",
        ),
    ],
)
def test_read_also_lines_are_removed_and_article_text_kept(line: str, expected: str) -> None:
    assert strip_read_also(line) == expected


def test_extract_reads_a_zoneless_date_in_the_source_zone() -> None:
    html = page('<meta property="article:published_time" content="2020-11-02T09:06:00">')
    article = extract_article(
        html, ExtractionOptions(url="http://n.example/read/1/x", timezone=JAKARTA)
    )
    assert article is not None
    assert article.published_at == datetime(2020, 11, 2, 2, 6, tzinfo=UTC)
    assert article.title == "Judul Berita"
    assert article.language == "id"
    assert "Beranda" not in article.text and "Copyright" not in article.text
    assert not article.text.startswith("Judul Berita")


def test_the_page_s_own_date_beats_the_listing_s_and_the_listing_gives_the_time_of_day() -> None:
    listed = datetime(2020, 11, 2, 5, 0, tzinfo=UTC)
    with_time = page('<meta property="article:published_time" content="2020-11-02T10:00:00+07:00">')
    bare_date = page('<meta name="date" content="2020-11-02">')
    other_day = page('<meta name="date" content="2020-10-28">')
    modified = page('<meta property="article:modified_time" content="2020-11-02T09:00:00Z">')
    opts = ExtractionOptions(
        url="http://n.example/read/1/x", timezone=JAKARTA, listed_published=listed
    )
    a = extract_article(with_time, opts)
    b = extract_article(bare_date, opts)
    c = extract_article(other_day, opts)
    d = extract_article(modified, opts)
    assert a is not None and a.published_at == datetime(2020, 11, 2, 3, 0, tzinfo=UTC)
    assert b is not None and b.published_at == listed  # the same day: the listing's time
    # The page says 28 October; a sitemap re-dated it 2 November: the page's day, at midnight
    # in the source's zone.
    assert c is not None and c.published_at == datetime(2020, 10, 27, 17, 0, tzinfo=UTC)
    assert d is not None and d.published_at == listed  # a modified date is not a published one
    dated_url = ExtractionOptions(
        url="http://n.example/2020/10/28/x.html", timezone=JAKARTA, listed_published=listed
    )
    e = extract_article(page(), dated_url)  # no date in the page but its URL's
    assert e is not None and e.published_at == datetime(2020, 10, 27, 17, 0, tzinfo=UTC)


def test_the_page_s_own_date_is_its_first_not_a_related_story_s() -> None:
    related = page(
        '<meta itemprop="datePublished" content="2025-01-05T15:23:59+01:00">',
        '<div itemscope><meta itemprop="datePublished" content="2024-12-18T00:00:00+01:00">'
        "<a href='/other'>An older story</a></div>",
    )
    article = extract_article(related, ExtractionOptions(url="http://n.example/a", timezone=UTC))
    assert article is not None
    assert article.published_at == datetime(2025, 1, 5, 14, 23, 59, tzinfo=UTC)


def test_a_page_without_a_timestamp_gets_its_day_from_htmldate_in_the_source_zone() -> None:
    options = ExtractionOptions(url="http://n.example/2020/11/05/judul", timezone=JAKARTA)
    article = extract_article(page(), options)
    assert article is not None
    assert article.published_at == datetime(2020, 11, 4, 17, 0, tzinfo=UTC)  # 5 Nov, Jakarta
    undated = extract_article(page(), ExtractionOptions(url="http://n.example/judul"))
    assert undated is not None and undated.published_at is None


def test_json_ld_date_and_canonical_and_tags() -> None:
    html = page(
        '<script type="application/ld+json">{"@type":"NewsArticle",'
        '"datePublished":"2020-11-01T14:30:00+07:00"}</script>'
        '<link rel="canonical" href="/read/1/x"><meta name="keywords" content="Armenia, Azerbaijan">'
        '<meta name="author" content="Berlianto Sitompul">'
    )
    article = extract_article(html, ExtractionOptions(url="http://n.example/amp/read/1/x"))
    assert article is not None
    assert article.published_at == datetime(2020, 11, 1, 7, 30, tzinfo=UTC)
    assert article.canonical_url == "http://n.example/read/1/x"
    assert {"Armenia", "Azerbaijan"} <= set(article.tags)
    assert article.authors == ("Berlianto Sitompul",)


@pytest.mark.parametrize(
    ("head", "body", "authors"),
    [
        # A wire agency's one-word byline is the attribution itself: kept.
        ('<meta name="author" content="Reuters">', "", ("Reuters",)),
        # A declared role is no name, and the page has said whom it names: nobody.
        ('<meta name="author" content="Reporter 38">', '<p class="author">By Ani Lestari</p>', ()),
        ('<meta name="author" content="admin">', "", ()),
        # Nothing declared: the byline in the body is found.
        ("", '<p class="author">By Ani Lestari</p>', ("Ani Lestari",)),
    ],
)
def test_bylines(head: str, body: str, authors: tuple[str, ...]) -> None:
    article = extract_article(page(head, body), ExtractionOptions(url="http://n.example/r/1"))
    assert article is not None
    assert article.authors == authors


def test_language_detected_when_the_page_does_not_say() -> None:
    html = page(lang="").replace(' lang=""', "")
    detected = extract_article(
        html, ExtractionOptions(url="http://n.example/read/1/x", language_hint="en")
    )
    assert detected is not None and detected.language in ("id", "ms")
    # Indonesian and Malay are hard to tell apart; the source's hint settles it.
    hinted = extract_article(
        html, ExtractionOptions(url="http://n.example/read/1/x", language_hint="id")
    )
    assert hinted is not None and hinted.language == "id"
    assert hinted.published_at is None  # no date on the page: none guessed from "Copyright 2020"


def test_page_without_article_text_gives_none() -> None:
    html = "<html><body><nav><a href='/a'>A</a></nav><p>Short.</p></body></html>"
    assert extract_article(html, ExtractionOptions(url="http://n.example/")) is None
    assert extract_article("", ExtractionOptions(url="http://n.example/")) is None


def test_charsets_trusted_only_when_the_bytes_agree() -> None:
    text = (
        "<html><body><p>Caf\u00e9 \u201cNi\u00f1o\u201d said the r\u00e9sum\u00e9 was fine. " * 20
    )
    assert decode_html(text.encode("cp1252"), "utf-8").startswith(
        "<html><body><p>Caf\u00e9 \u201cNi"
    )
    russian = "<html><body><p>Президент Азербайджана заявил о продолжении боевых действий. " * 10
    assert decode_html(russian.encode("cp1251"), "windows-1251") == russian
    assert decode_html(russian.encode("cp1251"), None) == russian
    meta = '<html><head><meta charset="windows-1251"></head><body>' + russian
    assert decode_html(meta.encode("cp1251"), None) == meta


def test_parse_datetime_forms() -> None:
    assert parse_datetime("2020-11-02T02:06:00Z", UTC) == datetime(2020, 11, 2, 2, 6, tzinfo=UTC)
    assert parse_datetime("Mon, 02 Nov 2020 09:06:00 +0700", UTC) == datetime(
        2020, 11, 2, 2, 6, tzinfo=UTC
    )
    assert parse_datetime("2020-11-02", JAKARTA) == datetime(2020, 11, 1, 17, tzinfo=UTC)
    assert parse_datetime("yesterday", UTC) is None


def test_clean_title_prefers_the_headline() -> None:
    assert clean_title("Judul - SINDOnews", "Judul", "SINDOnews") == "Judul"
    assert clean_title("A story about X | The Wire", None, "The Wire") == "A story about X"
    assert clean_title("Nagorno-Karabakh - a war", None, None) == "Nagorno-Karabakh - a war"
    assert clean_title("Karabakh: the war | Warta", None, None) == "Karabakh: the war"


def test_clean_title_drops_the_site_at_either_end_and_a_kicker_beside_the_headline() -> None:
    url = "https://www.thegatewaypundit.com/2023/04/plot-twist/"
    # The site as its host spells it, at the end or at the start, with no og:site_name.
    assert clean_title("Plot Twist in Idaho | The Gateway Pundit", None, None, url) == (
        "Plot Twist in Idaho"
    )
    assert clean_title("Gateway Pundit | Plot Twist in Idaho", None, None, url) == (
        "Plot Twist in Idaho"
    )
    # An <h1> with a kicker before the declared headline, or a declared headline with a kicker
    # before the <h1>: the declared one is the publisher's choice.
    assert clean_title(
        "Trump spricht über Bodeneinsätze", '"Bald": Trump spricht über Bodeneinsätze', None
    ) == ("Trump spricht über Bodeneinsätze")
    assert clean_title("Rückbau: Kühltürme gesprengt - STZ", "Kühltürme gesprengt", "STZ") == (
        "Rückbau: Kühltürme gesprengt"
    )
    # A headline inside the title elsewhere, or no title: the <h1>.
    assert clean_title("Breaking news: Talks resume today", "Talks resume", None) == "Talks resume"
    assert clean_title(None, "Talks resume", None) == "Talks resume"


def test_the_site_and_section_are_stripped_in_any_script() -> None:
    # The fullwidth colon and bar, and the Hangul ㅣ used as a bar, with or without spaces.
    assert clean_title("首相が辞意を表明：東都新聞デジタル", None, "東都新聞デジタル") == (
        "首相が辞意を表明"
    )
    assert clean_title("停戦協議が再開｜週刊ニュース", None, None) == "停戦協議が再開"
    assert clean_title("휴전 협상 재개ㅣ한빛일보", None, "한빛일보") == "휴전 협상 재개"
    assert clean_title("Ateşkes görüşmeleri başladı :: Haber Ağı", None, "Haber Ağı") == (
        "Ateşkes görüşmeleri başladı"
    )
    # The page's declared section at either end, beside the site's name.
    assert clean_title(
        "Waffenruhe gebrochen - Politik - Tagesbote", None, "Tagesbote", None, None, ("Politik",)
    ) == ("Waffenruhe gebrochen")
    assert (
        clean_title("정치ㅣ휴전 협상 재개", None, None, None, None, ("정치",)) == "휴전 협상 재개"
    )
    # A section is stripped only as a whole part, never from inside the headline.
    assert clean_title(
        "Waffenruhe - Politikerin tritt zurück", None, None, None, None, ("Politik",)
    ) == ("Waffenruhe - Politikerin tritt zurück")
    # A long part after a bar is the headline's, not a name to strip.
    assert clean_title("Design Week | Anastasia Lee's light installation", None, None) == (
        "Design Week | Anastasia Lee's light installation"
    )


def test_a_declaration_that_spells_the_h1_s_words_stands_for_the_h1() -> None:
    # og:title spells the <h1>'s words with a separator the markup left out: og:title's form.
    assert clean_title("Hafen: Fähre läuft aus", "HafenFähre läuft aus", None) == (
        "Hafen: Fähre läuft aus"
    )
    # og:title is a line written for sharing; the JSON-LD headline spells the <h1>: the headline,
    # in the JSON-LD's spelling, without the site's name.
    assert (
        clean_title(
            "Ceasefire talks could collapse",
            "What next for Gaza after the appointment?",
            "The Courier",
            "https://courier.example/world/1",
            "What next for Gaza after the appointment? | The Courier",
        )
        == "What next for Gaza after the appointment?"
    )
    assert (
        clean_title(
            "Talks at risk",
            "Talks ‘at risk’, envoy says",
            None,
            None,
            "Talks ‘at risk’, envoy says...",
        )
        == "Talks ‘at risk’, envoy says..."
    )
    # A JSON-LD headline that the <h1> does not show changes nothing.
    assert clean_title("Talks resume | Warta", "Talks resume", "Warta", None, "Other words") == (
        "Talks resume"
    )
    assert clean_title(None, None, None, None, "Talks resume") == "Talks resume"


def test_the_headline_is_the_h1_the_page_shows_not_its_sharing_title() -> None:
    # The breadcrumb's <h1> is navigation; the article's <h1> is spelt by the JSON-LD article's
    # headline (not the WebSite's), with its entities decoded.
    ld = (
        '<script type="application/ld+json">[{"@type":"WebSite","headline":"Warta: berita"},'
        '{"@type":["NewsArticle"],"headline":"Pasukan &#8216;mundur&#8217; dari perbatasan"}]'
        "</script>"
    )
    html = (
        '<html lang="id"><head><meta charset="utf-8"><title>Tentara mundur - Warta</title>'
        f'<meta property="og:title" content="Tentara mundur">{ld}</head><body>'
        '<nav class="breadcrumb"><h1>Dunia: Tentara mundur</h1></nav>'
        '<article><p class="kicker">Perbatasan</p><h1>Pasukan ‘mundur’ dari perbatasan</h1>'
        f"<p>{BODY}</p></article></body></html>"
    )
    article = extract_article(html, ExtractionOptions(url="http://warta.example/r/1"))
    assert article is not None
    assert article.title == "Pasukan ‘mundur’ dari perbatasan"


def test_authors_are_names_only_once_each_and_not_the_site() -> None:
    url = "https://www1.wdr.de/nachrichten/a.html"
    assert clean_authors(("Nina Magoley", "WDR"), None, url) == ("Nina Magoley",)
    assert clean_authors(("WDR",), None, url) == ("WDR",)  # the site alone is the byline
    assert clean_authors(("By Chuck Ross", "Chuck-Ross", "Journalist"), None, None) == (
        "Chuck Ross",
    )
    assert clean_authors(("Autor: Monika Bolliger", "ann@x.com Ann Lee"), None, None) == (
        "Monika Bolliger",
        "Ann Lee",
    )
    assert clean_authors(("Heise Online", "Dirk Knop"), "heise online", None) == ("Dirk Knop",)
    assert clean_authors(("Condé Nast", "Rachel Riederer"), None, None, {"Condé Nast"}) == (
        "Rachel Riederer",
    )
    assert clean_authors(("Capital von Jemima Kelly", "Ursula von der Leyen"), None, None) == (
        "Jemima Kelly",
        "Ursula von der Leyen",
    )


def test_bylines_split_on_and_in_many_languages_but_not_inside_a_name() -> None:
    assert split_names("Ann Lee and Bo Ek; Cy Dunn & Di Fox") == (
        "Ann Lee",
        "Bo Ek",
        "Cy Dunn",
        "Di Fox",
    )
    assert split_names(["Anna Berg und Jonas Frei", "Åse Dahl og Per Lund"]) == (
        "Anna Berg",
        "Jonas Frei",
        "Åse Dahl",
        "Per Lund",
    )
    assert split_names("Иван Петров и Анна Смирнова") == ("Иван Петров", "Анна Смирнова")
    assert split_names("José Ortega y Gasset") == ("José Ortega y Gasset",)
    # An aside after a name (initials, a role) is not part of it.
    assert clean_authors(("Elena Muster (emu)", "Corina Gall (cog.)"), None, None) == (
        "Elena Muster",
        "Corina Gall",
    )


def test_the_json_ld_article_s_authors_are_the_page_s_authors() -> None:
    url = "https://www.wartanews.example/dunia/1"
    # As the page spells them, not as trafilatura normalises a byline ("Ndr De").
    assert page_authors(("ndr.de",), "Ndr De", None, url) == ("ndr.de",)
    assert page_authors(("Ani Lestari and Budi Santoso",), "Dewi Editor", None, url) == (
        "Ani Lestari",
        "Budi Santoso",
    )
    # Nothing (or only a role) in JSON-LD: what the bylines say.
    assert page_authors((), "Dewi Sartika", None, url) == ("Dewi Sartika",)
    assert page_authors(("admin",), "Dewi Sartika", None, url) == ("Dewi Sartika",)
    # JSON-LD names only the site and a byline names a person in full: the person.
    assert page_authors(("WartaNews.example",), "Dewi Sartika", None, url) == ("Dewi Sartika",)
    assert page_authors(("WartaNews",), "dsa", None, url) == ("WartaNews",)


def test_authors_are_read_from_the_json_ld_article_node() -> None:
    ld = (
        '<script type="application/ld+json">{"@graph":[{"@type":"WebPage","author":'
        '{"name":"Warta"}},{"@type":"NewsArticle","headline":"Judul Berita","author":'
        '[{"@type":"Person","name":"Ani Lestari"},[{"@type":"Person","name":"Zo&#235; '
        'Ng"}],{"@type":"Person"}]}]}</script>'
    )
    head = f'<meta name="author" content="Redaksi Warta, Jakarta">{ld}'
    article = extract_article(page(head), ExtractionOptions(url="http://n.example/read/1/x"))
    assert article is not None and article.authors == ("Ani Lestari", "Zoë Ng")


def test_json_ld_nested_past_python_s_stack_is_skipped_not_fatal() -> None:
    deep = "[" * 5000 + '"Ani Lestari"' + "]" * 5000
    ld = f'<script type="application/ld+json">{{"@type":"NewsArticle","author":{deep}}}</script>'
    shallow = "[" * 500 + '"Ani Lestari"' + "]" * 500
    ok = f'<script type="application/ld+json">{{"@type":"NewsArticle","author":{shallow}}}</script>'
    article = extract_article(page(ld), ExtractionOptions(url="http://n.example/read/1/x"))
    assert article is not None and article.authors == ()
    article = extract_article(page(ok), ExtractionOptions(url="http://n.example/read/1/x"))
    assert article is not None and article.authors == ("Ani Lestari",)


def test_the_publisher_named_as_an_author_beside_a_person_is_dropped() -> None:
    head = (
        '<meta name="author" content="Condé Nast, Rachel Riederer">'
        '<meta name="copyright" content="Copyright (c) Condé Nast 2024">'
    )
    article = extract_article(page(head), ExtractionOptions(url="http://n.example/read/1/x"))
    assert article is not None and article.authors == ("Rachel Riederer",)


def test_a_utf8_page_declared_as_latin1_is_read_as_utf8() -> None:
    body = '<meta charset="iso-8859-1"><p>jetzt für nur 5,99 Euro</p>'.encode()
    assert "für" in decode_html(body)
    assert "für" in decode_html(body, "ISO-8859-1")
    latin = '<meta charset="iso-8859-1"><p>jetzt für nur</p>'.encode("latin-1")
    assert "für" in decode_html(latin)  # real Latin-1 is not valid UTF-8: read as declared


def test_a_fast_extraction_gets_a_second_look_when_short_or_partial() -> None:
    from types import SimpleNamespace

    from trafilatura.metadata import Document

    from crawler.extract.body import SECOND_LOOK_CHARS, _doubtful

    def document(text: str) -> Document:
        doc = Document()
        doc.text = text
        return doc

    long_text = "word " * (SECOND_LOOK_CHARS // 2)
    assert _doubtful(None, 0)  # fast mode found nothing
    assert _doubtful(document("A short brief."), 0)
    assert _doubtful(document(long_text), paragraph_chars=10 * len(long_text))
    assert not _doubtful(document(long_text), paragraph_chars=len(long_text) + 200)
    assert _doubtful(SimpleNamespace(text=long_text), 0)  # not a Document: look again


def test_the_page_chrome_s_paragraphs_do_not_make_an_article_look_partial(monkeypatch) -> None:
    """A CMS page's footer, sidebar and navigation paragraphs are not the article's: a page
    whose article is whole is extracted once, however long its legal text and teasers."""
    from crawler.extract import article as extraction
    from crawler.extract import body as body_module

    looks: list[bool] = []
    real = body_module._trafilatura

    def counting(tree, url, *, fast, precision=True):
        looks.append(fast)
        return real(tree, url, fast=fast, precision=precision)

    monkeypatch.setattr(body_module, "_trafilatura", counting)
    body = "".join(
        f"<p>Paragraph {i} of the report on the ceasefire talks in the border region, where "
        f"officials met again on Tuesday to discuss the exchange of prisoners.</p>"
        for i in range(12)
    )
    chrome = "<p>" + "Legal notice and cookie policy of the publisher. " * 60 + "</p>"
    page = (
        "<html><head><title>Talks resume</title></head><body>"
        f"<nav><p>{'Sections and topics. ' * 40}</p></nav>"
        f"<main><article><h1>Talks resume</h1>{body}</article>"
        f"<aside><p>{'Most read stories of the week. ' * 40}</p></aside></main>"
        f"<footer>{chrome}</footer></body></html>"
    )
    options = extraction.ExtractionOptions(url="http://127.0.0.1/news/talks.html")
    article = extraction.extract_article(page, options)
    assert article is not None and "Paragraph 11 of the report" in article.text
    assert looks == [True]  # the fast look only

    looks.clear()  # the same article with the chrome's text inside the page body is partial
    unmarked = page.replace("<footer>", "<div>").replace("</footer>", "</div>")
    extraction.extract_article(unmarked, options)
    assert looks[:2] == [True, False]  # (and a third without the precision bias: still short)

    looks.clear()  # a page wholly inside a <form> (ASP.NET) is measured by all its paragraphs
    in_a_form = page.replace("<body>", "<body><form>").replace("</body>", "</form></body>")
    extraction.extract_article(in_a_form, options)
    assert looks[:2] == [True, False]


def test_the_declared_article_body_drops_what_trafilatura_kept_beside_it() -> None:
    paragraphs = [
        f"Paragraph {i}: the delegations met again in the border town and agreed on the next "
        "exchange of prisoners, officials from both sides said on Tuesday evening."
        for i in range(6)
    ]
    box = (
        "Sign up for our morning briefing: the day's most important stories from the region, "
        "delivered to your inbox before breakfast, free of charge, every weekday."
    )
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    declared = page(body=f'<article><div itemprop="articleBody">{body}</div><p>{box}</p></article>')
    undeclared = declared.replace(' itemprop="articleBody"', "")
    options = ExtractionOptions(url="http://n.example/read/1/x")
    without = extract_article(undeclared, options)
    assert without is not None and box in without.text  # trafilatura keeps the box
    article = extract_article(declared, options)
    assert article is not None
    assert box not in article.text
    assert all(p in article.text for p in paragraphs)
    # A page that declares less than its article (one paragraph of six) keeps it whole.
    partial = undeclared.replace(
        f"<p>{paragraphs[0]}</p>", f'<p itemprop="articleBody">{paragraphs[0]}</p>'
    )
    whole = extract_article(partial, options)
    assert whole is not None and all(p in whole.text for p in paragraphs)


def test_a_page_without_an_article_does_not_yield_its_menu() -> None:
    menu = "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(30))
    video = (
        '<html lang="id"><head><meta charset="utf-8"><title>Video: Detik-detik Serangan</title>'
        f"</head><body><header><ul>{menu}</ul></header><main><h1>Video: Detik-detik Serangan"
        "</h1><video src='/v.mp4'></video><p>#Armenia #Azerbaijan</p></main></body></html>"
    )
    assert extract_article(video, ExtractionOptions(url="http://n.example/read/1/video")) is None


def test_text_after_an_html_comment_inside_a_paragraph_is_kept() -> None:
    """React pages write ``<!-- -->`` between the pieces of a paragraph's text: what follows
    one is the article's too."""
    sentences = [
        (
            f"Paragraph {i} of the report says that the council met on Monday and voted",
            "to close the bridge for repairs until the spring, officials said.",
        )
        for i in range(8)
    ]
    body = "".join(f"<p>{first}<!-- --> {second}</p>" for first, second in sentences)
    html = (
        "<html><head><title>Bridge closed</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>Bridge closed</h1>{body}</article><footer>Contact us</footer>"
        "</body></html>"
    )
    article = extract_article(html, ExtractionOptions(url="http://n.example/bridge"))
    assert article is not None
    assert all(f"{first} {second}" in article.text for first, second in sentences)


def test_an_article_body_split_into_parts_around_ads_is_read_whole() -> None:
    from crawler.extract.body import join_split_body, parse

    parts = [
        [
            f"Part {part}, paragraph {i}: engineers at the dam said the spillway had been "
            "inspected twice since the spring floods and that repairs would begin in May."
            for i in range(8)
        ]
        for part in range(2)
    ]
    bodies = [
        '<div class="body body__container article__body">'
        + "".join(f"<p>{p}</p>" for p in paragraphs)
        + "</div>"
        for paragraphs in parts
    ]
    ad = '<div class="ad-slot"><span>Advertisement</span></div>'
    teaser = (
        '<article class="teaser"><h1>Another story</h1><div class="article__body">'
        "<p>A teaser paragraph of another story that the page links to from here.</p>"
        "</div></article>"
    )
    html = (
        "<html><head><title>Dam repairs</title></head><body><main><article><h1>Dam repairs</h1>"
        f"{bodies[0]}{ad}{bodies[1]}{teaser}</article></main></body></html>"
    )
    article = extract_article(html, ExtractionOptions(url="http://n.example/dam"))
    assert article is not None
    assert all(p in article.text for paragraphs in parts for p in paragraphs)
    assert "A teaser paragraph" not in article.text
    # What joining does: the later parts' paragraphs follow the first part's, in page order;
    # the ads stay out, and the teaser's body (inside its own <article>) is not taken in.
    first = join_split_body(parse(html)).xpath("//article/div[1]")[0]
    assert [p.text for p in first.iter("p")] == [p for paragraphs in parts for p in paragraphs]


def test_boxes_beside_the_article_are_left_out_by_their_role_or_name() -> None:
    paragraphs = [
        f"Paragraph {i}: the mayor said the evacuation of the river district would continue "
        "through the night, with buses leaving the central square every twenty minutes."
        for i in range(8)
    ]
    boxes = {
        # a fact box as a custom element, marked as complementary by its ARIA role
        '<x-factbox role="complementary"><ul>{}</ul></x-factbox>': (
            "Flood warnings are issued by the national weather service in three levels."
        ),
        '<div class="newsletter-signup"><p>{}</p></div>': (
            "Get the morning briefing in your inbox every weekday, free of charge."
        ),
        '<div class="author_bio"><p>{}</p></div>': (
            "Jane Doe has covered the region's floods and droughts for the paper since 2009."
        ),
        '<div class="InfoBox"><p>{}</p></div>': (
            "Emergency shelters are open at the stadium and at two schools in the north."
        ),
    }
    body = "".join(f"<p>{p}</p>" for p in paragraphs[:4]) + "<h2>Buses through the night</h2>"
    body += "".join(
        box.format(f"<li>{text}</li>" if "ul" in box else text) for box, text in boxes.items()
    )
    body += "".join(f"<p>{p}</p>" for p in paragraphs[4:])
    html = (
        "<html><head><title>Evacuation continues</title></head><body><article>"
        f"<h1>Evacuation continues</h1>{body}</article></body></html>"
    )
    article = extract_article(html, ExtractionOptions(url="http://n.example/flood"))
    assert article is not None
    assert all(p in article.text for p in paragraphs)
    assert "Buses through the night" in article.text
    assert not [text for text in boxes.values() if text in article.text]
    # A page whose wrapper has such a name but holds its headline is not a box.
    wrapped = html.replace("<article>", '<article><div class="infobox-layout">').replace(
        "</article>", "</div></article>"
    )
    article = extract_article(wrapped, ExtractionOptions(url="http://n.example/flood"))
    assert article is not None and all(p in article.text for p in paragraphs)


def test_a_json_ld_article_body_longer_than_the_kept_text_gets_a_look_without_precision(
    monkeypatch,
) -> None:
    from trafilatura.metadata import Document

    from crawler.extract import body as body_module

    paragraphs = [
        f"Paragraph {i}: the court heard that the contract for the new bridge was awarded "
        "without a tender, and that the ministry had been warned twice about the costs."
        for i in range(10)
    ]

    def extraction(tree, url, *, fast, precision=True):  # precision cuts the second half
        document = Document()
        document.text = "\n".join(paragraphs[:5] if precision else paragraphs)
        return document

    monkeypatch.setattr(body_module, "_trafilatura", extraction)
    html = "<html><body><article>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article>"
    declared = " ".join(paragraphs)
    url = "http://n.example/bridge"
    assert body_module.main_text(body_module.parse(html), html, url) == "\n".join(paragraphs[:5])
    whole = body_module.main_text(body_module.parse(html), html, url, declared)
    assert whole == "\n".join(paragraphs)
    # A declared body the kept text already holds (or a shorter summary) changes nothing.
    summary = paragraphs[0]
    assert body_module.main_text(body_module.parse(html), html, url, summary) == "\n".join(
        paragraphs[:5]
    )


def test_the_json_ld_article_body_is_read_as_text() -> None:
    from crawler.extract.body import json_ld_body

    parse = lxml_html.document_fromstring  # the page as read_article reads it, scripts and all
    script = (
        '<script type="application/ld+json">[{"@type": "WebPage"}, {"@type": "NewsArticle", '
        '"articleBody": "<p>First line\nof the report.</p><p>Second &amp; last.</p>"}]</script>'
    )
    tree = parse(f"<html><head>{script}</head><body><p>x</p></body></html>")
    assert json_ld_body(tree) == "First line\nof the report.Second & last."
    assert json_ld_body(parse("<html><body><p>No JSON-LD here.</p></body></html>")) is None


def test_a_page_nested_past_the_parser_s_limit_is_refused_by_name() -> None:
    from crawler.items import PageRefused

    text = "<p>" + "Deep inside the page, a paragraph of text that goes on. " * 20 + "</p>"
    deep = "<html><body>" + "<div>" * 1000 + text + "</div>" * 1000 + "</body></html>"
    with pytest.raises(PageRefused) as refused:
        extract_article(deep, ExtractionOptions(url="http://n.example/deep"))
    assert refused.value.kind == "too_deep"
    # The same text less deep is an article; a deep page whose article comes first is too.
    shallow = "<html><body>" + "<div>" * 20 + text + "</div>" * 20 + "</body></html>"
    assert extract_article(shallow, ExtractionOptions(url="http://n.example/a")) is not None
    first = "<html><body>" + text + "<div>" * 1000 + "</div>" * 1000 + "</body></html>"
    assert extract_article(first, ExtractionOptions(url="http://n.example/b")) is not None


LEAD = (
    "Thousands left the river district overnight as the water rose past the old bridge, and the "
    "city opened three more shelters in its schools."
)
FLOOD = [
    f"Paragraph {i}: the mayor said the evacuation of the river district would continue "
    "through the night, with buses leaving the central square every twenty minutes."
    for i in range(8)
]


def flood_page(description: str, header: str, extra: str = "") -> str:
    return (
        f'<html><head><title>Evacuation continues</title><meta name="description" '
        f'content="{description}"></head><body><article><header><h1>Evacuation continues</h1>'
        f'{header}</header><div class="article-body">'
        + "".join(f"<p>{p}</p>" for p in FLOOD)
        + f"{extra}</div></article></body></html>"
    )


def test_the_lead_the_page_shows_under_its_headline_opens_the_text() -> None:
    # The description is the lead cut short, as sites write it; the page shows it whole.
    cut = LEAD[:80].rsplit(" ", 1)[0] + " …"
    html = flood_page(cut, f'<p class="standfirst">{LEAD}</p><p class="byline">By Jane Doe</p>')
    article = extract_article(html, ExtractionOptions(url="http://n.example/flood"))
    assert article is not None
    assert article.text.split("\n")[0] == LEAD
    assert article.text.count("Thousands left the river district") == 1
    assert all(p in article.text for p in FLOOD)


@pytest.mark.parametrize(
    "header",
    [
        # the description shown only as another story's teaser, in a link or a list
        f'<a href="/other"><p>{LEAD}</p></a>',
        f'<ul class="related"><li>{LEAD}</li></ul>',
        # in a caption, or in a script's data
        f'<figure><img src="/a.jpg"><figcaption>{LEAD}</figcaption></figure>',
        f'<script>var page = {{"summary": "{LEAD}"}};</script>',
        # as the start of a paragraph that holds much more than it
        f"<p>{LEAD} {FLOOD[0]} {FLOOD[1]} {FLOOD[2]}</p>",
        # as a subtitle, a heading under the headline: the title block, not the text
        f'<h2 class="subtitle">{LEAD}</h2>',
        # not shown on the page at all
        "",
    ],
)
def test_a_description_not_shown_as_the_lead_is_not_taken_for_one(header: str) -> None:
    tree = lxml_html.document_fromstring(flood_page(LEAD, header))
    assert page_lead(tree, LEAD) is None
    # The same description shown under the headline on its own is the lead.
    tree = lxml_html.document_fromstring(flood_page(LEAD, f"{header}<p>{LEAD}</p>"))
    assert page_lead(tree, LEAD) == LEAD
    # A description too short to be a lead (a site's tagline) is not looked for.
    tree = lxml_html.document_fromstring(flood_page("", "<p>News from the river</p>"))
    assert page_lead(tree, "News from the river") is None


def test_a_lead_the_text_holds_already_is_not_repeated() -> None:
    html = flood_page(LEAD, "", extra=f"<p>{LEAD}</p>")
    article = extract_article(html, ExtractionOptions(url="http://n.example/flood"))
    assert article is not None
    assert article.text.count("Thousands left the river district") == 1


def test_teasers_of_other_stories_in_links_are_left_out_of_the_text() -> None:
    # Cards as the Taipei Times prints them: a link around a headline, a date and a teaser
    # paragraph, in a list after the article. trafilatura keeps their paragraphs.
    teasers = [
        "Dam operators warn that the reservoir upstream is close to its highest level ever, and "
        "that the spillways will open again tonight if the rain keeps falling on the hills.",
        "Farmers in the valley count the cost of a second flood in three years of drought, with "
        "wheat and maize fields under water from the bridge to the sea.",
    ]
    cards = "".join(
        f'<li><a href="/story-{i}"><div><h1>Story {i}</h1><div>2024-10-14</div><p>{t}</p></div>'
        "</a></li>"
        for i, t in enumerate(teasers)
    )
    html = flood_page("", "", extra=f"<ul>{cards}</ul>")
    article = extract_article(html, ExtractionOptions(url="http://n.example/flood"))
    assert article is not None
    assert all(p in article.text for p in FLOOD)
    assert not [t for t in teasers if t in article.text]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the headline as the first line, with a curly apostrophe where the title has a straight one
        ("Mexico’s economy grew 1.1%\nMEXICO CITY (AP) — It grew.", "MEXICO CITY (AP) — It grew."),
        # a kicker on a line of its own above it, and one before it on its line
        ("MIDDLE EAST\nMexico's economy grew 1.1%\nBody.", "Body."),
        ("Economy Mexico's economy grew 1.1%\nBody.", "Body."),
        # a first paragraph that merely starts like the headline stays
        (
            "Mexico's economy grew 1.1% in the first quarter, the institute said.\nBody.",
            "Mexico's economy grew 1.1% in the first quarter, the institute said.\nBody.",
        ),
        # the headline quoted further down is the article's
        (
            "The institute published its figures on Friday morning.\nMexico's economy grew 1.1%",
            "The institute published its figures on Friday morning.\nMexico's economy grew 1.1%",
        ),
    ],
)
def test_the_headline_repeated_atop_the_text_is_dropped(text: str, expected: str) -> None:
    assert without_headline(text, "Mexico's economy grew 1.1%") == expected


def test_what_is_never_text_leaves_the_tree_before_trafilatura_its_tails_stay() -> None:
    # trafilatura deletes scripts, styles, icons and menus itself, but only after searching the
    # whole raw tree with its XPaths: removed first, those searches cost less (bench/README.md).
    from crawler.extract.body import NEVER_TEXT, RAW_TEXT, parse

    html = (
        "<html><head><style>p{color:red}</style><script>var a = 1;</script></head><body>"
        '<nav><ul><li><a href="/">Home</a></li></ul></nav><article><h1>Floods</h1>'
        '<p>The river rose <svg class="icon"><use href="#up"></use></svg> two metres overnight.'
        "</p><noscript>Enable scripts</noscript><template><p>Later</p></template>"
        '<iframe src="/ad"></iframe></article><footer>Site map</footer></body></html>'
    )
    tree = parse(html)
    assert not [element.tag for element in tree.iter(*RAW_TEXT, *NEVER_TEXT)]
    assert " ".join(tree.findtext(".//p").split()) == "The river rose two metres overnight."
    assert tree.findtext(".//h1") == "Floods"


def test_a_name_with_its_reading_in_ruby_stays_inside_its_sentence() -> None:
    sentence = (
        "【ソウル＝小池和樹】韓国の\n<ruby><rb>尹錫悦</rb><rp>（</rp><rt>ユンソンニョル</rt>"
        "<rp>）</rp></ruby>\n大統領は３日夜、緊急談話を出し、野党が国政をまひさせているとして"
        "「非常戒厳」を宣言した。"
    )
    rest = "".join(
        f"<p>尹氏は{i}日、従北勢力の清算と憲政秩序を守るためだとし、共産主義勢力から国を守る必要が"
        "あるとの理由を挙げた。具体的な措置については明らかにされていない。</p>"
        for i in range(6)
    )
    html = (
        '<html lang="ja"><head><title>韓国が戒厳令</title></head><body><article>'
        f"<h1>韓国が戒厳令</h1><p>{sentence}</p>{rest}</article></body></html>"
    )
    article = extract_article(html, ExtractionOptions(url="http://n.example/kaigenrei"))
    assert article is not None
    line = next(line for line in article.text.split("\n") if "韓国の" in line)
    assert "尹錫悦（ユンソンニョル）" in line and "大統領は３日夜" in line


def test_a_post_the_article_embeds_is_kept_though_its_wrapper_is_named_social() -> None:
    tweet = "The bridge is closed until further notice, use the northern crossing instead."
    embed = (
        '<div class="social-media-embed"><blockquote class="twitter-tweet"><p lang="en" '
        f'dir="ltr">{tweet} <a href="https://t.co/x">https://t.co/x</a></p>— City of Riverton '
        '(@riverton) <a href="https://twitter.com/riverton/status/1">May 4, 2024</a>'
        "</blockquote></div>"
    )
    html = flood_page("", "", extra=f"<p>{FLOOD[0]}</p>{embed}<p>{FLOOD[1]}</p>")
    article = extract_article(html, ExtractionOptions(url="http://n.example/flood"))
    assert article is not None
    assert tweet in article.text
    assert all(p in article.text for p in FLOOD)


@pytest.mark.parametrize(
    "shown",
    [
        # opening with a link, so the description's first words are in two text nodes
        '<div class="intro"><a href="/topic/evacuation">Thousands</a> left the river district '
        "overnight as the water rose past the old bridge, and the city opened three more "
        "shelters in its schools.</div>",
        # in two paragraphs, one sentence each
        '<div class="preamble"><p>Thousands left the river district overnight as the water rose '
        "past the old bridge, and the</p><p>city opened three more shelters in its schools.</p>"
        "</div>",
    ],
)
def test_a_lead_split_by_markup_is_found(shown: str) -> None:
    tree = lxml_html.document_fromstring(flood_page(LEAD, shown))
    assert page_lead(tree, LEAD) == LEAD


def test_captions_kept_by_trafilatura_are_dropped_from_the_text() -> None:
    from crawler.extract.lines import card_texts, without_cards

    caption = "移送のため警視庁を出る岩本絹子容疑者＝13日、東京・霞ケ関で（潟沼義樹撮影）"
    figure = "Volunteers fill sandbags beside the old bridge on Tuesday evening."
    tree = lxml_html.document_fromstring(
        '<html><body><article><div class="wrap"><div class="image"><img src="/a.jpg"></div>'
        f'<p class="caption">{caption}</p></div><figure><img src="/b.jpg"><figcaption>{figure}'
        f"</figcaption></figure><p>{FLOOD[0]}</p></article></body></html>"
    )
    text = "\n".join([FLOOD[0], caption, figure, FLOOD[1]])
    assert without_cards(text, card_texts(tree)) == f"{FLOOD[0]}\n{FLOOD[1]}"


def test_a_reader_poll_inside_the_article_is_left_out() -> None:
    question = "Should the city have opened the shelters earlier, before the river broke its banks?"
    poll = (
        f'<div class="Article_elementPoll__0I_DP"><div class="sc-1"><div class="sc-2"><p>{question}'
        "</p></div><div><button>Yes</button><button>No</button></div></div></div>"
    )
    paragraphs = "".join(f"<p>{p}</p>" for p in FLOOD[:3])
    html = flood_page("", "", paragraphs + poll + "".join(f"<p>{p}</p>" for p in FLOOD[3:6]))
    article = extract_article(html, ExtractionOptions(url="http://n.example/flood"))
    assert article is not None
    assert question not in article.text
    assert all(p in article.text for p in FLOOD[:6])


def test_an_article_a_markup_error_swallowed_into_the_menu_is_still_read() -> None:
    # "<?" opens a processing instruction that ends at the next ">": the menu's "</nav>" is
    # lost, and the whole article is parsed inside the <nav> (hypothesis found this page).
    html = (
        "<html><head><title>Evacuation continues</title></head><body><nav data-x=''><?</nav>"
        "<article><h1>Evacuation continues</h1>"
        + "".join(f"<p>{p}</p>" for p in FLOOD[:5])
        + "</article><nav><a href='/'>Home</a> <a href='/world'>World news</a></nav></body></html>"
    )
    article = extract_article(html, ExtractionOptions(url="http://n.example/flood"))
    assert article is not None
    assert all(p in article.text for p in FLOOD[:5])
    assert "World news" not in article.text
