"""Matching watchlists against articles, fast with many watchlists.

All terms of all watchlists are compiled once into hash indexes keyed by word, by stem (per
language) and by prefix. An article is tokenised once; its distinct words, intersected with
those indexes as sets, yield the terms it may hold and the few watchlists that could match;
only those are evaluated, and a term whose key is missing is known absent at once. The cost per
article grows with its number of distinct words, not with the number of watchlists, and word
boundaries come for free ("war" never matches "award"), which a character automaton such as
Aho-Corasick would have to check after the fact. The positions, snippets and highlights of a
match are worked out only for an article that matches, once per article where watchlists share
them (the index of word positions, the character offsets, a snippet set for the same hits).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import compress, count, repeat
from operator import itemgetter
from typing import TypeAlias

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


@lru_cache(maxsize=200_000)
def _stem(language: str | None, word: str) -> str | None:
    stem = stemmer(language)
    return stem.stemWord(word) if stem is not None else None


def split_words(text: str) -> list[str]:
    return WORD_HEAD.findall(text)


class ArticleText:
    """An article's title and body, tokenised once. Each distinct word is normalised and
    stemmed once (an article repeats its words), by ``map`` over the cached forms rather than
    a Python loop per word. Only the plain forms are made up front (the search words need
    them); the rest when matching asks for it: word sets for presence checks, and, for
    articles that match, an index of word positions and character offsets."""

    def __init__(self, title: str, body: str, language: str | None) -> None:
        self.text = {"title": title or "", "body": body or ""}
        self.language = (language or "").lower() or None
        self.suffixing = suffixing(self.language)
        self.raw = {name: split_words(self.text[name]) for name in FIELDS}
        words = list(set(self.raw["title"]).union(self.raw["body"]))
        plain_of = dict(zip(words, map(plain_form, words), strict=True))
        self.plain = {name: list(map(plain_of.__getitem__, self.raw[name])) for name in FIELDS}
        self._sorted: dict[str, list[str]] = {}
        self._index: dict[tuple[str, str], dict[str, list[int]]] = {}
        self._by_stem: dict[str, dict[str, list[str]]] = {}
        self._char_starts: dict[str, list[int]] = {}
        # Set by the matcher: the distinct plain words that can be a form of one of its terms'
        # words (the rest cannot, whatever the term); stems and prefix lookups need no others.
        self.relevant: set[str] | None = None
        self.relevant_to: object = None
        # Watchlists that match the same words of this article share their snippets.
        self.shared_snippets: dict[tuple[object, ...], tuple[Snippet, ...]] = {}

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
            field = self.plain_set[name]
            self._sorted[name] = sorted(field if self.relevant is None else field & self.relevant)
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
        plain = self._positions(name, "plain")
        return sorted(i for word in self._starting(name, prefix) for i in plain[word])

    def term_starts(self, term: Term, name: str) -> list[int]:
        """Token indexes where ``term`` occurs in a field, ascending; each occurrence spans
        ``len(term.words)`` words."""
        inflect = not term.quoted and not term.prefix
        last = len(term.words) - 1
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


# -- evaluation -----------------------------------------------------------------------------


class _Evaluator:
    """Decides matches with presence checks first; positions only for what matched."""

    def __init__(self, article: ArticleText, keyed: set[int], keys_found: set[int]) -> None:
        self.article = article
        # Of the ``keyed`` terms (by id), those not in ``keys_found`` are in neither field.
        self.keyed = keyed
        self.keys_found = keys_found
        # Per field, keyed by id(): the matcher interns equal terms into one object.
        self._present: dict[str, dict[int, bool]] = {name: {} for name in FIELDS}
        self._starts: dict[str, dict[int, list[int]]] = {name: {} for name in FIELDS}

    def starts(self, term: Term, name: str) -> list[int]:
        cache = self._starts[name]
        found = cache.get(id(term))
        if found is None:
            if id(term) not in self.keys_found and id(term) in self.keyed:
                found = cache[id(term)] = []
            else:
                found = cache[id(term)] = self.article.term_starts(term, name)
        return found

    def _term_present(self, term: Term, name: str) -> bool:
        if id(term) not in self.keys_found and id(term) in self.keyed:
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

    def collect(self, node: Node, out: Hits, fields: Sequence[str] = FIELDS) -> None:
        """The occurrences of the terms that make a matching ``node`` match, per term (in the
        order first met) and field."""
        if isinstance(node, Term):
            for name in fields:
                starts = self.starts(node, name)
                if starts:
                    found = out.setdefault(node, {})
                    known = found.get(name)
                    found[name] = starts if known is None else {*known, *starts}
        elif isinstance(node, Field):
            self.collect(node.child, out, (node.name,))
        elif isinstance(node, And | Or):
            for child in node.children:
                # A term is collected where it occurs, if anywhere: no presence check first.
                if isinstance(child, Term) or (
                    not isinstance(child, Not) and self.matches(child, fields)
                ):
                    self.collect(child, out, fields)
        elif isinstance(node, Near):
            left = out.setdefault(node.left, {})
            right = out.setdefault(node.right, {})
            for name, used_left, used_right in self._near(node, fields):
                if used_left:
                    left[name] = {*left.get(name, ()), *used_left}
                if used_right:
                    right[name] = {*right.get(name, ()), *used_right}


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
    widths: dict[int, tuple[int, ...]] = {}
    if phrases:
        for term, by_field in hits.items():
            if len(term.words) == 1:
                for start in phrases.keys() & set(by_field.get(chosen, ())):
                    phrases[start].add(1)
        widths = {start: tuple(sorted(w)) for start, w in phrases.items()}
    return Match(name, tuple(terms), round(score, 3), _snippets(article, chosen, starts, widths))


def _snippets(
    article: ArticleText, chosen: str, starts: set[int], widths: dict[int, tuple[int, ...]]
) -> tuple[Snippet, ...]:
    pending = sorted(starts)
    key = (chosen, tuple(pending), tuple(sorted(widths.items())) if widths else ())
    snippets = article.shared_snippets.get(key)
    if snippets is None:
        snippets = article.shared_snippets[key] = _make_snippets(article, chosen, pending, widths)
    return snippets


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
    article: ArticleText, chosen: str, pending: list[int], widths: dict[int, tuple[int, ...]]
) -> tuple[Snippet, ...]:
    """Up to MAX_SNIPPETS windows of SNIPPET_WORDS words, each covering the most hits not yet
    shown, given the hits' ascending starts in the ``chosen`` field (and, where phrases start,
    the widths of the hits starting there, ascending: the longest that fits is shown)."""
    words = article.raw[chosen]
    count = len(words)
    text = article.text[chosen]
    snippets: list[Snippet] = []
    while pending and len(snippets) < MAX_SNIPPETS:
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
            best_start, end = pending[0], pending[0] + shown[pending[0]]
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
        self._stems_seen: dict[str, dict[str, str]] = {}

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
        their stems, where the language has a stemmer): the others are remembered (per
        language) and skipped in every later article. All at C speed: set operations, and
        ``compress`` over ``map``."""
        key = article.language or ""
        quiet = self._quiet.get(key)
        if quiet is None or len(quiet) > QUIET_WORDS_KEPT:
            quiet = self._quiet[key] = set()
        live = list(article.distinct_plain - quiet)
        relevant = self._words.intersection(live)
        for cut in self._prefix_word_cuts:
            relevant.update(compress(live, map(self._prefix_words.__contains__, map(cut, live))))
        stem_of = None
        if self._inflected_words:
            stem_of = self._stem_cache(article.language, live)
            if stem_of is not None:
                stems = self._stems_of_words(article.language)
                relevant.update(
                    compress(live, map(stems.__contains__, map(stem_of.__getitem__, live)))
                )
            if article.suffixing:
                for cut in self._suffix_cuts:
                    relevant.update(
                        compress(live, map(self._long_words.__contains__, map(cut, live)))
                    )
        # One update with the finished set: a thread sharing this matcher never sees a
        # relevant word among the quiet ones.
        quiet.update(set(live).difference(relevant))
        if stem_of is None:
            return relevant, None
        relevant_stems = {word: stem_of[word] for word in relevant}
        # Only the relevant words' stems are kept: the others' words are quiet from now on.
        self._stems_seen[key].update(relevant_stems)
        return relevant, relevant_stems

    def _stem_cache(self, language: str | None, words: list[str]) -> dict[str, str] | None:
        """The stems of ``words`` in ``language`` (or None without a stemmer): those of the
        relevant words recent articles held from a cache (they recur), the rest stemmed."""
        stem = stemmer(language)
        if stem is None:
            return None
        key = language or ""
        cache = self._stems_seen.get(key)
        if cache is None or len(cache) > QUIET_WORDS_KEPT:
            cache = self._stems_seen[key] = {}
        missing = [word for word in words if word not in cache]
        found = dict(zip(missing, stem.stemWords(missing), strict=True))
        found.update((word, cache[word]) for word in words if word in cache)
        return found

    def keyed_terms(self, article: ArticleText) -> set[int]:
        """The terms (by id) whose key the article has, found by set intersections of its
        relevant words with the indexes (no Python loop over the words)."""
        found: set[int] = set()
        if article.relevant is None or article.relevant_to is not self:
            article.restrict(*self._relevant(article), matcher=self)
        words = article.relevant
        assert words is not None
        for key in self._by_plain.keys() & words:
            found.update(self._by_plain[key])
        if self._by_exact:
            for key in self._by_exact.keys() & article.distinct_exact:
                found.update(self._by_exact[key])
        for cut in self._prefix_cuts:
            for key in self._by_prefix.keys() & set(map(cut, words)):
                found.update(self._by_prefix[key])
        if self._inflected:
            stems = self._stems(article.language)
            if stems:
                for key in stems.keys() & set(article.stem_of.values()):
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
        evaluator = _Evaluator(article, self._keyed, keys_found)
        matches = []
        for index in sorted(self.candidates(article, keys_found)):
            watchlist = self.watchlists[index]
            if watchlist.languages and (language or "") not in watchlist.languages:
                continue
            node = self.nodes[index]
            if evaluator.matches(node):
                found: Hits = {}
                evaluator.collect(node, found)
                hits = {term: by_field for term, by_field in found.items() if by_field}
                if hits:
                    matches.append(_result(watchlist.name, article, hits))
        return matches


def match_query(query: str, title: str, body: str, language: str | None) -> Match | None:
    """One query against one text (``presswatch match``)."""
    found = Matcher([WatchlistQuery("query", query)]).match(title, body, language)
    return found[0] if found else None
