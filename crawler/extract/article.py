"""Article extraction: ``(html, url) -> ExtractedArticle``, or why the page has none.

Wraps trafilatura's pure half (``bare_extraction`` on a string; never its fetchers) and adds what a
news monitor needs on top: full publication timestamps read in the source's time zone, the
page's declared language (detected when it declares none), headline clean-up, and the removal of
inline "read also" links that news sites put inside article paragraphs.

This module parses the page, reads each part in its order (all that needs the whole tree before
trafilatura prunes it) and assembles the result. The parts: ``pageselectors`` (a source's own
CSS selectors), ``metadata`` (what the page declares: meta tags, JSON-LD, trafilatura's metadata
readers), ``body`` (the text), ``titles``, ``authors`` (with ``sitename``), ``dates`` and
``language``; ``decoding`` turns a page's bytes into the text given here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from urllib.parse import urljoin

from lxml import html as lxml_html
from lxml.etree import ParserError, XMLSyntaxError, XPath

from crawler.extract.authors import AUTHOR_SEPARATORS, page_authors, split_list
from crawler.extract.body import (
    PARSER_OPTIONS,
    declared_body_words,
    json_ld_body,
    main_text,
    within_declared_body,
)
from crawler.extract.cleaning import clean_line, clean_lines, clean_markup, clean_text
from crawler.extract.dates import find_published, page_date, published_candidates
from crawler.extract.language import page_language, text_language
from crawler.extract.lead import lacks_lead, page_lead, with_lead
from crawler.extract.lines import card_texts, strip_read_also, without_cards, without_headline
from crawler.extract.metadata import (
    DeclaredArticle,
    declared_article,
    page_metadata,
    page_publishers,
)
from crawler.extract.pageselectors import SelectedFields, selected
from crawler.extract.titles import clean_title
from crawler.items import ExtractedArticle, NoArticle, PageRefused, PageSelectors
from crawler.units import parse_datetime


@dataclass(frozen=True, slots=True)
class ExtractionOptions:
    """Everything extraction needs to know about one page besides its HTML."""

    url: str
    timezone: tzinfo = UTC
    language_hint: str | None = None
    listed_published: datetime | None = None
    min_text_chars: int = 100
    selectors: PageSelectors | None = None


# The first <h1> with text outside the navigation: a breadcrumb's last item is often an <h1>
# holding the page's title with its section's.
_FIRST_H1 = XPath(
    "string((//h1[normalize-space()][not(ancestor-or-self::nav)]"
    "[not(ancestor-or-self::*[contains(@class, 'crumb')])])[1])"
)

# One parser per process (the extraction workers are single-threaded), so that its error log
# tells what the last page did to it; without HTML comments (``body.PARSER_OPTIONS`` says why).
_PARSER = lxml_html.HTMLParser(**PARSER_OPTIONS)


def _refuse_if_cut(cut: bool) -> None:
    """No article: said by name when the parser stopped short of the page's text."""
    if cut:
        raise PageRefused(
            "too_deep", "its markup nests deeper than 256 levels before any article text"
        )


def extract_article(html: str, options: ExtractionOptions) -> ExtractedArticle | None:
    """Extract the article in ``html``; None when the page has no article text."""
    article = read_article(html, options)
    return article if isinstance(article, ExtractedArticle) else None


def read_article(html: str, options: ExtractionOptions) -> ExtractedArticle | NoArticle:
    """Extract the article in ``html``, or say why the page has no article text.

    The page is cleaned of escape sequences and control characters before it is parsed, and
    every field after (``crawler.extract.cleaning``): trafilatura discards a text holding a control
    character, and one ``ESC`` in a headline must not cost the article."""
    html = clean_markup(html)
    try:
        tree = lxml_html.document_fromstring(html, parser=_PARSER)
    except (ParserError, XMLSyntaxError, ValueError):
        return NoArticle("unparsable")
    # libxml2 stops reading at 256 levels of nesting (100,000 nested elements cost it 0.5 s,
    # not the machine): a page whose text lies deeper gives none, and is refused by name.
    cut = any(error.type_name == "ERR_RESOURCE_LIMIT" for error in _PARSER.error_log)
    # Read before trafilatura runs: it prunes the tree it is given.
    own = selected(tree, options.selectors) if options.selectors else SelectedFields()
    date_candidates = (
        [own.date]
        if own.date and parse_datetime(own.date, options.timezone)
        else list(published_candidates(tree))
    )
    declared_language = page_language(tree)
    h1 = _FIRST_H1(tree) or None
    declared = declared_article(tree) if "ld+json" in html else DeclaredArticle()
    declared_body = declared_body_words(tree) if not own.body and "articleBody" in html else None
    json_body = json_ld_body(tree) if not own.body and '"articleBody"' in html else None
    canonical = tree.xpath('string(//link[@rel="canonical"][1]/@href)') or None

    metadata = page_metadata(tree)
    # Several bylines may include the publisher's name: read it while the tree is whole.
    several = len(declared.authors) > 1 or any(
        re.search(AUTHOR_SEPARATORS, byline)
        for byline in (metadata.author or "", *declared.authors)
    )
    publishers = page_publishers(tree) if several else ()
    # The source's body selector's text, else trafilatura's main text (it prunes the tree).
    raw_text = own.body or main_text(tree, html, options.url, json_body)
    if not raw_text:
        _refuse_if_cut(cut)
        return NoArticle("no text")
    site_name = clean_line(metadata.sitename)
    title = clean_line(
        own.title
        or clean_title(
            metadata.title,
            h1,
            site_name,
            options.url,
            declared.headline,
            tuple(metadata.categories or ()),
        )
    )
    # trafilatura ran on a copy of the tree it was given: what it kept is compared with that
    # tree's teasers of other stories and captions, and with the page's lead (looked for only
    # where the text lacks the page's description).
    if not own.body:
        raw_text = without_cards(raw_text, card_texts(tree))
    text = clean_text(strip_read_also(raw_text))
    if declared_body is not None:
        text = within_declared_body(text, declared_body)
    text = without_headline(text, title)
    if not own.body and lacks_lead(text, metadata.description):
        text = with_lead(text, clean_line(page_lead(tree, metadata.description)))
    if len(text) < options.min_text_chars:
        _refuse_if_cut(cut)
        return NoArticle("too short")

    canonical = clean_line(canonical)
    if canonical:
        canonical = urljoin(options.url, canonical)
    published = find_published(
        date_candidates,
        options.timezone,
        options.listed_published,
        lambda: page_date(tree, options.url),
    )
    language = declared_language or text_language(text, options.language_hint)
    return ExtractedArticle(
        url=options.url,
        text=text,
        title=title,
        canonical_url=canonical,
        authors=page_authors(declared.authors, metadata.author, site_name, options.url, publishers),
        published_at=published,
        language=language,
        description=clean_line(metadata.description),
        site_name=site_name,
        tags=clean_lines(
            split_list([*(metadata.tags or []), *(metadata.categories or [])], r"[,;]")
        ),
    )
