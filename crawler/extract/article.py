"""Article extraction: ``(html, url) -> ExtractedArticle | None``.

Wraps trafilatura's pure half (``bare_extraction`` on a string; never its fetchers) and adds what a
news monitor needs on top: full publication timestamps read in the source's time zone, the
page's declared language (detected when it declares none), headline clean-up, and the removal of
inline "read also" links that news sites put inside article paragraphs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import py3langid
import trafilatura
from cssselect import GenericTranslator
from htmldate import find_date
from lxml import html as lxml_html
from lxml.etree import ParserError, XMLSyntaxError, XPath
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import Document
from w3lib.encoding import html_body_declared_encoding, resolve_encoding

from crawler.extract.cleaning import clean_line, clean_lines, clean_markup, clean_text
from crawler.items import ExtractedArticle, PageRefused, PageSelectors
from crawler.units import parse_datetime

logger = logging.getLogger(__name__)

# Labels of the inline links to other stories that sites put inside article text, per language.
# A label is removed with what follows it when it stands in parentheses or brackets
# ("(Baca: …)"), or when it starts a short paragraph of its own ("Read also: …").
READ_ALSO_LABELS: dict[str, tuple[str, ...]] = {
    "id": (
        "Baca",
        "Baca juga",
        "Baca pula",
        "Lihat juga",
        "Simak juga",
        "Baca selengkapnya",
        "Artikel terkait",
        "Berita terkait",
        "Klik",
    ),
    "ms": ("Baca juga", "Baca lagi", "Lihat juga"),
    "en": (
        "Read also",
        "Also read",
        "Read more",
        "See also",
        "Related",
        "Read next",
        "Related article",
        "Related story",
        "More",
    ),
    "ru": ("Читайте также", "Читайте еще", "Читайте ещё", "Смотрите также", "Подробнее", "По теме"),
    "uk": ("Читайте також", "Дивіться також"),
    "tr": ("Ayrıca okuyun", "Ayrıca bakınız", "İlgili haber", "İlginizi çekebilir"),
    "az": ("Həmçinin oxuyun", "Həmçinin bax", "Oxu", "Ətraflı"),
    "hy": ("Կարդացեք նաև", "Տես նաև"),
    "ar": ("اقرأ أيضا", "اقرأ أيضاً", "اقرأ أيضًا", "اقرأ المزيد"),
    "fa": ("بیشتر بخوانید", "بخوانید"),
    "fr": ("Lire aussi", "À lire aussi", "Voir aussi", "Lire la suite"),
    "es": ("Lea también", "Lee también", "Leer más", "Te puede interesar"),
    "pt": ("Leia também", "Leia mais", "Veja também"),
    "de": ("Lesen Sie auch", "Mehr zum Thema", "Auch interessant"),
}
# Longest labels first so "Baca juga" wins over "Baca".
_LABELS = sorted(
    {label for labels in READ_ALSO_LABELS.values() for label in labels}, key=len, reverse=True
)
_LABEL_ALT = "|".join(re.escape(label) for label in _LABELS)
_INLINE_READ_ALSO = re.compile(
    rf"\s*(?:\(\s*(?:{_LABEL_ALT})\s*:[^()]*(?:\([^()]*\)[^()]*)*\)"
    rf"|\[\s*(?:{_LABEL_ALT})\s*:[^\[\]]*\])",
    re.IGNORECASE,
)
_LINE_READ_ALSO = re.compile(rf"^\s*(?:{_LABEL_ALT})\s*:.{{0,300}}$", re.IGNORECASE)
# Editor's or reporter's initials closing an article, as Indonesian portals print them: "(min)".
_CREDIT_LINE = re.compile(r"^\(\s*[a-z]{2,5}(?:\s*/\s*[a-z]{2,5})*\s*\)$")
# Copyright and licence notices are the publisher's, never the article's.
_NOTICE_LINE = re.compile(r"^(?:©|\(c\)\s|copyright\b|hak cipta\b)", re.IGNORECASE)

_TITLE_SEPARATORS = re.compile(r"\s+([|\-–—:·»])\s+")
# A title part after one of these is the site's name whenever it is short.
_SITE_SEPARATORS = {"|", "·", "»"}
# Languages a detector confuses with each other; the source's hint decides between them.
_CONFUSABLE = ({"id", "ms"}, {"hr", "sr", "bs"}, {"no", "nb", "nn", "da"}, {"az", "tr"})
_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")
_DATE_META_NAMES = (
    "article:published_time",
    "og:article:published_time",
    "article.published",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
    "cxenseparse:recs:publishtime",
)
# Declared bylines that name a role, not a person (trafilatura strips digits: "Reporter 38").
_ROLE_BYLINES = frozenset(
    "admin administrator author editor editors redaksi redaktur reporter staff team user guest "
    "webmaster newsroom desk journalist journalistin autor autorin red redaktion agenturen "
    "agencies".split()
)
# A byline's leading word that says "by" or names the role, in the corpus's languages.
_BYLINE_PREFIX = re.compile(
    r"^(?:by|von|par|por|di|da|door|av|af|oleh|autor|autorin|author|text|texto|reporter|"
    r"reporting by|written by)\s*:?\s+(?=\S)",
    re.IGNORECASE,
)
_AUTHOR_SEPARATORS = r"[;,]| and "
_LEAD_BY = re.compile(
    r"^\S+(?:\s+\S+)?\s+(?:von|by|par|por)\s+(\S+(?:\s+\S+){1,3})$", re.IGNORECASE
)
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_MIN_DETECT_CHARS = 40
_LATIN_SINGLE_BYTE = {
    "cp1250",
    "cp1252",
    "latin_1",
    "iso8859_2",
    "iso8859_15",
    "iso8859_9",
    "cp1254",
    "mac_roman",
    "iso8859_16",
    "cp1257",
    "iso8859_13",
}


@dataclass(frozen=True, slots=True)
class ExtractionOptions:
    """Everything extraction needs to know about one page besides its HTML."""

    url: str
    timezone: tzinfo = UTC
    language_hint: str | None = None
    listed_published: datetime | None = None
    min_text_chars: int = 100
    selectors: PageSelectors | None = None


def decode_html(body: bytes, declared: str | None = None) -> str:
    """Decode a page: the declared charset (HTTP header, then the page's own meta) when the
    bytes really are in it, else UTF-8, else what charset detection finds.

    Sites lie about charsets (a windows-1252 page served as UTF-8), so a declaration is only
    trusted when the body decodes under it without errors. The reverse lie (a UTF-8 page
    declared as Latin-1 or windows-1252, which decode any bytes) shows as UTF-8's multi-byte
    sequences, which Latin text essentially never forms: such a body is read as UTF-8.
    """
    candidates = [declared, html_body_declared_encoding(body[:4096]), "utf-8"]
    for candidate in candidates:
        encoding = resolve_encoding(candidate) if candidate else None
        if not encoding:
            continue
        if encoding in _LATIN_SINGLE_BYTE and not body.isascii():
            with contextlib.suppress(UnicodeDecodeError):
                return body.decode("utf-8")
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    best = charset_normalizer.from_bytes(body).best()
    if best is not None and best.encoding not in _LATIN_SINGLE_BYTE:
        return str(best)
    # Detectors cannot tell the Latin single-byte code pages apart on a little text (ñ in
    # windows-1252 is ń in windows-1250); the web's usual one, as HTML5 assumes, is 1252.
    try:
        return body.decode("windows-1252")
    except UnicodeDecodeError:
        return str(best) if best is not None else body.decode("windows-1252", errors="replace")


def strip_read_also(text: str) -> str:
    """Remove inline "read also" links and editor credits; keep every sentence of the article."""
    lines = []
    for line in text.split("\n"):
        line = _INLINE_READ_ALSO.sub("", line).strip()
        if (
            not line
            or _LINE_READ_ALSO.match(line)
            or _CREDIT_LINE.match(line)
            or _NOTICE_LINE.match(line)
        ):
            continue
        lines.append(line)
    return "\n".join(lines)


def _first_metas(tree: Any) -> dict[str, str]:
    """Each meta name's first value: the page's own comes before those of the teasers and
    related stories further down (which carry their own ``itemprop=datePublished``)."""
    metas: dict[str, str] = {}
    for key, content in _meta_contents(tree):
        metas.setdefault(key, content)
    return metas


def _meta_contents(tree: Any) -> Iterator[tuple[str, str]]:
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content")
        if key and content:
            yield key, content.strip()


_JSON_LD = XPath('//script[@type="application/ld+json"]')


def _json_ld_nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's JSON-LD, depth first (a bad script is skipped)."""
    for script in _JSON_LD(tree):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                yield node
                stack.extend(reversed([v for v in node.values() if isinstance(v, dict | list)]))


def _json_ld_dates(tree: Any) -> Iterator[str]:
    for node in _json_ld_nodes(tree):
        value = node.get("datePublished")
        if isinstance(value, str):
            yield value


_COPYRIGHT_WORDS = re.compile(r"(?i)copyright|\(c\)|©|\b\d{4}\b|all rights reserved|[.,]")


def _publishers(tree: Any) -> set[str]:
    """The names of the organisations that publish the page: its JSON-LD ``publisher`` and
    its copyright holder (``<meta name="copyright">``)."""
    names = _json_ld_publishers(tree)
    holder = _COPYRIGHT_WORDS.sub(" ", _first_metas(tree).get("copyright", "")).strip()
    if holder:
        names.add(holder)
    return names


def _json_ld_publishers(tree: Any) -> set[str]:
    """The names of the organisations the page's JSON-LD says publish it."""
    names = set()
    for node in _json_ld_nodes(tree):
        publisher = node.get("publisher")
        for one in publisher if isinstance(publisher, list) else [publisher]:
            if isinstance(one, dict) and isinstance(one.get("name"), str):
                names.add(one["name"])
    return names


def _published_candidates(tree: Any) -> Iterator[str]:
    metas = _first_metas(tree)
    for name in _DATE_META_NAMES:
        if name in metas:
            yield metas[name]
    yield from _json_ld_dates(tree)
    for node in tree.xpath('//time[@itemprop="datePublished" or @pubdate][@datetime]'):
        yield node.get("datetime")


def _has_time(value: str) -> bool:
    return "T" in value or ":" in value


def find_published(
    candidates: Iterable[str],
    zone: tzinfo,
    listed: datetime | None,
    fallback_day: Callable[[], str | None] | None = None,
) -> datetime | None:
    """The publication time, the page's own first: its timestamp with a time of day when it
    states one; else its day (meta tags, JSON-LD, then ``fallback_day``: htmldate's reading
    of its metadata and URL), given the feed's or sitemap's time when the listing dates it on
    that same day, and at midnight in the source's zone when not; the listing's time only when
    the page states no date at all. A listing's date is the time the entry was written or last
    changed, which can be days after the article (an update, a re-sorted sitemap); the page's
    ``datePublished`` is the publisher's own, and a modified date is never read."""
    date_only: datetime | None = None
    for candidate in candidates:
        parsed = parse_datetime(candidate, zone)
        if parsed is None:
            continue
        if _has_time(candidate):
            return parsed
        date_only = date_only or parsed
    if date_only is None and fallback_day is not None:
        day = fallback_day()
        date_only = parse_datetime(day, zone) if day else None
    if listed is not None and (
        date_only is None or listed.astimezone(zone).date() == date_only.astimezone(zone).date()
    ):
        return listed.astimezone(UTC)
    return date_only


def _declared_language(tree: Any) -> str | None:
    candidates = [tree.get("lang"), tree.get("xml:lang")]
    metas = _first_metas(tree)
    candidates += [metas.get("content-language"), metas.get("og:locale"), metas.get("language")]
    for node in tree.xpath("//meta[@http-equiv]"):
        if (node.get("http-equiv") or "").lower() == "content-language":
            candidates.append(node.get("content"))
    for candidate in candidates:
        match = _LANG.match((candidate or "").strip())
        if match:
            return match.group(1).lower()
    return None


def detect_language(text: str) -> str | None:
    if len(text) < _MIN_DETECT_CHARS:
        return None
    language, _score = py3langid.classify(text[:2000])
    return str(language)


def _detected(text: str, hint: str | None) -> str | None:
    found = detect_language(text)
    if found and hint and any({found, hint} <= group for group in _CONFUSABLE):
        return hint
    return found or hint


def _name_key(text: str) -> str:
    return re.sub(r"[\W_]", "", text.casefold())


_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "ne", "or", "go", "edu"}


