"""Matching watchlists against articles, fast with many watchlists.

All terms of all watchlists are compiled once into hash indexes keyed by word, by stem (per
language) and by prefix. An article is tokenised once; its distinct words, intersected with
those indexes as sets, yield the terms it may hold and the few watchlists that could match;
only those are evaluated, and a term whose key is missing is known absent at once. The cost per
article grows with its number of distinct words, not with the number of watchlists, and word
boundaries come for free ("war" never matches "award"), which a character automaton such as
Aho-Corasick would have to check after the fact. The positions of a match's terms are worked
out only for an article that matches, once per article where watchlists share them (the index
of word positions). A match keeps where its hits are (``Highlights``); its snippets are cut
from the text only when they are shown (``Match.snippets``, ``stored_snippets``).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import chain, compress, count, repeat
from operator import itemgetter
from typing import Any, TypeAlias

from crawler.watch.query import And, Field, Near, Node, Not, Or, QueryError, Term, parse_query
from crawler.watch.stemming import MIN_PREFIX_RULE_LENGTH, PREFIX_SLACK, stemmer, suffixing
from crawler.watch.text import WORD_HEAD, exact_form, plain_form

FIELDS = ("title", "body")
SNIPPET_WORDS = 30
MAX_SNIPPETS = 3
# A stem this short says little (Snowball cuts Turkish "ordu", army, to "or", as it does "ora",
# there; English "Inli" to "in"): through one, a word matches only forms at least as long as
# itself (its inflections), never shorter words that happen to share it.
MIN_STEM_LENGTH = 3
# Bound on the words a matcher remembers as matching no term, per language (about 20 MB).
QUIET_WORDS_KEPT = 100_000


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
        return _snippets(self.article, self.highlights)

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


@lru_cache(maxsize=200_000)
def _stem(language: str | None, word: str) -> str | None:
    stem = stemmer(language)
    return stem.stemWord(word) if stem is not None else None


def split_words(text: str) -> list[str]:
    return WORD_HEAD.findall(text)


class FieldWords:
    """An article's title and body split into words, and where those words start: what
    snippets are cut from."""

    def __init__(self, title: str, body: str) -> None:
        self.text = {"title": title or "", "body": body or ""}
        self.raw = {name: split_words(self.text[name]) for name in FIELDS}
        self._char_starts: dict[str, list[int]] = {}
        # Watchlists that match the same words of this article share their snippets.
        self.shared_snippets: dict[Highlights, tuple[Snippet, ...]] = {}

    def char_starts(self, name: str, index: int) -> list[int]:
        """Character offsets where the words of a field start, at least up to word ``index``,
        found lazily: the words occur in order, so each is searched after the previous one (a
        fast C scan), only as far as the snippets need. A word ends ``len`` of it later."""
        starts = self._char_starts.setdefault(name, [])
        if index >= len(starts):
            # The words hold no apostrophe: the same places as in the text with ’ folded to '.
            find = self.text[name].find
            words = self.raw[name]
            done = len(starts)
            position = starts[-1] + len(words[done - 1]) if starts else 0
            for word in words[done : index + 1]:
                position = find(word, position)
                starts.append(position)
                position += len(word)
        return starts


class ArticleText(FieldWords):
    """An article's title and body, tokenised once. Each distinct word is normalised and
    stemmed once (an article repeats its words), by ``map`` over the cached forms rather than
    a Python loop per word. Only the plain forms are made up front (the search words need
    them); the rest when matching asks for it: word sets for presence checks, and, for
    articles that match, an index of word positions and character offsets."""

    def __init__(self, title: str, body: str, language: str | None) -> None:
        super().__init__(title, body)
        self.language = (language or "").lower() or None
        self.suffixing = suffixing(self.language)
        words = list(set(self.raw["title"]).union(self.raw["body"]))
        plain_of = dict(zip(words, map(plain_form, words), strict=True))
        self.plain = {name: list(map(plain_of.__getitem__, self.raw[name])) for name in FIELDS}
        self._sorted: dict[str, list[str]] = {}
        self._index: dict[tuple[str, str], dict[str, list[int]]] = {}
        self._by_stem: dict[str, dict[str, list[str]]] = {}
        # Set by the matcher: the distinct plain words that can be a form of one of its terms'
        # words (the rest cannot, whatever the term); stems and prefix lookups need no others.
        self.relevant: set[str] | None = None
        self.relevant_to: object = None

    def restrict(
        self, relevant: set[str], stem_of: dict[str, str] | None, *, matcher: object
    ) -> None:
        """Only ``relevant`` words can matter to ``matcher`` (which may know their stems):
        forget what was derived from another matcher's words."""
        self.relevant, self.relevant_to = relevant, matcher
        self.__dict__.pop("stem_set", None)
        if stem_of is None:
            self.__dict__.pop("stem_of", None)
        else:
            self.__dict__["stem_of"] = stem_of
        self._sorted.clear()
        self._index.pop(("title", "plain"), None)
        self._index.pop(("body", "plain"), None)
        self._by_stem.clear()

    @cached_property
    def plain_set(self) -> dict[str, set[str]]:
        return {name: set(self.plain[name]) for name in FIELDS}

    @cached_property
    def exact(self) -> dict[str, list[str]]:
        return {name: list(map(exact_form, self.raw[name])) for name in FIELDS}

    @cached_property
    def exact_set(self) -> dict[str, set[str]]:
        return {name: set(self.exact[name]) for name in FIELDS}

    @cached_property
    def distinct_plain(self) -> set[str]:
        return self.plain_set["title"] | self.plain_set["body"]

    @cached_property
    def distinct_exact(self) -> set[str]:
        return self.exact_set["title"] | self.exact_set["body"]

    @cached_property
    def stem_of(self) -> dict[str, str]:
        stem = stemmer(self.language)
        if stem is None:
            return {}
        words = list(self.distinct_plain if self.relevant is None else self.relevant)
        return dict(zip(words, stem.stemWords(words), strict=True))

    @cached_property
    def stem_set(self) -> dict[str, set[str]]:
        stem_of = self.stem_of
        return {
            name: set(map(stem_of.__getitem__, stem_of.keys() & self.plain_set[name]))
            for name in FIELDS
        }

    # presence (fast) --------------------------------------------------------------------------

    def _starting(self, name: str, prefix: str) -> Iterator[str]:
        if name not in self._sorted:
            plain = self.plain_set[name]
            self._sorted[name] = sorted(plain if self.relevant is None else plain & self.relevant)
        words = self._sorted[name]
        i = bisect_left(words, prefix)
        while i < len(words) and words[i].startswith(prefix):
            yield words[i]
            i += 1

    def has_word(self, name: str, word: str, *, exact: bool, inflect: bool) -> bool:
        if word in (self.exact_set if exact else self.plain_set)[name]:
            return True
        if not inflect:
            return False
        if self._stem_forms(name, word):
            return True
        if self.suffixing and len(word) >= MIN_PREFIX_RULE_LENGTH:
            return any(len(o) - len(word) <= PREFIX_SLACK for o in self._starting(name, word))
        return False

    def has_prefix(self, name: str, prefix: str) -> bool:
        return next(self._starting(name, prefix), None) is not None

    # positions (for matches) ----------------------------------------------------------------

    def _positions(self, name: str, kind: str) -> dict[str, list[int]]:
        """Each word of a field (in its ``kind`` form) with its token indexes, ascending: one
        pass over the field, then a lookup for each word a match needs."""
        key = (name, kind)
        index = self._index.get(key)
        if index is None:
            words = (self.exact if kind == "exact" else self.plain)[name]
            table: defaultdict[str, list[int]] = defaultdict(list)
            if kind == "plain" and self.relevant is not None:
                # Only the words that can be a form of a term's word: the others' places are
                # never asked for (skipped by ``compress`` at C speed).
                for i in compress(count(), map(self.relevant.__contains__, words)):
                    table[words[i]].append(i)
            else:
                for i, word in enumerate(words):
                    table[word].append(i)
            index = self._index[key] = dict(table)
        return index

    def _stemmed(self, name: str, stem: str) -> Sequence[str]:
        """The distinct plain words of a field whose stem is ``stem``."""
        by_stem = self._by_stem.get(name)
        if by_stem is None:
            by_stem = self._by_stem[name] = {}
            stem_of = self.stem_of
            for word in stem_of.keys() & self.plain_set[name]:
                by_stem.setdefault(stem_of[word], []).append(word)
        return by_stem.get(stem, ())

    def _stem_forms(self, name: str, word: str) -> Sequence[str]:
        """The distinct plain words of a field that are ``word``'s forms by its stem: those
        that share it, and through a stem shorter than MIN_STEM_LENGTH only those at least as
        long as ``word``."""
        stem = _stem(self.language, word)
        if stem is None or stem not in self.stem_set[name]:
            return ()
        forms = self._stemmed(name, stem)
        if len(stem) >= MIN_STEM_LENGTH:
            return forms
        return [form for form in forms if len(form) >= len(word)]

    def word_positions(self, name: str, word: str, *, exact: bool, inflect: bool) -> list[int]:
        """Token indexes of ``word`` in a field, and of its inflected forms, ascending (a list
        the caller must not change)."""
        found = self._positions(name, "exact" if exact else "plain").get(word, [])
        if not inflect:
            return found
        forms = set(self._stem_forms(name, word))
        if self.suffixing and len(word) >= MIN_PREFIX_RULE_LENGTH:
            forms.update(
                o for o in self._starting(name, word) if len(o) - len(word) <= PREFIX_SLACK
            )
        forms.discard(word)
        if not forms:
            # Usually the word has no other form in the field: its own list, already sorted.
            return found
        plain = self._positions(name, "plain")
        merged = set(found)
        for form in forms:
            merged.update(plain[form])
        return sorted(merged)

    def prefix_positions(self, name: str, prefix: str) -> list[int]:
        """Token indexes of the words that start with ``prefix``, ascending (a list the caller
        must not change)."""
        words = list(self._starting(name, prefix))
        if not words:
            return []
        plain = self._positions(name, "plain")
        if len(words) == 1:
            return plain[words[0]]
        return sorted(chain.from_iterable(map(plain.__getitem__, words)))

    def term_starts(self, term: Term, name: str) -> list[int]:
        """Token indexes where ``term`` occurs in a field, ascending; each occurrence spans
        ``len(term.words)`` words."""
        inflect = not term.quoted and not term.prefix
        last = len(term.words) - 1
        if not last:  # one word (most terms)
            word = term.words[0]
            if term.prefix:
                return self.prefix_positions(name, word)
            return self.word_positions(name, word, exact=term.exact, inflect=inflect)
        positions = [
            self.prefix_positions(name, word)
            if term.prefix and k == last
            else self.word_positions(name, word, exact=term.exact, inflect=inflect)
            for k, word in enumerate(term.words)
        ]
        starts = positions[0]
        if last:
            following = [set(p) for p in positions[1:]]
            starts = [i for i in starts if all(i + k in p for k, p in enumerate(following, 1))]
        return starts


