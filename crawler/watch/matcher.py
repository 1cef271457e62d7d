"""Matching watchlists against articles, fast with many watchlists.

All terms of all watchlists are compiled once into hash indexes keyed by word, by stem (per
language) and by prefix. An article is tokenised once; each distinct word looks itself up in
those indexes, which yields the few watchlists that could match; only those are evaluated. The
cost per article grows with its number of distinct words, not with the number of watchlists,
and word boundaries come for free ("war" never matches "award"), which a character automaton
such as Aho-Corasick would have to check after the fact.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from crawler.watch.query import And, Field, Near, Node, Not, Or, QueryError, Term, parse_query
from crawler.watch.stemming import MIN_PREFIX_RULE_LENGTH, PREFIX_SLACK, stemmer, suffixing
from crawler.watch.text import WORD, exact_form, plain_form

FIELDS = ("title", "body")
SNIPPET_WORDS = 30
MAX_SNIPPETS = 3


class Hit(NamedTuple):
    """A term's occurrence (a tuple: cheap to make, hash and compare by the thousand)."""

    field: str
    start: int  # token index, inclusive
    end: int  # token index, exclusive


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
class Match:
    watchlist: str
    terms: tuple[TermMatch, ...]
    score: float
    snippets: tuple[Snippet, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "watchlist": self.watchlist,
            "terms": [
                {"term": t.term, "count": t.count, "where": list(t.where)} for t in self.terms
            ],
            "score": self.score,
            "snippets": [s.as_dict() for s in self.snippets],
        }


