"""The article's text: trafilatura's main text, from a tree prepared for it (what is never text
removed, embedded posts lifted, split bodies joined, asides dropped), looked at again when it
seems short, and checked against the article body the page declares, when it declares one.
What is done to its kept lines after (read-also links, credits, teasers, the repeated headline)
is in ``crawler.extract.lines``."""

from __future__ import annotations

import json
import re
from typing import Any

import trafilatura
from lxml import html as lxml_html
from lxml.etree import XPath, strip_elements, strip_tags
from trafilatura.metadata import Document

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


# Pages are parsed without their HTML comments, as trafilatura's own loader parses them: in a
# tree that keeps them, trafilatura loses the text after a comment inside a paragraph (React
# pages write "<!-- -->" between every two pieces of text), which cost three corpus pages
# between a quarter and a half of their article.
PARSER_OPTIONS: dict[str, bool] = {"remove_comments": True, "remove_pis": True}
_PARSER = lxml_html.HTMLParser(**PARSER_OPTIONS)


def parse(html: str) -> Any:
    """``html`` as the tree trafilatura is given: without comments, ``prepared``."""
    return prepared(lxml_html.document_fromstring(html, parser=_PARSER))


# Elements whose content is never an article's text and that trafilatura deletes in its own
# cleaning (``trafilatura.settings.MANUALLY_CLEANED``), but only after it has searched the whole
# raw tree with its comment, list and appended-article XPaths (2 ms of a bench/sitegen.py page)
# and copied it: removed here first, with their tails kept, those searches and copies go over
# far fewer elements on a CMS page (a mega-menu in <nav>, inline scripts, styles, SVG icons, a
# site-map footer). Extraction of those pages 7.7 -> 6.1 ms; on the corpus one page changed
# (Focus, 0.948 -> 0.912: its shopping list's items keep the product names after their icons,
# which its truth leaves out with every list). <aside> is not here: one corpus article, which
# trafilatura's fallbacks found inside an <aside>, was lost. Scripts and styles are raw text;
# the other elements are containers, and one that holds an <h1> or an <article> is not a menu
# or an icon but the page inside one (a misnamed wrapper, or a markup error: an unclosed "<?"
# in a menu swallowed a page's article into its <nav>; an unclosed <svg> or <noscript> would
# swallow the rest of the page), and is kept.
RAW_TEXT = ("script", "style")
NEVER_TEXT = ("noscript", "template", "svg", "iframe", "nav", "footer")

# Ruby annotations (the reading of a name in Japanese, "尹錫悦（ユンソンニョル）") are read as
# the page prints them without ruby support: the base, then the reading in the parentheses the
# page's <rp> gives. trafilatura broke a sentence into lines at each one ("韓国の" / "尹錫悦" /
# "大統領は…"), so a phrase across it never matched.
RUBY = ("ruby", "rb", "rt", "rp", "rtc")


# Posts a page embeds (a tweet, an Instagram or TikTok post: a <blockquote> of the network's
# class) are what the article quotes: an official's statement, a witness's video. Their wrappers
# are named for what they are ("social-media-embed"), and trafilatura discards such names as
# share bars, the post with them (NJ.com lost every tweet its article was about).
_EMBEDDED_POST = re.compile(r"\b(?:twitter-tweet|instagram-media|tiktok-embed)\b")
_POST_WRAPPER = re.compile(r"social|embed|share|tweet", re.I)
POST_WRAPPER_LEVELS = 3


def lift_embedded_posts(tree: Any) -> Any:
    """``tree`` with each embedded post moved out of a wrapper named like a share bar (up to
    ``POST_WRAPPER_LEVELS`` above it), to stand where the wrapper stood."""
    for post in list(tree.iter("blockquote")):
        if _EMBEDDED_POST.search(post.get("class") or "") is None:
            continue
        for level, wrapper in enumerate(post.iterancestors()):
            if level == POST_WRAPPER_LEVELS or wrapper.tag in ("body", "article"):
                break
            name = f"{wrapper.get('class') or ''} {wrapper.get('id') or ''}"
            if _POST_WRAPPER.search(name) is not None and wrapper.getparent() is not None:
                wrapper.addprevious(post)
                break
    return tree