def _host_name(url: str | None) -> str | None:
    """The name a host spells, its registered label: ``www.thegatewaypundit.com`` ->
    ``thegatewaypundit``, ``news.bbc.co.uk`` -> ``bbc``, ``www1.wdr.de`` -> ``wdr``."""
    host = (urlsplit(url).hostname or "") if url else ""
    parts = host.split(".")
    if len(parts) < 2 or host.replace(".", "").isdigit():
        return None
    if len(parts) >= 3 and parts[-2] in _SECOND_LEVEL:
        return parts[-3]
    return parts[-2]


def _names_site(part: str, site_keys: set[str]) -> bool:
    key = _name_key(part)
    return bool(key) and any(
        key == s or (len(s) >= 4 and (s in key or key in s)) for s in site_keys
    )


def _strip_site(title: str, site_name: str | None, url: str | None) -> str:
    """``title`` without the site's name (or a short trailing part after ``|``, ``·``, ``»``)
    at either end: the name as the page declares it (``og:site_name``) or as its host spells it."""
    site_keys = {k for k in (_name_key(site_name or ""), _host_name(url) or "") if k}
    for _ in range(2):  # "Section | Headline | Site": at most one part off each end
        separators = list(_TITLE_SEPARATORS.finditer(title))
        if not separators:
            break
        last, first = separators[-1], separators[0]
        tail, head = title[last.end() :], title[: first.start()]
        if _names_site(tail, site_keys):
            title = title[: last.start()]
        elif _names_site(head, site_keys):
            title = title[first.end() :]
        elif last.group(1) in _SITE_SEPARATORS and len(_name_key(tail)) <= 40:
            title = title[: last.start()]  # "Headline | Short Name": a name we did not know
        else:
            break
    return title


