"""Watchlist hits marked in an article's whole text, from the hit positions a match stores.

A stored match keeps its hits as word indexes of one field (``Highlights``: ascending starts,
and the width in words where a phrase starts); the words are found in the text as the snippets
find them (``FieldWords.char_starts``), so the page marks exactly what the snippets mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from crawler.watch.results import FIELDS, Highlights
from crawler.watch.tokens import FieldWords


@dataclass(frozen=True, slots=True)
class Piece:
    text: str
    marked: bool


def hit_ranges(words: FieldWords, field: str, hits: dict[str, Any]) -> list[tuple[int, int]]:
    """Character ranges of ``field`` that a stored match's ``hits`` cover; none when the hits
    do not fit the text (another revision's, or a bad record)."""
    try:
        highlights = Highlights.from_dict(hits)
    except (KeyError, TypeError, ValueError, AttributeError):
        return []
    if highlights.field != field or field not in FIELDS or not highlights.starts:
        return []
    raw = words.raw[field]
    count = len(raw)
    if highlights.words and highlights.words != count:
        return []
    if highlights.starts[0] < 0 or highlights.starts[-1] >= count:
        return []
    widths = dict(highlights.widths)
    if any(not w or w[0] < 1 or start + w[-1] > count for start, w in widths.items()):
        return []
    chars = words.char_starts(
        field, highlights.starts[-1] + max(widths.get(highlights.starts[-1], (1,))) - 1
    )
    ranges = []
    for start in highlights.starts:
        last = start + widths.get(start, (1,))[-1] - 1
        ranges.append((chars[start], chars[last] + len(raw[last])))
    return ranges


def merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def pieces(text: str, ranges: Sequence[tuple[int, int]]) -> list[Piece]:
    """``text`` cut into plain and marked pieces at ``ranges`` (merged, ascending)."""
    out: list[Piece] = []
    position = 0
    for start, end in ranges:
        if start > position:
            out.append(Piece(text[position:start], False))
        out.append(Piece(text[start:end], True))
        position = end
    if position < len(text):
        out.append(Piece(text[position:], False))
    return out


def paragraphs(text: str, ranges: Sequence[tuple[int, int]]) -> list[list[Piece]]:
    """The text's paragraphs (its lines), each as plain and marked pieces."""
    result: list[list[Piece]] = []
    offset = 0
    ranges = merge(ranges)
    for line in text.split("\n"):
        end = offset + len(line)
        inside = [
            (max(a, offset) - offset, min(b, end) - offset)
            for a, b in ranges
            if a < end and b > offset
        ]
        if line.strip():
            result.append(pieces(line, inside))
        offset = end + 1
    return result


def snippet_pieces(snippet: dict[str, Any]) -> list[Piece]:
    """A snippet (``{"text", "highlights"}``) as plain and marked pieces."""
    text = str(snippet.get("text", ""))
    ranges = [(int(a), int(b)) for a, b in snippet.get("highlights", [])]
    return pieces(text, merge(r for r in ranges if 0 <= r[0] < r[1] <= len(text)))