# -- evaluation -----------------------------------------------------------------------------


class _Evaluator:
    """Decides matches with presence checks first; positions only for what matched."""

    def __init__(
        self, article: ArticleText, keyed: set[int], keys_found: set[int], keys_in_title: set[int]
    ) -> None:
        self.article = article
        # Of the ``keyed`` terms (by id), those not in ``keys_found`` are in neither field, and
        # those not in ``keys_in_title`` are not in the title.
        self.keyed = keyed
        self.keys_in = {"body": keys_found, "title": keys_in_title}
        # Per field, keyed by id(): the matcher interns equal terms into one object.
        self._present: dict[str, dict[int, bool]] = {name: {} for name in FIELDS}
        self._starts: dict[str, dict[int, list[int]]] = {name: {} for name in FIELDS}

    def starts(self, term: Term, name: str) -> list[int]:
        key = id(term)
        cache = self._starts[name]
        found = cache.get(key)
        if found is None:
            if key in self.keys_in[name] or key not in self.keyed:
                found = self.article.term_starts(term, name)
            else:
                found = []  # its key is not in the field
            cache[key] = found
        return found

    def _term_present(self, term: Term, name: str) -> bool:
        if id(term) not in self.keys_in[name] and id(term) in self.keyed:
            return False
        cache = self._present[name]
        present = cache.get(id(term))
        if present is None:
            present = cache[id(term)] = self._find_term(term, name)
        return present

    def _find_term(self, term: Term, name: str) -> bool:
        a = self.article
        inflect = not term.quoted and not term.prefix
        last = len(term.words) - 1
        for k, word in enumerate(term.words):
            if term.prefix and k == last:
                if not a.has_prefix(name, word):
                    return False
            elif not a.has_word(name, word, exact=term.exact, inflect=inflect):
                return False
        # Each word is there; a phrase needs them in order.
        return not last or bool(self.starts(term, name))

    def _near(self, node: Near, fields: Sequence[str]) -> list[tuple[str, set[int], set[int]]]:
        """Per field, the starts of the left and of the right term's occurrences that are
        within the distance of an occurrence of the other."""
        left_width, right_width = len(node.left.words), len(node.right.words)
        found = []
        for name in fields:
            used_left: set[int] = set()
            used_right: set[int] = set()
            rights = self.starts(node.right, name)
            for a in self.starts(node.left, name):
                a_end = a + left_width
                for b in rights:
                    # Distance in words between the two terms' nearest words: 1 when adjacent.
                    distance = b - a_end + 1 if b >= a_end else a - (b + right_width) + 1
                    if distance <= node.distance:
                        used_left.add(a)
                        used_right.add(b)
            found.append((name, used_left, used_right))
        return found

    def matches(self, node: Node, fields: Sequence[str] = FIELDS) -> bool:
        # any() and all() over map(): they stop at the first answer, like the generator
        # expressions they replace, without resuming one for each child.
        if isinstance(node, Term):
            return any(map(self._term_present, repeat(node), fields))
        if isinstance(node, Or):
            return any(map(self.matches, node.children, repeat(fields)))
        if isinstance(node, And):
            return all(map(self.matches, node.children, repeat(fields)))
        if isinstance(node, Field):
            return self.matches(node.child, (node.name,))
        if isinstance(node, Not):
            return not self.matches(node.child, fields)
        if not (self.matches(node.left, fields) and self.matches(node.right, fields)):
            return False
        return any(used_left for _, used_left, _ in self._near(node, fields))

    def gather(self, node: Node, out: Hits, fields: Sequence[str] = FIELDS) -> bool:
        """Whether ``node`` matches and, when it does, the occurrences of the terms that make
        it match, added to ``out`` per term (in the order first met) and field. One walk: a
        term is present where it has places, and the places are what a match records."""
        if isinstance(node, Term):
            present = False
            key = id(node)
            for name in fields:
                # ``starts``, with its cache looked up here: most terms are met again.
                starts = self._starts[name].get(key)
                if starts is None:
                    starts = self.starts(node, name)
                if starts:
                    present = True
                    _add_hits(out, node, name, starts)
            return present
        if isinstance(node, Or):
            matched = False
            for child in node.children:
                # Every child that matches gives its hits: no stop at the first.
                if isinstance(child, Not):
                    matched = not self.matches(child.child, fields) or matched
                else:
                    matched = self.gather(child, out, fields) or matched
            return matched
        if isinstance(node, And):
            # The hits of an And that fails half-way are not the match's: kept aside until
            # every child has matched.
            mine: Hits = {}
            for child in node.children:
                if isinstance(child, Not):
                    if self.matches(child.child, fields):
                        return False
                elif not self.gather(child, mine, fields):
                    return False
            for term, by_field in mine.items():
                for name, places in by_field.items():
                    _add_hits(out, term, name, places)
            return True
        if isinstance(node, Field):
            return self.gather(node.child, out, (node.name,))
        if isinstance(node, Not):
            return not self.matches(node.child, fields)
        if not (self.matches(node.left, fields) and self.matches(node.right, fields)):
            return False
        near = self._near(node, fields)
        if not any(used_left for _, used_left, _ in near):
            return False
        for name, used_left, used_right in near:
            if used_left:
                _add_hits(out, node.left, name, used_left)
            if used_right:
                _add_hits(out, node.right, name, used_right)
        return True