def clean_title(
    title: str | None, headline: str | None, site_name: str | None, url: str | None = None
) -> str | None:
    """The article's headline as the page shows it, from its declared title (``og:title``,
    ``<title>``, JSON-LD) without the site's name, and its ``<h1>``.

    When one of the two ends with the other, the longer holds a kicker ("Kultur: …", a
    section's name) or a shorter variant of it, and the declared title is the publisher's own
    choice between them; when one contains the other elsewhere, the ``<h1>``; else the declared
    title (an ``<h1>`` that shares nothing with it is often the site's logo or a section).
    """
    title = " ".join(title.split()) if title else None
    headline = " ".join(headline.split()) if headline else None
    if title:
        title = _strip_site(title, site_name, url) or title
    if headline and title:
        if headline.endswith(title) or title.endswith(headline):
            return title
        if headline in title or title in headline:
            return headline
    return title or headline


def clean_authors(
    names: tuple[str, ...],
    site_name: str | None,
    url: str | None,
    publishers: Iterable[str] = (),
) -> tuple[str, ...]:
    """People's names only: no "By"/"Von" or role before a name, no e-mail addresses, no
    role for a name ("Journalist"), one of each name however spelt ("Chuck Ross",
    "Chuck-Ross"), and the site's own name ("Heise Online", "WDR") or its publisher's (the
    JSON-LD ``publisher``, the copyright holder: "Condé Nast") dropped when a person is named
    beside it."""
    site_keys = {
        k
        for k in (_name_key(site_name or ""), _host_name(url) or "", *map(_name_key, publishers))
        if len(k) >= 3
    }
    kept: dict[str, str] = {}
    for name in names:
        name = _EMAIL.sub("", name)
        name = _BYLINE_PREFIX.sub("", name).strip(" ,;:|-")
        # "Ein Kommentar von Max Muster", "Capital von Jemima Kelly": the name after "von"/"by"
        # when one or two words stand before it and capitalised words follow it (never the
        # "von" inside "Ursula von der Leyen").
        lead = _LEAD_BY.match(name)
        if lead and all(word[:1].isupper() for word in lead.group(1).split()):
            name = lead.group(1)
        key = _name_key(name)
        if not key or name.casefold() in _ROLE_BYLINES or key in kept:
            continue
        kept[key] = name
    people = {k: v for k, v in kept.items() if not any(s in k for s in site_keys)}
    return tuple((people or kept).values())


