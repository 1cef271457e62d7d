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

This module is the index; the words it reads are ``tokens``, the queries' evaluation is
``evaluation``, and what a match holds is ``results`` and ``snippets``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import itemgetter

from crawler.watch.evaluation import Evaluator, compile_query, result_of
from crawler.watch.query import And, Field, Near, Node, Not, Or, Term
from crawler.watch.results import Hits
from crawler.watch.snippets import Match
from crawler.watch.stemming import MIN_PREFIX_RULE_LENGTH, PREFIX_SLACK, stemmer
from crawler.watch.tokens import QUIET_WORDS_KEPT, ArticleText, word_stem


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
        # Whether presence can be told from an article's search words (``matching_search_words``),
        # and then, per language, the terms each word seen is a form of (none, for most).
        self.reads_search_words = all(map(_decidable_from_words, self.nodes))
        self._terms = list(interned.values())
        self._word_terms: dict[str, tuple[set[str], dict[str, frozenset[int]]]] = {}
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
                stem = word_stem(language, word)
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

    def _evaluations(self, article: ArticleText) -> Iterator[tuple[int, Evaluator]]:
        """The watchlists that could match the article (by index), in order, each with the
        article's evaluator (shared: it remembers what it found)."""
        keys_found = self.keyed_terms(article)
        # Titles are short: most terms whose key the body has are not in the title, and are
        # known to be absent there without looking for their places.
        in_title = self.keyed_terms(article, "title") if article.raw["title"] else set()
        evaluator = Evaluator(article, self._keyed, keys_found, in_title)
        language = article.language or ""
        for index in sorted(self.candidates(article, keys_found)):
            watchlist = self.watchlists[index]
            if not watchlist.languages or language in watchlist.languages:
                yield index, evaluator

    def match_article(self, article: ArticleText) -> list[Match]:
        matches = []
        for index, evaluator in self._evaluations(article):
            found: Hits = {}
            if evaluator.gather(self.nodes[index], found):
                hits = {term: by_field for term, by_field in found.items() if by_field}
                if hits:
                    matches.append(result_of(self.watchlists[index].name, article, hits))
        return matches

    def matching(self, title: str, body: str, language: str | None) -> list[str]:
        """The names of the watchlists ``match`` would return, decided by presence checks
        alone: no places, snippets or scores (what counting matches needs). Every query needs
        a term present to match (``compile_query`` refuses one that does not), so a match
        always has the hits ``match`` requires."""
        return self.matching_article(ArticleText(title, body, language))

    def matching_article(self, article: ArticleText) -> list[str]:
        return [
            self.watchlists[index].name
            for index, evaluator in self._evaluations(article)
            if evaluator.matches(self.nodes[index])
        ]

    def matching_search_words(self, words: str, language: str | None) -> list[str]:
        """``matching`` from an article's indexed search words instead of its text, for a
        matcher that ``reads_search_words``: the same answer without splitting and folding
        the text again.

        Each term of such a query is one word (or prefix) looked for in either field, so it
        is present when one of the article's words is a form of it, whatever the others are:
        which terms each word is a form of is worked out once per language and word, by the
        same checks ``match`` makes (on an article of that one word), for the words of
        articles not seen yet all at once (most are no term's form: ``_relevant``)."""
        assert self.reads_search_words
        key = (language or "").lower()
        known = self._word_terms.get(key)
        if known is None or len(known[0]) + len(known[1]) > QUIET_WORDS_KEPT:
            known = self._word_terms[key] = (set(), {})
        quiet, forms = known  # words of no term; words of some, with their terms
        live = set(words.split()).difference(quiet)
        new = live.difference(forms)
        if new:
            article = ArticleText.from_search_words(" ".join(new), language)
            relevant, _stems = self._relevant(article)
            for word in new:
                terms = self._terms_of(word, language) if word in relevant else None
                if terms:
                    forms[word] = terms
                else:
                    quiet.add(word)
                    live.discard(word)
        present: set[int] = set()
        for word in live:
            present.update(forms[word])
        return [
            watchlist.name
            for watchlist, node in zip(self.watchlists, self.nodes, strict=True)
            if (not watchlist.languages or key in watchlist.languages) and _holds(node, present)
        ]

    def _terms_of(self, word: str, language: str | None) -> frozenset[int]:
        """The terms (by id) an article whose only word is ``word`` has."""
        article = ArticleText.from_search_words(word, language)
        evaluator = Evaluator(article, self._keyed, self.keyed_terms(article), set())
        return frozenset(id(term) for term in self._terms if evaluator.matches(term, ("body",)))


def _holds(node: Node, present: set[int]) -> bool:
    """Whether a query decidable from words (``_decidable_from_words``) matches an article
    with the ``present`` terms."""
    if isinstance(node, Term):
        return id(node) in present
    if isinstance(node, Not):
        return not _holds(node.child, present)
    if isinstance(node, And):
        return all(_holds(child, present) for child in node.children)
    assert isinstance(node, Or)
    return any(_holds(child, present) for child in node.children)


def _decidable_from_words(node: Node) -> bool:
    """Whether a query's matches follow from an article's plain words as one field: no field
    (title:), no NEAR, no phrase (which could span the title's end and the body's start), no
    term in exact form."""
    if isinstance(node, Term):
        return not node.exact and len(node.words) == 1
    if isinstance(node, Not):
        return _decidable_from_words(node.child)
    if isinstance(node, And | Or):
        return all(map(_decidable_from_words, node.children))
    return False  # Field, Near


def match_query(query: str, title: str, body: str, language: str | None) -> Match | None:
    """One query against one text (``presswatch match``)."""
    found = Matcher([WatchlistQuery("query", query)]).match(title, body, language)
    return found[0] if found else None
