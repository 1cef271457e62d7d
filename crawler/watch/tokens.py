"""An article's text as the matcher reads it: words split per script, lowercased and folded,
stemmed where the language has a stemmer, with each word's place in its field."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator, Sequence
from functools import cached_property, lru_cache
from itertools import chain, compress, count

from crawler.watch.query import Term
from crawler.watch.results import FIELDS, Highlights, Snippet
from crawler.watch.stemming import MIN_PREFIX_RULE_LENGTH, PREFIX_SLACK, stemmer, suffixing
from crawler.watch.text import WORD_HEAD, exact_form, plain_form

# A stem this short says little (Snowball cuts Turkish "ordu", army, to "or", as it does "ora",
# there; English "Inli" to "in"): through one, a word matches only forms at least as long as
# itself (its inflections), never shorter words that happen to share it.
MIN_STEM_LENGTH = 3


# Bound on the words a matcher remembers as matching no term, per language (about 20 MB).
QUIET_WORDS_KEPT = 100_000


@lru_cache(maxsize=200_000)
def word_stem(language: str | None, word: str) -> str | None:
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

    @classmethod
    def from_search_words(cls, words: str, language: str | None) -> ArticleText:
        """An article known by its indexed search words alone (``flagging.search_words``: the
        plain forms of its title's and its body's words, in order, as one field). Enough to
        tell whether a query the matcher can decide from them is present
        (``Matcher.reads_search_words``); not where, nor in which field, nor exact forms."""
        article = cls("", "", language)
        plain = words.split()
        article.raw = {"title": [], "body": plain}
        article.plain = {"title": [], "body": plain}
        return article

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
        stem = word_stem(self.language, word)
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