def _split_list(values: Iterable[str] | str | None, separators: str) -> tuple[str, ...]:
    if not values:
        return ()
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        for part in re.split(separators, value):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return tuple(out)


# A fast extraction shorter than this, or than this share of the page's paragraph text, is
# checked again with trafilatura's full comparison of extractors.
SECOND_LOOK_CHARS = 1000
SECOND_LOOK_SHARE = 0.5
# The page's paragraphs that could be the article's: not those of its navigation, sidebars,
# header, footer or forms (a CMS page's teasers, newsletter box and legal text would make
# almost every article look short beside them: on bench/sitegen.py's pages 29% were looked at
# twice, to the same result; on the corpus the second looks that change a text are all kept).
_CONTENT_PARAGRAPHS = XPath(
    "//p[not(ancestor::nav or ancestor::aside or ancestor::header or ancestor::footer"
    " or ancestor::form)]"
)


def _trafilatura(tree: Any, url: str, *, fast: bool, precision: bool = True) -> Any:
    """The main text only: metadata is read by ``page_metadata`` (once, and only as far as
    needed), not by trafilatura's own pass."""
    return trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        include_tables=True,
        with_metadata=False,
        deduplicate=False,
        favor_precision=precision,
        fast=fast,
    )


def page_metadata(tree: Any) -> Document:
    """Title, author, site name, description, categories and tags of a page, with trafilatura's
    readers, cheapest first: the page's own metadata (meta tags, OpenGraph, JSON-LD), and
    trafilatura's searches of the page body only for what the metadata does not say.

    trafilatura's own pass drops a declared single-word author and searches the body for another;
    here a single-word byline is kept ("Reuters", "AFP", "Antara": the attribution a wire story
    carries) unless it names a role rather than a person ("admin", "Redaksi"), and then the page
    has told us it names nobody: the body is searched only when the metadata names no author.
    The publication date is not read here (``find_published``).
    """
    try:
        found = trafilatura_metadata.examine_meta(tree)
    except Exception as exc:  # odd markup: no metadata is better than a lost article
        logger.debug("metadata not read: %s", exc)
        return Document()
    try:
        found = trafilatura_metadata.extract_meta_json(tree, found)
    except Exception as exc:  # trafilatura's JSON-LD reader fails on some odd markup
        logger.debug("JSON-LD metadata not read: %s", exc)
    try:
        _search_body(tree, found)
    except Exception as exc:
        logger.debug("metadata searches of the page failed: %s", exc)
    found.clean_and_trim()
    return found