def requires_a_term(node: Node) -> bool:
    """Whether every article the query matches must contain one of its (non-negated) terms."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, Field):
        return requires_a_term(node.child)
    if isinstance(node, And):
        return any(requires_a_term(c) for c in node.children)
    if isinstance(node, Or):
        return all(requires_a_term(c) for c in node.children)
    return False


def compile_query(query: str) -> Node:
    """Parse a watchlist query, refusing one that could match articles mentioning none of its
    terms (it would flag nearly everything)."""
    node = parse_query(query)
    if not requires_a_term(node):
        raise QueryError(
            1,
            "this query matches articles that mention none of its terms: "
            "pair each NOT with a term, as in `a AND NOT b`",
        )
    return node


# -- one article ----------------------------------------------------------------------------


@lru_cache(maxsize=500_000)
def _forms(word: str) -> tuple[str, str]:
    return exact_form(word), plain_form(word)


@lru_cache(maxsize=200_000)
def _stem(language: str | None, word: str) -> str | None:
    stem = stemmer(language)
    return stem.stemWord(word) if stem is not None else None


def split_words(text: str) -> list[str]:
    # An apostrophe before a suffix (Turkish "Karabağ'da") ends the word for matching.
    return [w.split("'", 1)[0] for w in WORD.findall(text.replace("’", "'"))]


class ArticleText:
    """An article's title and body, tokenised once. Presence checks use word sets; positions
    and character offsets are built only for the watchlists that match."""

    def __init__(self, title: str, body: str, language: str | None) -> None:
        self.text = {"title": title or "", "body": body or ""}
        self.language = (language or "").lower() or None
        self.suffixing = suffixing(self.language)
        self.exact: dict[str, list[str]] = {}
        self.plain: dict[str, list[str]] = {}
        self.raw: dict[str, list[str]] = {}
        for name in FIELDS:
            self.raw[name] = split_words(self.text[name])
            forms = [_forms(w) for w in self.raw[name]]
            self.exact[name] = [f[0] for f in forms]
            self.plain[name] = [f[1] for f in forms]
        self.plain_set = {name: set(self.plain[name]) for name in FIELDS}
        self.exact_set = {name: set(self.exact[name]) for name in FIELDS}
        self.distinct_plain = self.plain_set["title"] | self.plain_set["body"]
        self.distinct_exact = self.exact_set["title"] | self.exact_set["body"]
        stem = stemmer(self.language)
        words = list(self.distinct_plain)
        self.stem_of: dict[str, str] = (
            dict(zip(words, stem.stemWords(words), strict=True)) if (stem is not None) else {}
        )
        self.stem_set = {
            name: {self.stem_of[w] for w in self.plain_set[name]} if self.stem_of else set()
            for name in FIELDS
        }
        self._sorted: dict[str, list[str]] = {}
        self._positions: dict[tuple[str, str, str], list[int]] = {}
        self._by_stem: dict[str, list[str]] = {}
        self._offsets: dict[str, list[tuple[int, int]]] = {}
        self._folded: dict[str, str] = {}

    # presence (fast) --------------------------------------------------------------------------

    def _starting(self, name: str, prefix: str) -> Iterator[str]:
        if name not in self._sorted:
            self._sorted[name] = sorted(self.plain_set[name])
        words = self._sorted[name]
        i = bisect.bisect_left(words, prefix)
        while i < len(words) and words[i].startswith(prefix):
            yield words[i]
            i += 1

    def has_word(self, name: str, word: str, *, exact: bool, inflect: bool) -> bool:
        if word in (self.exact_set if exact else self.plain_set)[name]:
            return True
        if not inflect:
            return False
        stem = _stem(self.language, word)
        if stem is not None and stem in self.stem_set[name]:
            return True
        if self.suffixing and len(word) >= MIN_PREFIX_RULE_LENGTH:
            return any(len(o) - len(word) <= PREFIX_SLACK for o in self._starting(name, word))
        return False

    def has_prefix(self, name: str, prefix: str) -> bool:
        return next(self._starting(name, prefix), None) is not None

    # positions (for matches) ----------------------------------------------------------------

    def _where(self, name: str, kind: str, word: str) -> list[int]:
        """Token indexes of ``word`` among the ``kind`` forms of a field: a scan at C speed
        with ``list.index``, cheaper than indexing every word of an article that matches."""
        key = (name, kind, word)
        found = self._positions.get(key)
        if found is None:
            values = self.exact[name] if kind == "exact" else self.plain[name]
            found = []
            i = -1
            try:
                while True:
                    i = values.index(word, i + 1)
                    found.append(i)
            except ValueError:
                pass
            self._positions[key] = found
        return found

    def _stemmed(self, name: str, stem: str) -> Iterator[str]:
        """The distinct plain words of a field whose stem is ``stem``."""
        if not self._by_stem:
            for word, word_stem in self.stem_of.items():
                self._by_stem.setdefault(word_stem, []).append(word)
        return (w for w in self._by_stem.get(stem, ()) if w in self.plain_set[name])

    def word_positions(self, name: str, word: str, *, exact: bool, inflect: bool) -> set[int]:
        found = set(self._where(name, "exact" if exact else "plain", word))
        if not inflect:
            return found
        stem = _stem(self.language, word)
        if stem is not None and self.stem_of:
            for other in self._stemmed(name, stem):
                found.update(self._where(name, "plain", other))
        if self.suffixing and len(word) >= MIN_PREFIX_RULE_LENGTH:
            for other in self._starting(name, word):
                if len(other) - len(word) <= PREFIX_SLACK:
                    found.update(self._where(name, "plain", other))
        return found

    def prefix_positions(self, name: str, prefix: str) -> set[int]:
        return {
            i for word in self._starting(name, prefix) for i in self._where(name, "plain", word)
        }

    def offsets(self, name: str, index: int) -> list[tuple[int, int]]:
        """Character offsets of the words of a field, at least up to word ``index``, found
        lazily: the words occur in order, so each is searched after the previous one (a fast C
        scan), only as far as the snippets need."""
        spans = self._offsets.setdefault(name, [])
        if index >= len(spans):
            text = self._folded.get(name)
            if text is None:
                text = self._folded[name] = self.text[name].replace("’", "'")
            raw = self.raw[name]
            position = spans[-1][1] if spans else 0
            for word in raw[len(spans) : index + 1]:
                start = text.find(word, position)
                position = start + len(word)
                spans.append((start, position))
        return spans

    def term_hits(self, term: Term, name: str) -> list[Hit]:
        inflect = not term.quoted and not term.prefix
        last = len(term.words) - 1
        positions = []
        for k, word in enumerate(term.words):
            if term.prefix and k == last:
                positions.append(self.prefix_positions(name, word))
            else:
                positions.append(self.word_positions(name, word, exact=term.exact, inflect=inflect))
        first, rest = positions[0], positions[1:]
        return [
            Hit(name, i, i + len(term.words))
            for i in sorted(first)
            if all(i + k + 1 in p for k, p in enumerate(rest))
        ]


# -- evaluation -----------------------------------------------------------------------------


class _Evaluator:
    """Decides matches with presence checks first; positions only for what matched."""

    def __init__(self, article: ArticleText) -> None:
        self.article = article
        # Keyed by id(): the matcher interns equal terms into one object.
        self._present: dict[tuple[int, str], bool] = {}
        self._hits: dict[tuple[int, str], list[Hit]] = {}

    def hits(self, term: Term, fields: Sequence[str]) -> list[Hit]:
        out: list[Hit] = []
        for name in fields:
            key = (id(term), name)
            if key not in self._hits:
                self._hits[key] = self.article.term_hits(term, name)
            out.extend(self._hits[key])
        return out

    def _term_present(self, term: Term, name: str) -> bool:
        key = (id(term), name)
        if key not in self._present:
            a = self.article
            inflect = not term.quoted and not term.prefix
            last = len(term.words) - 1
            present = all(
                a.has_prefix(name, w)
                if term.prefix and k == last
                else a.has_word(name, w, exact=term.exact, inflect=inflect)
                for k, w in enumerate(term.words)
            )
            if present and len(term.words) > 1:
                present = bool(self.hits(term, (name,)))
            self._present[key] = present
        return self._present[key]

    def _near_hits(self, node: Near, fields: Sequence[str]) -> tuple[list[Hit], list[Hit]]:
        used_left: dict[Hit, None] = {}
        used_right: dict[Hit, None] = {}
        for a in self.hits(node.left, fields):
            for b in self.hits(node.right, fields):
                # Distance in words between the two terms' nearest words: 1 when adjacent.
                distance = b.start - a.end + 1 if b.start >= a.end else a.start - b.end + 1
                if a.field == b.field and distance <= node.distance:
                    used_left[a] = None
                    used_right[b] = None
        return list(used_left), list(used_right)

    def matches(self, node: Node, fields: Sequence[str] = FIELDS) -> bool:
        if isinstance(node, Term):
            return any(self._term_present(node, name) for name in fields)
        if isinstance(node, Field):
            return self.matches(node.child, (node.name,))
        if isinstance(node, Not):
            return not self.matches(node.child, fields)
        if isinstance(node, And):
            return all(self.matches(c, fields) for c in node.children)
        if isinstance(node, Or):
            return any(self.matches(c, fields) for c in node.children)
        if not (self.matches(node.left, fields) and self.matches(node.right, fields)):
            return False
        return bool(self._near_hits(node, fields)[0])

    def collect(
        self, node: Node, out: dict[Term, dict[Hit, None]], fields: Sequence[str] = FIELDS
    ) -> None:
        """The hits of the terms that make a matching ``node`` match (dicts as ordered sets)."""
        if isinstance(node, Term):
            out.setdefault(node, {}).update(dict.fromkeys(self.hits(node, fields)))
        elif isinstance(node, Field):
            self.collect(node.child, out, (node.name,))
        elif isinstance(node, And | Or):
            for child in node.children:
                if not isinstance(child, Not) and self.matches(child, fields):
                    self.collect(child, out, fields)
        elif isinstance(node, Near):
            left, right = self._near_hits(node, fields)
            out.setdefault(node.left, {}).update(dict.fromkeys(left))
            out.setdefault(node.right, {}).update(dict.fromkeys(right))


# -- results --------------------------------------------------------------------------------


def _snippets(article: ArticleText, hits: Iterable[Hit]) -> tuple[Snippet, ...]:
    chosen = "body" if any(h.field == "body" for h in hits) else "title"
    pending = sorted({h for h in hits if h.field == chosen}, key=lambda h: (h.start, h.end))
    count = len(article.raw[chosen])
    text = article.text[chosen]
    snippets: list[Snippet] = []
    while pending and len(snippets) < MAX_SNIPPETS:
        starts = [h.start for h in pending]
        # The window (anchored a third of its width before a hit) that covers most hits:
        # window starts only grow along ``pending``, so two cursors find each count.
        best_start, best_cover = 0, -1
        first = last = 0
        for hit in pending:
            start = max(0, hit.start - SNIPPET_WORDS // 3)
            while starts[first] < start:
                first += 1
            while last < len(starts) and starts[last] < start + SNIPPET_WORDS:
                last += 1
            if last - first > best_cover:
                best_start, best_cover = start, last - first
        end = min(count, best_start + SNIPPET_WORDS)
        inside = [h for h in pending if h.start >= best_start and h.end <= end]
        if not inside:  # a hit longer than a window
            inside = [pending[0]]
            best_start, end = inside[0].start, inside[0].end
        offsets = article.offsets(chosen, end - 1)
        lo, hi = offsets[best_start][0], offsets[end - 1][1]
        prefix = "…" if lo > 0 else ""
        suffix = "…" if hi < len(text) else ""
        body = text[lo:hi].replace("\n", " ")  # same length: offsets stay true
        spans = sorted(
            (len(prefix) + offsets[h.start][0] - lo, len(prefix) + offsets[h.end - 1][1] - lo)
            for h in inside
        )
        # Overlapping hits ("Nagorno-Karabakh" and "Karabakh") become one highlight.
        merged: list[tuple[int, int]] = []
        for start, stop in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
            else:
                merged.append((start, stop))
        highlights = tuple(merged)
        snippets.append(Snippet(prefix + body + suffix, highlights))
        taken = set(inside)
        pending = [h for h in pending if h not in taken]
    return tuple(snippets)


def _result(name: str, article: ArticleText, hits: dict[Term, list[Hit]]) -> Match:
    terms = []
    score = 0.0
    for term, term_hits in hits.items():
        where = tuple(f for f in FIELDS if any(h.field == f for h in term_hits))
        terms.append(TermMatch(term.text, len(term_hits), where))
        body_count = sum(1 for h in term_hits if h.field == "body")
        score += (2.0 if "title" in where else 0.0) + math.log2(1 + body_count)
    all_hits = [h for term_hits in hits.values() for h in term_hits]
    return Match(name, tuple(terms), round(score, 3), _snippets(article, all_hits))


@dataclass(frozen=True, slots=True)
class WatchlistQuery:
    name: str
    query: str
    languages: tuple[str, ...] = ()


def triggers(node: Node) -> list[Term] | None:
    """Terms one of which every article the query matches must contain: for AND, those of its
    most selective part. None when no such list exists (a bare NOT)."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Near):
        return [min((node.left, node.right), key=lambda t: -max(len(w) for w in t.words))]
    if isinstance(node, Field):
        return triggers(node.child)
    if isinstance(node, Not):
        return None
    options = [triggers(c) for c in node.children]
    if isinstance(node, Or):
        if any(o is None for o in options):
            return None
        return [t for o in options if o is not None for t in o]
    usable = [o for o in options if o]
    if not usable:
        return None
    # Fewest terms first; then the longest words, which are the rarest.
    return min(usable, key=lambda o: (len(o), -min(max(len(w) for w in t.words) for t in o)))


