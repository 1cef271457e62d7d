"""Evaluating a compiled query against an article's words: boolean operators, phrases,
proximity and field restrictions, with the hits that made it true."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from itertools import repeat

from crawler.watch.query import And, Field, Near, Node, Not, Or, QueryError, Term, parse_query
from crawler.watch.results import FIELDS, Highlights, Hits, TermMatch
from crawler.watch.snippets import Match
from crawler.watch.tokens import ArticleText


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


class Evaluator:
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


def result_of(name: str, article: ArticleText, hits: Hits) -> Match:
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