def _search_body(tree: Any, found: Document) -> None:
    """trafilatura's searches of the page body, for what its metadata did not say."""
    if not found.title:
        found.title = trafilatura_metadata.extract_title(tree)
    if not found.author:
        found.author = trafilatura_metadata.extract_author(tree)
    elif found.author.casefold() in _ROLE_BYLINES:
        found.author = None
    if not found.sitename:
        found.sitename = trafilatura_metadata.extract_sitename(tree)
    if found.sitename:
        found.sitename = found.sitename.lstrip("@")
    if not found.categories:
        found.categories = trafilatura_metadata.extract_catstags("category", tree)
    if not found.tags:
        found.tags = trafilatura_metadata.extract_catstags("tag", tree)


def _page_date(tree: Any, url: str) -> str | None:
    """htmldate's reading of the page's date: its metadata and URL only (the extensive search
    turns "Copyright 2020" into a date)."""
    try:
        return find_date(tree, url=url, extensive_search=False, original_date=True)
    except Exception as exc:  # odd markup: an undated article is better than a lost one
        logger.debug("htmldate failed: %s", exc)
        return None


# Text reads as prose when most of its characters are in lines of this many words or more.
PROSE_LINE_WORDS = 10
PROSE_SHARE = 0.6


def _longer_prose(candidate: Any, current: Any) -> bool:
    """Whether ``candidate`` has more text than ``current`` and reads as prose: most of it in
    lines of sentences, not a list of menu entries."""
    text = candidate.text if isinstance(candidate, Document) else None
    if not text:
        return False
    if isinstance(current, Document) and current.text and len(text) <= len(current.text):
        return False
    lines = [line for line in text.split("\n") if line.strip()]
    prose = sum(len(line) for line in lines if len(line.split()) >= PROSE_LINE_WORDS)
    return prose >= PROSE_SHARE * sum(len(line) for line in lines)


