"""Snippets (the windows of an article's text around a watchlist's hits, best first, for
digests, the web view and `presswatch match`), and the match that carries them."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from crawler.watch.results import FIELDS, Highlights, Snippet, TermMatch
from crawler.watch.tokens import ArticleText, FieldWords

SNIPPET_WORDS = 30


MAX_SNIPPETS = 3


def snippets(
    article: FieldWords, highlights: Highlights, limit: int = MAX_SNIPPETS
) -> tuple[Snippet, ...]:
    snippets = article.shared_snippets.get(highlights)
    if snippets is not None:
        return snippets[:limit]
    snippets = _make_snippets(
        article, highlights.field, list(highlights.starts), dict(highlights.widths), limit
    )
    if limit >= MAX_SNIPPETS:
        article.shared_snippets[highlights] = snippets
    return snippets


def snippets_of(match: Any, article: Any, limit: int = MAX_SNIPPETS) -> list[dict[str, object]]:
    """The snippets of a stored match (a ``WatchMatch`` row) of ``article`` (its ``Article``
    row): cut from the article's text at the match's hits; those of a match stored with its
    snippets (before schema revision 0007), as stored. None for hits in an earlier text than
    the article's (a match no watchlist refreshes any more, of an article revised since)."""
    if match.hits is None:
        return list(match.snippets or [])[:limit]
    if match.article_revision != article.revision:
        return []
    return stored_snippets(article.title, article.text, match.hits, limit)


def stored_snippets(
    title: str | None, text: str, hits: dict[str, Any], limit: int = MAX_SNIPPETS
) -> list[dict[str, object]]:
    """The snippets of a stored match (``Highlights.as_dict``), cut from the text it was found
    in. None when the hits do not fit the text (another text than the one matched, or a bad
    record): no snippet rather than wrong highlights."""
    try:
        highlights = Highlights.from_dict(hits)
    except (KeyError, TypeError, ValueError, AttributeError):
        return []
    if highlights.field not in FIELDS or not highlights.starts:
        return []
    article = FieldWords(title or "", text or "")
    count = len(article.raw[highlights.field])
    if highlights.words and highlights.words != count:
        return []
    if highlights.starts[0] < 0 or highlights.starts[-1] >= count:
        return []
    if any(not w or w[0] < 1 or start + w[-1] > count for start, w in highlights.widths):
        return []
    return [snippet.as_dict() for snippet in snippets(article, highlights, limit)]


def _best_window(starts: list[int]) -> int:
    """The first word of the window, anchored a third of its width before a hit, that covers
    the most hits (the first such), given the hits' ascending ``starts``. Window starts only
    grow along them, so two cursors find each count."""
    lead = SNIPPET_WORDS // 3
    best_start, best_cover = 0, -1
    first = last = 0
    total = len(starts)
    for hit in starts:
        start = hit - lead if hit > lead else 0
        while starts[first] < start:
            first += 1
        stop = start + SNIPPET_WORDS
        while last < total and starts[last] < stop:
            last += 1
        if last - first > best_cover:
            best_start, best_cover = start, last - first
    return best_start


def _make_snippets(
    article: FieldWords,
    chosen: str,
    pending: list[int],
    widths: dict[int, tuple[int, ...]],
    limit: int = MAX_SNIPPETS,
) -> tuple[Snippet, ...]:
    """Up to ``limit`` windows of SNIPPET_WORDS words, each covering the most hits not yet
    shown, given the hits' ascending starts in the ``chosen`` field (and, where phrases start,
    the widths of the hits starting there, ascending: the longest that fits is shown)."""
    words = article.raw[chosen]
    count = len(words)
    text = article.text[chosen]
    snippets: list[Snippet] = []
    while pending and len(snippets) < limit:
        best_start = _best_window(pending)
        end = min(count, best_start + SNIPPET_WORDS)
        first, last = bisect_left(pending, best_start), bisect_left(pending, end)
        inside = pending[first:last]
        shown: dict[int, int] = {}  # the width shown where a phrase starts
        if widths:
            for start in inside:
                fitting = [w for w in widths.get(start, (1,)) if start + w <= end]
                if fitting:
                    shown[start] = fitting[-1]
            inside = [start for start in inside if start in shown]
        if not inside:  # a hit longer than a window
            inside = [pending[0]]
            shown[pending[0]] = widths.get(pending[0], (1,))[-1]
            best_start, end = pending[0], min(count, pending[0] + shown[pending[0]])
        chars = article.char_starts(chosen, end - 1)
        lo, hi = chars[best_start], chars[end - 1] + len(words[end - 1])
        prefix = "…" if lo > 0 else ""
        suffix = "…" if hi < len(text) else ""
        body = text[lo:hi].replace("\n", " ")  # same length: offsets stay true
        shift = len(prefix) - lo
        # In order, and overlapping hits ("Nagorno-Karabakh" and "Karabakh") as one.
        merged: list[list[int]] = []
        for start in inside:
            stop = start + shown[start] - 1 if widths else start
            left, right = chars[start] + shift, chars[stop] + len(words[stop]) + shift
            if merged and left <= merged[-1][1]:
                if right > merged[-1][1]:
                    merged[-1][1] = right
            else:
                merged.append([left, right])
        snippets.append(Snippet(prefix + body + suffix, tuple((a, b) for a, b in merged)))
        if len(inside) == last - first:
            pending = pending[:first] + pending[last:]
        else:
            done = set(inside)
            pending = [start for start in pending if start not in done]
    return tuple(snippets)


@dataclass(frozen=True, slots=True)
class Match:
    watchlist: str
    terms: tuple[TermMatch, ...]
    score: float
    highlights: Highlights
    article: ArticleText = field(repr=False, compare=False)

    @property
    def snippets(self) -> tuple[Snippet, ...]:
        """Cut on first use (and shared by the article's matches with the same hits)."""
        return snippets(self.article, self.highlights)

    def as_dict(self) -> dict[str, object]:
        return {
            "watchlist": self.watchlist,
            "terms": [
                {"term": t.term, "count": t.count, "where": list(t.where)} for t in self.terms
            ],
            "score": self.score,
            "snippets": [s.as_dict() for s in self.snippets],
        }
