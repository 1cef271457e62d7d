"""Flagging stored articles with the watchlists they match (as the crawl stores them, or again
over the stored ones), and the search prefilter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.watch.matcher import Matcher, WatchlistQuery
from crawler.watch.query import And, Field, Near, Node, Not, Or, Term
from crawler.watch.snippets import Match
from crawler.watch.stemming import stemmer
from crawler.watch.text import plain_form
from crawler.watch.tokens import ArticleText, split_words
from storage import matches as match_store
from storage import reading, search
from storage.models import Article

MIN_CORE = 3
REFLAG_BATCH = 200  # articles per transaction: short ones keep the database open to a crawl


def to_record(match: Match) -> match_store.MatchRecord:
    """What is stored of a match: its terms, score and hits. The snippets are cut from the
    article's text at those hits when they are shown (``stored_snippets``): the crawl does not
    cut snippets for every match it stores."""
    return match_store.MatchRecord(
        watchlist=match.watchlist,
        terms=[{"term": t.term, "count": t.count, "where": list(t.where)} for t in match.terms],
        score=match.score,
        hits=match.highlights.as_dict(),
    )


class Flagger:
    """Checks articles against every configured watchlist (compiled once)."""

    def __init__(self, watchlists: Sequence[WatchlistQuery]) -> None:
        self.matcher = Matcher(watchlists)
        self.names = [w.name for w in watchlists]

    def match(self, article: Article) -> list[Match]:
        return self.matcher.match(article.title or "", article.text, article.language)

    def flag(
        self, session: Session, article: Article, now: datetime, scope: Iterable[str] | None = None
    ) -> dict[str, str]:
        found = [m for m in self.match(article) if scope is None or m.watchlist in set(scope)]
        return match_store.save_matches(
            session,
            article,
            [to_record(m) for m in found],
            self.names if scope is None else scope,
            now,
        )


def reflag(
    engine: Engine,
    flagger: Flagger,
    since: datetime | None,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, Counter[str]]:
    """Flag the stored articles (those fetched since ``since``, else all) again with
    ``flagger``'s watchlists, a batch per transaction; ``progress`` hears the count checked after
    each batch. The articles checked, and the matches by what became of them (new, updated,
    kept, removed)."""
    totals: Counter[str] = Counter({"new": 0, "updated": 0, "kept": 0, "removed": 0})
    checked = last_id = 0
    while True:
        with Session(engine) as session, session.begin():
            query = reading.articles_query(since).where(Article.id > last_id)
            page = list(session.scalars(query.limit(REFLAG_BATCH)))
            for article in page:
                totals.update(flagger.flag(session, article, now).values())
                last_id = article.id
        if not page:
            return checked, totals
        checked += len(page)
        if progress is not None:
            progress(checked)


def search_stored(
    session: Session,
    query: str,
    node: Node,
    since: datetime | None,
    source: str | None,
    limit: int,
) -> list[tuple[Article, Match]]:
    """The stored articles that match ``query`` (``node``, compiled), newest first, at most
    ``limit``: the search index's candidates, each matched as a watchlist would match it."""
    matcher = Matcher([WatchlistQuery("search", query)])
    candidates = search.search_candidates(
        session, prefilter(node, search.languages(session)), since, source
    )
    found: list[tuple[Article, Match]] = []
    for article in session.scalars(candidates.execution_options(yield_per=200)):
        matched = matcher.match(article.title or "", article.text, article.language)
        if matched:
            found.append((article, matched[0]))
            if len(found) >= limit:
                break
    return found


def search_words(title: str | None, text: str) -> str:
    """The normalised words the search prefilter indexes."""
    return " ".join(plain_form(w) for w in split_words(f"{title or ''}\n{text}"))


def analyse(
    matcher: Matcher | None, title: str | None, text: str, language: str | None
) -> tuple[list[match_store.MatchRecord], str]:
    """An article's watchlist matches and its search words, from one tokenisation."""
    article = ArticleText(title or "", text, language)
    words = " ".join(article.plain["title"] + article.plain["body"])
    matches = matcher.match_article(article) if matcher is not None else []
    return [to_record(m) for m in matches], words


def _common_prefix(words: Iterable[str]) -> str:
    words = list(words)
    first = words[0]
    for i, char in enumerate(first):
        if any(len(w) <= i or w[i] != char for w in words[1:]):
            return first[:i]
    return first


# Languages whose prefixes change a word's first letter (Indonesian meN-: serang -> menyerang).
_ASSIMILATING = {"id", "ms"}


def _core(word: str, languages: Iterable[str]) -> str | None:
    """A substring of every form of ``word`` the matcher accepts in ``languages``: the common
    prefix of the word and its stems, less the first letter where prefixes assimilate it."""
    languages = set(languages)
    stems = [word]
    for language in languages:
        stem = stemmer(language)
        if stem is not None:
            stems.append(stem.stemWord(word))
    core = _common_prefix(stems)
    if languages & _ASSIMILATING:
        core = core[1:]
    return core if len(core) >= MIN_CORE else None


def prefilter(node: Node, languages: Iterable[str]) -> search.Prefilter:
    """Substrings an article's normalised words must contain for ``node`` to match it, given
    the languages of the articles searched."""
    languages = set(languages)
    if isinstance(node, Term):
        if term_is_literal(node):
            return " ".join(node.words) if len(" ".join(node.words)) >= MIN_CORE else None
        cores: list[search.Prefilter] = [
            (w if len(w) >= MIN_CORE else None)
            if node.prefix and k == len(node.words) - 1
            else _core(w, languages)
            for k, w in enumerate(node.words)
        ]
        return ("AND", cores)
    if isinstance(node, Field):
        return prefilter(node.child, languages)
    if isinstance(node, Not):
        return None
    if isinstance(node, Near):
        return ("AND", [prefilter(node.left, languages), prefilter(node.right, languages)])
    op = "AND" if isinstance(node, And) else "OR"
    assert isinstance(node, And | Or)
    return (op, [prefilter(c, languages) for c in node.children])


def term_is_literal(term: Term) -> bool:
    return term.quoted and not term.prefix