def _partial(document: Any, paragraph_chars: int) -> bool:
    text = document.text if isinstance(document, Document) else None
    return not text or len(text) < SECOND_LOOK_SHARE * paragraph_chars


def _doubtful(document: Any, paragraph_chars: int) -> bool:
    text = document.text if isinstance(document, Document) else None
    if not text:
        return True
    return len(text) < SECOND_LOOK_CHARS or len(text) < SECOND_LOOK_SHARE * paragraph_chars


# The blocks a body selector's elements are read by, each a line of the text (sub-headlines,
# list items and quotes are the article's too).
_BLOCKS = XPath(
    ".//*[self::p or self::h2 or self::h3 or self::h4 or self::h5 or self::h6 or self::li"
    " or self::blockquote or self::pre]"
    "[not(ancestor::p or ancestor::li or ancestor::blockquote or ancestor::pre)]"
)


@cache
def css_xpath(selector: str) -> XPath:
    """The compiled XPath of a CSS selector (compiled once per selector)."""
    return XPath(GenericTranslator().css_to_xpath(selector))


@dataclass(slots=True)
class SelectedFields:
    """What a source's selectors found in a page; None where they found nothing."""

    title: str | None = None
    date: str | None = None
    body: str | None = None


def selected(tree: Any, selectors: PageSelectors) -> SelectedFields:
    """What a source's own selectors find in a page (read before trafilatura prunes it)."""
    found = SelectedFields()
    if selectors.title:
        first = next(iter(css_xpath(selectors.title)(tree)), None)
        found.title = " ".join(first.text_content().split()) if first is not None else None
    if selectors.date:
        first = next(iter(css_xpath(selectors.date)(tree)), None)
        if first is not None:
            found.date = first.get("datetime") or first.get("content") or first.text_content()
    if selectors.body:
        lines: list[str] = []
        for element in css_xpath(selectors.body)(tree):
            for junk in element.xpath(".//script | .//style | .//noscript"):
                junk.drop_tree()
            blocks = _BLOCKS(element) or [element]
            lines += [" ".join(b.text_content().split()) for b in blocks]
        found.body = "\n".join(line for line in lines if line) or None
    return found


# The share of a kept line's words that must be inside the element the page declares as its
# article body (itemprop=articleBody) for the line to stay.
DECLARED_BODY_SHARE = 0.9
_WORDS = re.compile(r"\w+")
_DECLARED_BODY = XPath('//*[@itemprop="articleBody"]')


def _declared_body_words(tree: Any) -> tuple[str, set[str]] | None:
    """The text (whitespace collapsed, case-folded) and the words of the page's one
    ``itemprop=articleBody`` element; None without exactly one (or an empty one)."""
    found = _DECLARED_BODY(tree)
    if len(found) != 1:
        return None
    text = " ".join(" ".join(found[0].itertext()).split()).casefold()
    words = set(_WORDS.findall(text))
    return (text, words) if words else None


def _within_declared_body(text: str, declared: tuple[str, set[str]]) -> str:
    """``text`` without the lines the declared article body does not hold (a related-stories
    box, a newsletter sign-up that trafilatura kept beside it); the text as it was when that
    would leave under half of it, so that the article's own paragraphs are never lost to a
    page that declares less than its article. A line found whole in the body is kept at
    once; another by the share of its words in it."""
    body, words = declared
    kept = []
    for line in text.split("\n"):
        if " ".join(line.split()).casefold() in body:
            kept.append(line)
            continue
        tokens = _WORDS.findall(line.casefold())
        if not tokens or sum(t in words for t in tokens) >= DECLARED_BODY_SHARE * len(tokens):
            kept.append(line)
    checked = "\n".join(kept)
    return checked if len(checked) >= 0.5 * len(text) else text


# One parser per process (the extraction workers are single-threaded), so that its error log
# tells what the last page did to it.
_PARSER = lxml_html.HTMLParser()


def _refuse_if_cut(cut: bool) -> None:
    """No article: said by name when the parser stopped short of the page's text."""
    if cut:
        raise PageRefused(
            "too_deep", "its markup nests deeper than 256 levels before any article text"
        )


