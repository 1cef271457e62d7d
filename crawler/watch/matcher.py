"""Matching watchlists against articles, fast with many watchlists.

All terms of all watchlists are compiled once into hash indexes keyed by word, by stem (per
language) and by prefix. An article is tokenised once; each distinct word looks itself up in
those indexes, which yields the few watchlists that could match; only those are evaluated. The
cost per article grows with its number of distinct words, not with the number of watchlists,
and word boundaries come for free ("war" never matches "award"), which a character automaton
such as Aho-Corasick would have to check after the fact.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from crawler.watch.query import And, Field, Near, Node, Not, Or, QueryError, Term, parse_query
from crawler.watch.query import terms_of as query_terms
from crawler.watch.stemming import MIN_PREFIX_RULE_LENGTH, PREFIX_SLACK, stemmer, suffixing
from crawler.watch.text import Token, tokenize

FIELDS = ("title", "body")
SNIPPET_WORDS = 30
MAX_SNIPPETS = 3


@dataclass(frozen=True, slots=True)
class Hit:
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


class ArticleText:
    """An article's title and body, tokenised once, with lazily built word indexes."""

    def __init__(self, title: str, body: str, language: str | None) -> None:
        self.text = {"title": title or "", "body": body or ""}
        self.tokens = {name: tokenize(self.text[name]) for name in FIELDS}
        self.language = (language or "").lower() or None
        self._plain: dict[str, dict[str, list[int]]] = {}
        self._exact: dict[str, dict[str, list[int]]] = {}
        self._stems: dict[str, dict[str, list[int]]] = {}
        self._stem = stemmer(self.language)
        self._suffixing = suffixing(self.language)

    def distinct_words(self) -> set[str]:
        return {t.plain for name in FIELDS for t in self.tokens[name]} | {
            t.exact for name in FIELDS for t in self.tokens[name]
        }

    def _index(
        self, cache: dict[str, dict[str, list[int]]], name: str, key: str
    ) -> dict[str, list[int]]:
        if name not in cache:
            index: dict[str, list[int]] = defaultdict(list)
            for i, token in enumerate(self.tokens[name]):
                index[getattr(token, key)].append(i)
            cache[name] = dict(index)
        return cache[name]

    def _stem_index(self, name: str) -> dict[str, list[int]]:
        if name not in self._stems:
            index: dict[str, list[int]] = defaultdict(list)
            if self._stem is not None:
                words = [t.plain for t in self.tokens[name]]
                for i, stem in enumerate(self._stem.stemWords(words)):
                    index[stem].append(i)
            self._stems[name] = dict(index)
        return self._stems[name]

    def stem(self, word: str) -> str | None:
        return self._stem.stemWord(word) if self._stem is not None else None

    def word_positions(self, name: str, word: str, *, exact: bool, inflect: bool) -> set[int]:
        found = set(
            self._index(
                self._exact if exact else self._plain, name, "exact" if exact else "plain"
            ).get(word, ())
        )
        if not inflect:
            return found
        stem = self.stem(word)
        if stem:
            found.update(self._stem_index(name).get(stem, ()))
        if self._suffixing and len(word) >= MIN_PREFIX_RULE_LENGTH:
            for other, positions in self._index(self._plain, name, "plain").items():
                if other.startswith(word) and len(other) - len(word) <= PREFIX_SLACK:
                    found.update(positions)
        return found

    def prefix_positions(self, name: str, prefix: str) -> set[int]:
        return {
            i
            for word, positions in self._index(self._plain, name, "plain").items()
            if word.startswith(prefix)
            for i in positions
        }

    def term_hits(self, term: Term, name: str) -> list[Hit]:
        inflect = not term.quoted and not term.prefix
        if term.prefix and len(term.words) == 1:
            return [Hit(name, i, i + 1) for i in sorted(self.prefix_positions(name, term.words[0]))]
        first = self.word_positions(name, term.words[0], exact=term.exact, inflect=inflect)
        if len(term.words) == 1:
            return [Hit(name, i, i + 1) for i in sorted(first)]
        rest = []
        for k, word in enumerate(term.words[1:], start=1):
            last = k == len(term.words) - 1
            if term.prefix and last:
                rest.append(self.prefix_positions(name, word))
            else:
                rest.append(self.word_positions(name, word, exact=term.exact, inflect=inflect))
        return [
            Hit(name, i, i + len(term.words))
            for i in sorted(first)
            if all(i + k + 1 in positions for k, positions in enumerate(rest))
        ]


# -- evaluation -----------------------------------------------------------------------------


@dataclass
class _Result:
    matched: bool
    hits: dict[Term, list[Hit]] = field(default_factory=dict)


def _merge(results: Iterable[_Result]) -> dict[Term, list[Hit]]:
    merged: dict[Term, list[Hit]] = {}
    for result in results:
        for term, hits in result.hits.items():
            merged.setdefault(term, [])
            merged[term].extend(h for h in hits if h not in merged[term])
    return merged