def _intern(node: Node, table: dict[Term, Term]) -> Node:
    """The same tree with equal terms replaced by one shared object."""
    if isinstance(node, Term):
        return table.setdefault(node, node)
    if isinstance(node, Near):
        left, right = _intern(node.left, table), _intern(node.right, table)
        assert isinstance(left, Term) and isinstance(right, Term)
        return Near(left, right, node.distance)
    if isinstance(node, Field):
        return Field(node.name, _intern(node.child, table))
    if isinstance(node, Not):
        return Not(_intern(node.child, table))
    children = tuple(_intern(c, table) for c in node.children)
    return And(children) if isinstance(node, And) else Or(children)


class Matcher:
    """Every watchlist compiled once; ``match`` returns the watchlists an article matches."""

    def __init__(self, watchlists: Sequence[WatchlistQuery]) -> None:
        self.watchlists = list(watchlists)
        interned: dict[Term, Term] = {}
        self.nodes = [_intern(compile_query(w.query), interned) for w in self.watchlists]
        self._by_plain: dict[str, set[int]] = defaultdict(set)
        self._by_exact: dict[str, set[int]] = defaultdict(set)
        self._by_prefix: dict[str, set[int]] = defaultdict(set)
        self._inflected: dict[str, set[int]] = defaultdict(set)
        for index, node in enumerate(self.nodes):
            for term in triggers(node) or []:
                if term.prefix and len(term.words) == 1:
                    self._by_prefix[term.words[0]].add(index)
                    continue
                words = term.words[:-1] if term.prefix else term.words
                key = max(words, key=len)
                (self._by_exact if term.exact else self._by_plain)[key].add(index)
                if not term.quoted and not term.prefix:
                    self._inflected[key].add(index)
        self._prefix_lengths = sorted({len(p) for p in self._by_prefix})
        self._by_stem: dict[str, dict[str, set[int]]] = {}

    def _stems(self, language: str | None) -> dict[str, set[int]]:
        key = language or ""
        if key not in self._by_stem:
            table: dict[str, set[int]] = defaultdict(set)
            for word, indexes in self._inflected.items():
                stem = _stem(language, word)
                if stem is not None:
                    table[stem] |= indexes
            self._by_stem[key] = dict(table)
        return self._by_stem[key]

    def candidates(self, article: ArticleText) -> set[int]:
        found: set[int] = set()
        by_plain, by_exact = self._by_plain, self._by_exact
        for word in article.distinct_plain:
            if word in by_plain:
                found |= by_plain[word]
        if by_exact:
            for word in article.distinct_exact:
                if word in by_exact:
                    found |= by_exact[word]
        if self._by_prefix:
            for word in article.distinct_plain:
                for length in self._prefix_lengths:
                    if length > len(word):
                        break
                    hit = self._by_prefix.get(word[:length])
                    if hit:
                        found |= hit
        if self._inflected:
            stems = self._stems(article.language)
            if stems:
                for stem in set(article.stem_of.values()):
                    if stem in stems:
                        found |= stems[stem]
            if article.suffixing:
                for word in article.distinct_plain:
                    for length in range(
                        max(MIN_PREFIX_RULE_LENGTH, len(word) - PREFIX_SLACK), len(word)
                    ):
                        hit = self._inflected.get(word[:length])
                        if hit:
                            found |= hit
        return found

    def match(self, title: str, body: str, language: str | None) -> list[Match]:
        return self.match_article(ArticleText(title, body, language))

    def match_article(self, article: ArticleText) -> list[Match]:
        language = article.language
        evaluator = _Evaluator(article)
        matches = []
        for index in sorted(self.candidates(article)):
            watchlist = self.watchlists[index]
            if watchlist.languages and (language or "") not in watchlist.languages:
                continue
            node = self.nodes[index]
            if evaluator.matches(node):
                found: dict[Term, dict[Hit, None]] = {}
                evaluator.collect(node, found)
                hits = {term: list(term_hits) for term, term_hits in found.items() if term_hits}
                if hits:
                    matches.append(_result(watchlist.name, article, hits))
        return matches


def match_query(query: str, title: str, body: str, language: str | None) -> Match | None:
    """One query against one text (``presswatch match``)."""
    found = Matcher([WatchlistQuery("query", query)]).match(title, body, language)
    return found[0] if found else None