def extract_article(html: str, options: ExtractionOptions) -> ExtractedArticle | None:
    """Extract the article in ``html``; None when the page has no article text.

    The page is cleaned of escape sequences and control characters before it is parsed, and
    every field after (``crawler.extract.cleaning``): trafilatura discards a text holding a control
    character, and one ``ESC`` in a headline must not cost the article."""
    html = clean_markup(html)
    try:
        tree = lxml_html.document_fromstring(html, parser=_PARSER)
    except (ParserError, XMLSyntaxError, ValueError):
        return None
    # libxml2 stops reading at 256 levels of nesting (100,000 nested elements cost it 0.5 s,
    # not the machine): a page whose text lies deeper gives none, and is refused by name.
    cut = any(error.type_name == "ERR_RESOURCE_LIMIT" for error in _PARSER.error_log)
    # Read before trafilatura runs: it prunes the tree it is given.
    own = selected(tree, options.selectors) if options.selectors else SelectedFields()
    date_candidates = (
        [own.date]
        if own.date and parse_datetime(own.date, options.timezone)
        else list(_published_candidates(tree))
    )
    declared_language = _declared_language(tree)
    h1 = tree.xpath("string(//h1[1])") or None
    declared_body = _declared_body_words(tree) if not own.body and "articleBody" in html else None
    canonical = tree.xpath('string(//link[@rel="canonical"][1]/@href)') or None

    metadata = page_metadata(tree)
    # Several bylines may include the publisher's name: read it while the tree is whole.
    publishers = _publishers(tree) if re.search(_AUTHOR_SEPARATORS, metadata.author or "") else ()
    paragraph_chars = sum(len(p.text_content()) for p in _CONTENT_PARAGRAPHS(tree)) or sum(
        len(p.text_content())
        for p in tree.iter("p")  # every paragraph in a <form> (ASP.NET)
    )
    document = Document(text=own.body) if own.body else _trafilatura(tree, options.url, fast=True)
    if not own.body and _doubtful(document, paragraph_chars):
        # Fast mode skips trafilatura's comparison with readability and jusText, which is a
        # third of its time and rarely changes a news page's result; when the text is short, or
        # much shorter than the page's paragraphs, look again with the comparison on.
        document = _trafilatura(lxml_html.document_fromstring(html), options.url, fast=False)
        if _partial(document, paragraph_chars):
            # Still under half the page's paragraphs: trafilatura's precision bias may have cut
            # the article (it kept an eighth of two real ones); without it, the text is taken
            # if it reads as prose, not as the menu a page without an article gives (a video
            # page's). A short article that is whole keeps its precise text (no date line).
            balanced = _trafilatura(
                lxml_html.document_fromstring(html), options.url, fast=False, precision=False
            )
            if _longer_prose(balanced, document):
                document = balanced
    if not isinstance(document, Document) or not document.text:
        _refuse_if_cut(cut)
        return None
    site_name = clean_line(metadata.sitename)
    title = clean_line(own.title or clean_title(metadata.title, h1, site_name, options.url))
    text = clean_text(strip_read_also(document.text))
    if declared_body is not None:
        text = _within_declared_body(text, declared_body)
    lines = text.split("\n")
    if title and lines and " ".join(lines[0].split()) == title:
        text = "\n".join(lines[1:])
    if len(text) < options.min_text_chars:
        _refuse_if_cut(cut)
        return None

    canonical = clean_line(canonical)
    if canonical:
        canonical = urljoin(options.url, canonical)
    published = find_published(
        date_candidates,
        options.timezone,
        options.listed_published,
        lambda: _page_date(tree, options.url),
    )
    language = declared_language or _detected(text, options.language_hint)
    return ExtractedArticle(
        url=options.url,
        text=text,
        title=title,
        canonical_url=canonical,
        authors=clean_authors(
            clean_lines(_split_list(metadata.author, _AUTHOR_SEPARATORS)),
            site_name,
            options.url,
            publishers,
        ),
        published_at=published,
        language=language,
        description=clean_line(metadata.description),
        site_name=site_name,
        tags=clean_lines(
            _split_list([*(metadata.tags or []), *(metadata.categories or [])], r"[,;]")
        ),
    )