def prepared(tree: Any) -> Any:
    """``tree`` without ``RAW_TEXT`` and ``NEVER_TEXT``, with its article body joined and its
    asides dropped, for trafilatura."""
    strip_elements(tree, *RAW_TEXT, with_tail=False)
    for part in list(tree.iter(*NEVER_TEXT)):
        if part.getparent() is not None and next(part.iter("h1", "article"), None) is None:
            part.drop_tree()
    strip_tags(tree, *RUBY)
    return drop_asides(join_split_body(lift_embedded_posts(tree)))


# Boxes beside the article by what the page says they are: the ARIA roles of a sidebar and a
# pop-up (trafilatura drops <aside> and <dialog>, not a <div> or a custom element with their
# role), and the class or id names of a newsletter sign-up, an author's biography, a fact or
# info box and a readers' poll. Their text is never the article's (on the corpus: 7 pages
# better, none worse).
_ASIDE_ROLES = frozenset({"complementary", "dialog", "alertdialog"})
_ASIDE_NAME = re.compile(r"newsletter|author[-_]?bio|(?:fact|info)[-_]?box|poll(?![a-z])", re.I)
_ASIDE_TAGS = frozenset({"div", "section", "aside", "ul", "p"})
# The attribute values, each knowing its element: one XPath over the tree for the roles, one for
# the names, then a look at each value (an XPath testing each element's attributes costs twice
# as much). A name is matched before its element is asked for: most are no box's, and making
# an element's Python object for each of them doubled the cost.
_ROLES = XPath("//@role|//@aria-modal")
_NAMES = XPath(".//@class|.//@id")


def _asides(tree: Any) -> list[Any]:
    found = [
        mark.getparent()
        for mark in _ROLES(tree)
        if (mark in _ASIDE_ROLES if mark.attrname == "role" else mark == "true")
    ]
    # Names inside the page's <article>s when it has some (a CMS's own boxes around them are
    # left to trafilatura, which drops them with the page's frame), else anywhere.
    search = _ASIDE_NAME.search
    for name in [n for scope in list(tree.iter("article")) or [tree] for n in _NAMES(scope)]:
        if search(name) is not None:
            element = name.getparent()
            if element.tag in _ASIDE_TAGS:
                found.append(element)
    return found


def drop_asides(tree: Any) -> Any:
    """``tree`` without the boxes beside its article (``_ASIDE_ROLES``, ``_ASIDE_NAME``); one
    that holds the page's ``<h1>`` is a page's wrapper misnamed, and is kept."""
    for aside in _asides(tree):
        if aside.getparent() is not None and next(aside.iter("h1"), None) is None:
            aside.drop_tree()
    return tree


# A container named like an article's body ("article-body", "article__content", "post_text").
_BODY_CLASS = re.compile(r"(?:article|entry|post|story)(?:-|_|__)?(?:body|content|text)", re.I)
# The parts of a split article body hold this many characters each on average: a live blog's
# entries and a template's one-paragraph sections are smaller, and are left as they are (their
# headings and times stand between them).
SPLIT_PART_CHARS = 500


def join_split_body(tree: Any) -> Any:
    """``tree`` with each article's body in one piece, when the page split it: trafilatura
    reads the first container that looks like an article body, and a page that breaks its
    article into parts (containers of the same tag and class named like a body, inside one
    ``<article>``, ads and embeds between them: Condé Nast's "chunks") lost all but the first
    (half of two corpus articles). The later parts' children are moved to the end of the first,
    in page order; what stood between them stays where it was. A part with its own ``<h1>`` is
    another article's, and one inside a nested ``<article>`` (a teaser) is not this article's:
    neither is joined."""
    for article in tree.iter("article"):
        parts: dict[tuple[str, str], list[Any]] = {}
        for element in article.iter("div", "section"):
            name = element.get("class")
            if (
                name
                and _BODY_CLASS.search(name) is not None
                and next(element.iter("p"), None) is not None
                and next(element.iterancestors("article")) is article
            ):
                parts.setdefault((element.tag, name), []).append(element)
        for first, *rest in parts.values():
            whole = sum(len(part.text_content()) for part in (first, *rest))
            if not rest or whole < SPLIT_PART_CHARS * (1 + len(rest)):
                continue
            for part in rest:
                if next(part.iter("h1"), None) is None and first not in part.iterancestors():
                    first.extend(list(part))
    return tree