class _Evaluator:
    def __init__(self, article: ArticleText) -> None:
        self.article = article
        self.memo: dict[tuple[Term, str], list[Hit]] = {}

    def hits(self, term: Term, fields: Sequence[str]) -> list[Hit]:
        out: list[Hit] = []
        for name in fields:
            key = (term, name)
            if key not in self.memo:
                self.memo[key] = self.article.term_hits(term, name)
            out.extend(self.memo[key])
        return out

    def evaluate(self, node: Node, fields: Sequence[str] = FIELDS) -> _Result:
        if isinstance(node, Term):
            hits = self.hits(node, fields)
            return _Result(bool(hits), {node: hits} if hits else {})
        if isinstance(node, Field):
            return self.evaluate(node.child, (node.name,))
        if isinstance(node, Not):
            return _Result(not self.evaluate(node.child, fields).matched)
        if isinstance(node, And):
            results = []
            for child in node.children:
                result = self.evaluate(child, fields)
                if not result.matched:
                    return _Result(False)
                results.append(result)
            return _Result(True, _merge(results))
        if isinstance(node, Or):
            results = [r for r in (self.evaluate(c, fields) for c in node.children) if r.matched]
            return _Result(bool(results), _merge(results))
        assert isinstance(node, Near)
        left, right = self.hits(node.left, fields), self.hits(node.right, fields)
        used_left, used_right = [], []
        for a in left:
            for b in right:
                # Distance in words between the two terms' nearest words: 1 when adjacent.
                distance = b.start - a.end + 1 if b.start >= a.end else a.start - b.end + 1
                if a.field == b.field and distance <= node.distance:
                    used_left.append(a)
                    used_right.append(b)
        if not used_left:
            return _Result(False)
        return _Result(
            True,
            _merge(
                [_Result(True, {node.left: used_left}), _Result(True, {node.right: used_right})]
            ),
        )


# -- results --------------------------------------------------------------------------------


def _snippets(article: ArticleText, hits: Iterable[Hit]) -> tuple[Snippet, ...]:
    by_field = {
        name: sorted({h for h in hits if h.field == name}, key=lambda h: h.start) for name in FIELDS
    }
    name = "body" if by_field["body"] else "title"
    pending = by_field[name]
    tokens: list[Token] = article.tokens[name]
    text = article.text[name]
    snippets: list[Snippet] = []
    while pending and len(snippets) < MAX_SNIPPETS:
        best_start, best_cover = 0, -1
        for hit in pending:
            start = max(0, hit.start - SNIPPET_WORDS // 3)
            cover = sum(1 for h in pending if h.start >= start and h.end <= start + SNIPPET_WORDS)
            if cover > best_cover:
                best_start, best_cover = start, cover
        end = min(len(tokens), best_start + SNIPPET_WORDS)
        inside = [h for h in pending if h.start >= best_start and h.end <= end]
        if not inside:  # a hit longer than a window
            inside = [pending[0]]
            best_start, end = inside[0].start, inside[0].end
        lo, hi = tokens[best_start].start, tokens[end - 1].end
        prefix = "…" if lo > 0 else ""
        suffix = "…" if hi < len(text) else ""
        body = text[lo:hi].replace("\n", " ")  # same length: offsets stay true
        highlights = tuple(
            (len(prefix) + tokens[h.start].start - lo, len(prefix) + tokens[h.end - 1].end - lo)
            for h in inside
        )
        snippets.append(Snippet(prefix + body + suffix, highlights))
        pending = [h for h in pending if h not in inside]
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


class Matcher:
    """Every watchlist compiled once; ``match`` returns the watchlists an article matches."""

    def __init__(self, watchlists: Sequence[WatchlistQuery]) -> None:
        self.watchlists = list(watchlists)
        self.nodes = [compile_query(w.query) for w in self.watchlists]
        self._by_word: dict[str, set[int]] = defaultdict(set)
        self._by_prefix: dict[str, set[int]] = defaultdict(set)
        self._inflected: dict[str, set[int]] = defaultdict(set)  # unquoted words
        for index, node in enumerate(self.nodes):
            for term in query_terms(node):
                for k, word in enumerate(term.words):
                    if term.prefix and k == len(term.words) - 1:
                        self._by_prefix[word].add(index)
                    else:
                        self._by_word[word].add(index)
                        if not term.quoted:
                            self._inflected[word].add(index)
        self._by_stem: dict[str, dict[str, set[int]]] = {}

    def _stems(self, language: str | None) -> dict[str, set[int]]:
        key = language or ""
        if key not in self._by_stem:
            table: dict[str, set[int]] = defaultdict(set)
            stem = stemmer(language)
            if stem is not None:
                for word, indexes in self._inflected.items():
                    table[stem.stemWord(word)] |= indexes
            self._by_stem[key] = dict(table)
        return self._by_stem[key]

    def candidates(self, article: ArticleText) -> set[int]:
        words = article.distinct_words()
        found: set[int] = set()
        for word in words:
            found |= self._by_word.get(word, set())
        if self._by_prefix or (self._inflected and suffixing(article.language)):
            for word in words:
                for cut in range(1, len(word) + 1):
                    head = word[:cut]
                    found |= self._by_prefix.get(head, set())
                    if len(word) - cut <= PREFIX_SLACK and cut >= MIN_PREFIX_RULE_LENGTH:
                        found |= self._inflected.get(head, set())
        stems = self._stems(article.language)
        if stems:
            stem = stemmer(article.language)
            assert stem is not None
            for word in stem.stemWords(list(words)):
                found |= stems.get(word, set())
        return found

    def match(self, title: str, body: str, language: str | None) -> list[Match]:
        article = ArticleText(title, body, language)
        evaluator = _Evaluator(article)
        matches = []
        for index in sorted(self.candidates(article)):
            watchlist = self.watchlists[index]
            if watchlist.languages and (language or "") not in watchlist.languages:
                continue
            result = evaluator.evaluate(self.nodes[index])
            if result.matched and result.hits:
                matches.append(_result(watchlist.name, article, result.hits))
        return matches


def match_query(query: str, title: str, body: str, language: str | None) -> Match | None:
    """One query against one text (``presswatch match``)."""
    found = Matcher([WatchlistQuery("query", query)]).match(title, body, language)
    return found[0] if found else None