def _add_hits(out: Hits, term: Term, name: str, places: Collection[int]) -> None:
    found = out.setdefault(term, {})
    known = found.get(name)
    found[name] = places if known is None else {*known, *places}


# -- results --------------------------------------------------------------------------------


def _result(name: str, article: ArticleText, hits: Hits) -> Match:
    terms = []
    score = 0.0
    chosen = "body" if any("body" in by_field for by_field in hits.values()) else "title"
    # The hits snippets are cut around: where each starts and, where a phrase starts, how many
    # words each hit starting there spans (one for a single word).
    starts: set[int] = set()
    phrases: dict[int, set[int]] = {}
    for term, by_field in hits.items():
        body = by_field.get("body", ())
        title = by_field.get("title", ())
        where = FIELDS if title and body else ("title",) if title else ("body",)
        terms.append(TermMatch(term.text, len(title) + len(body), where))
        score += (2.0 if title else 0.0) + math.log2(1 + len(body))
        found = body if chosen == "body" else title
        if found:
            starts.update(found)
            if len(term.words) > 1:
                for start in found:
                    phrases.setdefault(start, set()).add(len(term.words))
    widths: tuple[tuple[int, tuple[int, ...]], ...] = ()
    if phrases:
        for term, by_field in hits.items():
            if len(term.words) == 1:
                for start in phrases.keys() & set(by_field.get(chosen, ())):
                    phrases[start].add(1)
        widths = tuple(sorted((start, tuple(sorted(w))) for start, w in phrases.items()))
    highlights = Highlights(chosen, tuple(sorted(starts)), widths, len(article.raw[chosen]))
    return Match(name, tuple(terms), round(score, 3), highlights, article)


