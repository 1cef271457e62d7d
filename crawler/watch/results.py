"""What matching an article against a watchlist gives: each term's hits and where the snippets
around them are cut."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TypeAlias

from crawler.watch.query import Term

FIELDS = ("title", "body")


# A matching article's occurrences of the terms that make it match: per term, per field where
# there are any, the distinct token indexes where it starts (it spans as many words as it has).
Hits: TypeAlias = dict[Term, dict[str, Collection[int]]]


@dataclass(frozen=True, slots=True)
class TermMatch:
    term: str
    count: int
    where: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...]  # character offsets into ``text``

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "highlights": [list(h) for h in self.highlights]}


@dataclass(frozen=True, slots=True)
class Highlights:
    """Where a match's snippets are cut, in word indexes of one field (``split_words``): the
    ascending ``starts`` of its hits and, where a phrase starts, the ascending widths (in words)
    of the hits starting there. This is what a stored match keeps: its snippets are cut from the
    article's text when they are shown, not by the crawl for every match it stores."""

    field: str
    starts: tuple[int, ...]
    widths: tuple[tuple[int, tuple[int, ...]], ...] = ()
    # How many words the field had: stored hits are shown only on the text they were found in.
    words: int = 0

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "field": self.field,
            "starts": list(self.starts),
            "words": self.words,
        }
        if self.widths:
            data["widths"] = [[start, list(w)] for start, w in self.widths]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Highlights:
        return cls(
            str(data["field"]),
            tuple(sorted({int(i) for i in data["starts"]})),
            tuple(
                sorted(
                    (int(start), tuple(sorted(map(int, w))))
                    for start, w in data.get("widths") or ()
                )
            ),
            int(data.get("words") or 0),
        )