def _trafilatura(tree: Any, url: str, *, fast: bool, precision: bool = True) -> Any:
    """The main text only: metadata is read by ``metadata.page_metadata`` (once, and only as far as
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


def main_text(tree: Any, html: str, url: str, declared: str | None = None) -> str | None:
    """The page's main text as trafilatura finds it (its fast mode first, then as far as the
    text seems short); None when it finds none. ``tree`` (``html`` parsed) is pruned by it."""
    paragraph_chars = sum(len(p.text_content()) for p in _CONTENT_PARAGRAPHS(tree)) or sum(
        len(p.text_content())
        for p in tree.iter("p")  # every paragraph in a <form> (ASP.NET)
    )
    document = _trafilatura(prepared(tree), url, fast=True)
    if _doubtful(document, paragraph_chars):
        # Fast mode skips trafilatura's comparison with readability and jusText, which is a
        # third of its time and rarely changes a news page's result; when the text is short, or
        # much shorter than the page's paragraphs, look again with the comparison on.
        document = _trafilatura(parse(html), url, fast=False)
        if _partial(document, paragraph_chars):
            # Still under half the page's paragraphs: trafilatura's precision bias may have cut
            # the article (it kept an eighth of two real ones); without it, the text is taken
            # if it reads as prose, not as the menu a page without an article gives (a video
            # page's). A short article that is whole keeps its precise text (no date line).
            balanced = _trafilatura(parse(html), url, fast=False, precision=False)
            if _longer_prose(balanced, document):
                document = balanced
    text = document.text if isinstance(document, Document) else None
    if declared and text and len(declared) > len(text):
        # The page's own JSON-LD articleBody holds more than was kept: trafilatura's precision
        # bias may have cut whole paragraphs; without it, the text is taken if it holds
        # clearly more of the declared body.
        declared_shingles = _shingles(declared)
        kept = _share_in(declared_shingles, text)
        if declared_shingles and kept < DECLARED_COVER:
            balanced = _trafilatura(parse(html), url, fast=False, precision=False)
            other = balanced.text if isinstance(balanced, Document) else None
            if other and _share_in(declared_shingles, other) >= kept + DECLARED_GAIN:
                text = other
    return text


# Kept text that holds under this share of the 4-word sequences of the page's JSON-LD
# articleBody (longer than it) is looked at again without the precision bias, and the new text
# taken if it holds at least DECLARED_GAIN more of them.
DECLARED_COVER = 0.9
DECLARED_GAIN = 0.05


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORDS.findall(text.casefold())
    return {tuple(words[i : i + 4]) for i in range(len(words) - 3)}


def _share_in(shingles: set[tuple[str, ...]], text: str) -> float:
    return len(shingles & _shingles(text)) / len(shingles)


_JSON_LD = XPath('//script[@type="application/ld+json"]/text()')


def json_ld_body(tree: Any) -> str | None:
    """The longest ``articleBody`` in the page's JSON-LD, as text (markup in it removed); None
    without one."""
    bodies: list[str] = []
    for script in _JSON_LD(tree):
        try:
            stack = [json.loads(script, strict=False)]
        except ValueError:
            continue
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                for key, value in node.items():
                    if key == "articleBody" and isinstance(value, str):
                        bodies.append(value)
                    elif isinstance(value, dict | list):
                        stack.append(value)
    body = max(bodies, key=len, default="")
    if "<" in body:
        body = lxml_html.fragment_fromstring(body, create_parent="div").text_content()
    return body.strip() or None


# The share of a kept line's words that must be inside the element the page declares as its
# article body (itemprop=articleBody) for the line to stay.
DECLARED_BODY_SHARE = 0.9
_WORDS = re.compile(r"\w+")
_DECLARED_BODY = XPath('//*[@itemprop="articleBody"]')


def declared_body_words(tree: Any) -> tuple[str, set[str]] | None:
    """The text (whitespace collapsed, case-folded) and the words of the page's one
    ``itemprop=articleBody`` element; None without exactly one (or an empty one)."""
    found = _DECLARED_BODY(tree)
    if len(found) != 1:
        return None
    text = " ".join(" ".join(found[0].itertext()).split()).casefold()
    words = set(_WORDS.findall(text))
    return (text, words) if words else None


def within_declared_body(text: str, declared: tuple[str, set[str]]) -> str:
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
