"""Text normalisation and tokenisation shared by queries and articles.

Every word is kept in two forms: ``exact`` (NFKC, case-folded, Turkish dotted/dotless i unified)
and ``plain`` (``exact`` without diacritics on Latin, Greek and Arabic letters). Queries match
``plain`` forms, so "Dağlıq Qarabağ" finds "Daglig Qarabag" and the reverse; a quoted query term
written with diacritics matches ``exact`` forms, so a watcher can ask for "Dağlıq" and only that.
Cyrillic and Armenian letters keep their marks (й is not и), except ё, which Russian writers
commonly print as е.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Letters joined by these inside a word are still one word for Unicode (\w excludes them), so
# "Nagorno-Karabakh", "Nagorno–Karabakh" and "Nagorno Karabakh" all become two tokens.
# Combining marks are not \w, but belong to the word they sit on (i + dot above, Arabic harakat).
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
_LETTERS = rf"[^\W_][^\W_{_MARKS}]*(?:[{_MARKS}]+[^\W_]*)*"
WORD = re.compile(rf"{_LETTERS}(?:['’]{_LETTERS})*", re.UNICODE)
# The same words, captured only up to an apostrophe: before a suffix (Turkish "Karabağ'da") it
# ends the word for matching, and the suffix is skipped, not a word of its own. Written for
# speed, matching the same: a run of letters and marks that starts with a letter (two Arabic
# marks are letters too, which _LETTERS admits by either class), possessively, since nothing
# after a run could make a shorter one match; possessive runs spare the regex engine its
# backtracking records, a fifth of the time of tokenising an article.
_RUN = rf"[^\W_]++(?:[{_MARKS}]++[^\W_]*+)*+"
WORD_HEAD = re.compile(rf"({_RUN})(?:['’]{_RUN})*+", re.UNICODE)
_STRIPPABLE_SCRIPTS = ("LATIN", "GREEK", "ARABIC")
_SPECIAL = {"ـ": ""}  # Arabic tatweel, a stretching stroke


@lru_cache(maxsize=200_000)
def exact_form(word: str) -> str:
    folded = unicodedata.normalize("NFKC", word).casefold()
    # Turkish İ case-folds to i + combining dot; the dot carries no meaning for matching.
    folded = folded.replace("i\u0307", "i").replace("ı", "i")
    return folded


@lru_cache(maxsize=200_000)
def plain_form(word: str) -> str:
    out: list[str] = []
    for char in unicodedata.normalize("NFD", exact_form(word).replace("ё", "е")):
        if unicodedata.combining(char):
            base = out[-1] if out else ""
            name = unicodedata.name(base, "") if base else ""
            if name.startswith(_STRIPPABLE_SCRIPTS):
                continue
        out.append(_SPECIAL.get(char, char))
    return unicodedata.normalize("NFC", "".join(out))


def has_diacritics(word: str) -> bool:
    return plain_form(word) != exact_form(word)


@dataclass(frozen=True, slots=True)
class Token:
    exact: str
    plain: str
    start: int  # character offsets in the source text
    end: int


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in WORD.finditer(text):
        word = match.group().replace("’", "'")
        # An apostrophe before a suffix (Turkish "Karabağ'da") ends the word for matching.
        head = word.split("'", 1)[0]
        tokens.append(
            Token(exact_form(head), plain_form(head), match.start(), match.start() + len(head))
        )
    return tokens
