"""What is dropped from the lines trafilatura kept: inline "read also" links, editor and picture
credits and notices, teasers of other stories and captions (read from the page), and the
headline repeated atop the text. Each keeps every sentence of the article."""

from __future__ import annotations

import re
from typing import Any

from lxml.etree import XPath

_WORDS = re.compile(r"\w+")

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
        "Related post",
        "Related posts",
        "See more",
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
    "nl": ("Lees ook", "Lees meer"),
    "it": ("Leggi anche", "Leggi pure"),
    "no": ("Les også", "Les mer", "Se også"),
    "da": ("Læs også", "Læs mere", "Se også"),
    "sv": ("Läs också", "Läs mer", "Se även"),
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
# A picture's credit standing as a line of its own ("Photo: AFP", "Image: Phando Jikelo/…",
# "Fotos: …", "写真：共同"): it names who took a picture the text does not hold.
PICTURE_LABELS = (
    "photo",
    "photos",
    "image",
    "images",
    "picture",
    "foto",
    "fotos",
    "bild",
    "bilder",
    "billede",
    "bilde",
    "imagen",
    "imagem",
    "immagine",
    "fotoğraf",
    "фото",
    "写真",
    "صورة",
    "عکس",
)
_PICTURE_CREDIT_LINE = re.compile(
    rf"^(?:{'|'.join(PICTURE_LABELS)})(?:\s+credit)?\s*[:：]\s*\S.{{0,80}}$", re.IGNORECASE
)


def strip_read_also(text: str) -> str:
    """Remove inline "read also" links, editor and picture credits and notices; keep every
    sentence of the article."""
    lines = []
    for line in text.split("\n"):
        line = _INLINE_READ_ALSO.sub("", line).strip()
        if (
            not line
            or _LINE_READ_ALSO.match(line)
            or _CREDIT_LINE.match(line)
            or _NOTICE_LINE.match(line)
            or _PICTURE_CREDIT_LINE.match(line)
        ):
            continue
        lines.append(line)
    return "\n".join(lines)


# Other stories' teasers as cards: a link around a block of text, a paragraph or a heading (HTML5
# lets a link hold blocks; an article's own paragraphs are never inside one); and captions
# (<figcaption>, or "caption" in a class name), which describe a picture, not the story. Read
# from the tree trafilatura was given, without the page's scripts, menus and icons, where the
# search over every class costs about 0.05 ms a page.
_CARD_BLOCKS = XPath(
    "//a/descendant::*[self::p or self::h1 or self::h2 or self::h3 or self::h4]"
    "|//figcaption|//*[contains(@class, 'caption')]"
)


def card_texts(tree: Any) -> frozenset[str]:
    """The texts (their words, case-folded) of the paragraphs and headings inside links (teasers
    of other stories) and of the whole of each such link, and of captions. trafilatura's kept
    lines that are one of them are dropped after it ran (``without_cards``), which leaves its
    choice of the article's container as it was (dropping the cards from the tree made it
    choose another on a page whose article is split around a related-stories box)."""
    texts = set()
    links = set()
    for block in _CARD_BLOCKS(tree):
        texts.add(_line_key(block.text_content()))
        link = next(block.iterancestors("a"), None)
        if link is not None:
            links.add(link)
    # A card kept as one line (a list item's) holds all of its link's text.
    texts.update(_line_key(" ".join(link.itertext())) for link in links)
    return frozenset(texts - {""})


def _line_key(text: str) -> str:
    """A line's words, case-folded: the same for a line however its page spaced or punctuated it
    (zero-width joiners, curly quotes)."""
    return " ".join(_WORDS.findall(text.casefold()))


def without_cards(text: str, cards: frozenset[str]) -> str:
    """``text`` without the lines that are teasers of other stories or captions
    (``card_texts``)."""
    if not cards:
        return text
    return "\n".join(line for line in text.split("\n") if _line_key(line) not in cards)


# The headline repeated at the top of the text is looked for in its first lines, with what a
# page prints above it: a kicker (a section or topic label) of a few words, on its line or
# before the headline on the same line.
HEADLINE_LINES = 3
KICKER_WORDS = 5


def without_headline(text: str, title: str | None) -> str:
    """``text`` without the page's headline (``title``) where it repeats it on one of its first
    lines, and without the kicker above or before it; compared word by word, so a curly
    apostrophe or a dash in one and not the other makes no difference."""
    if not title:
        return text
    headline = _WORDS.findall(title.casefold())
    if not headline:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines[:HEADLINE_LINES]):
        words = _WORDS.findall(line.casefold())
        extra = len(words) - len(headline)
        if 0 <= extra <= KICKER_WORDS and words[extra:] == headline:
            above = lines[:index]
            if all(len(_WORDS.findall(kicker)) <= KICKER_WORDS for kicker in above):
                return "\n".join(lines[index + 1 :])
            return "\n".join(above + lines[index + 1 :])
        if len(words) > KICKER_WORDS:
            break
    return text