def _snippets(
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
    return [snippet.as_dict() for snippet in _snippets(article, highlights, limit)]


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
        # The watchlists each term can make candidates: every article a watchlist matches has
        # one of its trigger terms.
        self._watching: dict[int, list[int]] = defaultdict(list)
        for index, node in enumerate(self.nodes):
            for term in dict.fromkeys(triggers(node) or []):
                self._watching[id(term)].append(index)
        # Terms, by id() (equal terms are one object), under one key: the prefix of a one-word
        # prefix term, else the longest of its whole words (the rarest). An article without
        # the key has the term in neither field. Prefix terms only as triggers: looking up
        # every prefix costs more than evaluating the few that candidates hold.
        self._by_plain: dict[str, list[int]] = defaultdict(list)
        self._by_exact: dict[str, list[int]] = defaultdict(list)
        self._by_prefix: dict[str, list[int]] = defaultdict(list)
        self._inflected: dict[str, list[int]] = defaultdict(list)
        self._keyed: set[int] = set()
        for term in interned.values():
            if term.prefix and len(term.words) == 1:
                if id(term) in self._watching:
                    self._by_prefix[term.words[0]].append(id(term))
                    self._keyed.add(id(term))
                continue
            words = term.words[:-1] if term.prefix else term.words
            key = max(words, key=len)
            (self._by_exact if term.exact else self._by_plain)[key].append(id(term))
            if not term.quoted and not term.prefix:
                self._inflected[key].append(id(term))
            self._keyed.add(id(term))
        # Cutting every word of an article to each length of a prefix (or, for the prefix rule
        # of suffixing languages, by each number of letters a suffix may add) gives the keys to
        # look up, with ``map`` at C speed; a word shorter than a prefix stays whole, and is
        # found only if it is that prefix, which it starts with.
        self._prefix_cuts = [
            itemgetter(slice(n)) for n in sorted({len(p) for p in self._by_prefix})
        ]
        self._suffix_cuts = [itemgetter(slice(-n)) for n in range(1, PREFIX_SLACK + 1)]
        # A word that loses its suffix must keep MIN_PREFIX_RULE_LENGTH letters.
        self._inflected_long = {
            word: terms
            for word, terms in self._inflected.items()
            if len(word) >= MIN_PREFIX_RULE_LENGTH
        }
        self._by_stem: dict[str, dict[str, list[int]]] = {}
        # Every word of every term, for telling which of an article's words can matter: as
        # written, as a prefix (the last word of a prefix term), and inflected (its stem, or
        # the prefix rule of suffixing languages).
        self._words: set[str] = set()
        self._prefix_words: set[str] = set()
        self._inflected_words: set[str] = set()
        for term in interned.values():
            last = len(term.words) - 1
            for k, word in enumerate(term.words):
                if term.prefix and k == last:
                    self._prefix_words.add(word)
                else:
                    self._words.add(word)
                    if not term.quoted and not term.prefix:
                        self._inflected_words.add(word)
        self._prefix_word_cuts = [
            itemgetter(slice(n)) for n in sorted({len(p) for p in self._prefix_words})
        ]
        self._long_words = {w for w in self._inflected_words if len(w) >= MIN_PREFIX_RULE_LENGTH}
        self._word_stems: dict[str, set[str]] = {}
        # Per language, words of articles known to be none of those: most words of most
        # articles, looked up in one set difference instead of stemmed and cut again.
        self._quiet: dict[str, set[str]] = {}
        # Per language, words of articles known to be forms of those, with their stems.
        self._loud: dict[str, dict[str, str]] = {}

    def _stems(self, language: str | None) -> dict[str, list[int]]:
        key = language or ""
        if key not in self._by_stem:
            table: dict[str, list[int]] = defaultdict(list)
            for word, terms in self._inflected.items():
                stem = _stem(language, word)
                if stem is not None:
                    table[stem] += terms
            self._by_stem[key] = dict(table)
        return self._by_stem[key]

    def _stems_of_words(self, language: str | None) -> set[str]:
        key = language or ""
        stems = self._word_stems.get(key)
        if stems is None:
            stem = stemmer(language)
            words = list(self._inflected_words)
            stems = self._word_stems[key] = set(stem.stemWords(words)) if stem else set()
        return stems

    def _relevant(self, article: ArticleText) -> tuple[set[str], dict[str, str] | None]:
        """The article's distinct plain words that can be a form of a word of some term (and
        their stems, where the language has a stemmer). Which words can, and which cannot, is
        remembered per language: an article's words are mostly ones earlier articles had, and
        only new ones are looked at, all at C speed (set operations, ``compress`` over
        ``map``)."""
        key = article.language or ""
        quiet = self._quiet.get(key)
        loud = self._loud.get(key)
        if quiet is None or len(quiet) > QUIET_WORDS_KEPT:
            quiet = self._quiet[key] = set()
        if loud is None or len(loud) > QUIET_WORDS_KEPT:
            loud = self._loud[key] = {}
        live = article.distinct_plain - quiet
        known = loud.keys() & live  # iterates the smaller of the two
        new = list(live - known)
        found = self._words.intersection(new)
        for cut in self._prefix_word_cuts:
            found.update(compress(new, map(self._prefix_words.__contains__, map(cut, new))))
        stemmer_ = stemmer(article.language) if self._inflected_words else None
        stem_of: dict[str, str] = {}
        if stemmer_ is not None:
            stem_of = dict(zip(new, stemmer_.stemWords(new), strict=True))
            stems = self._stems_of_words(article.language)
            found.update(compress(new, map(stems.__contains__, map(stem_of.__getitem__, new))))
        if self._inflected_words and article.suffixing:
            for cut in self._suffix_cuts:
                found.update(compress(new, map(self._long_words.__contains__, map(cut, new))))
        # Each word joins its set only once the sets are finished: a thread sharing this
        # matcher never sees a relevant word among the quiet ones.
        loud.update((word, stem_of.get(word, "")) for word in found)
        quiet.update(set(new).difference(found))
        relevant = known | found
        if stemmer_ is None:
            return relevant, None
        return relevant, {word: loud[word] for word in relevant}

    def keyed_terms(self, article: ArticleText, field: str | None = None) -> set[int]:
        """The terms (by id) whose key the article (or one ``field`` of it) has, found by set
        intersections of its relevant words with the indexes (no Python loop over the words)."""
        found: set[int] = set()
        if article.relevant is None or article.relevant_to is not self:
            article.restrict(*self._relevant(article), matcher=self)
        words = article.relevant
        assert words is not None
        if field is not None:
            words = words & article.plain_set[field]
        for key in self._by_plain.keys() & words:
            found.update(self._by_plain[key])
        if self._by_exact:
            exact = article.distinct_exact if field is None else article.exact_set[field]
            for key in self._by_exact.keys() & exact:
                found.update(self._by_exact[key])
        for cut in self._prefix_cuts:
            for key in self._by_prefix.keys() & set(map(cut, words)):
                found.update(self._by_prefix[key])
        if self._inflected:
            stems = self._stems(article.language)
            if stems:
                stem_of = article.stem_of
                field_stems = (
                    stem_of.values()
                    if field is None
                    else {stem_of[w] for w in words & stem_of.keys()}
                )
                for key in stems.keys() & set(field_stems):
                    found.update(stems[key])
            if article.suffixing:
                for cut in self._suffix_cuts:
                    for key in self._inflected_long.keys() & set(map(cut, words)):
                        found.update(self._inflected_long[key])
        return found

    def candidates(self, article: ArticleText, keyed: set[int] | None = None) -> set[int]:
        """The watchlists one of whose trigger terms has its key in the article."""
        found: set[int] = set()
        watching = self._watching
        for term in self.keyed_terms(article) if keyed is None else keyed:
            if term in watching:
                found.update(watching[term])
        return found

    def match(self, title: str, body: str, language: str | None) -> list[Match]:
        return self.match_article(ArticleText(title, body, language))

    def match_article(self, article: ArticleText) -> list[Match]:
        language = article.language
        keys_found = self.keyed_terms(article)
        # Titles are short: most terms whose key the body has are not in the title, and are
        # known to be absent there without looking for their places.
        evaluator = _Evaluator(article, self._keyed, keys_found, self.keyed_terms(article, "title"))
        matches = []
        for index in sorted(self.candidates(article, keys_found)):
            watchlist = self.watchlists[index]
            if watchlist.languages and (language or "") not in watchlist.languages:
                continue
            found: Hits = {}
            if evaluator.gather(self.nodes[index], found):
                hits = {term: by_field for term, by_field in found.items() if by_field}
                if hits:
                    matches.append(_result(watchlist.name, article, hits))
        return matches


def match_query(query: str, title: str, body: str, language: str | None) -> Match | None:
    """One query against one text (``presswatch match``)."""
    found = Matcher([WatchlistQuery("query", query)]).match(title, body, language)
    return found[0] if found else None
