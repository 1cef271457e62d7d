"""The watchlist query language.

    word            the word, or its inflected forms in the article's language
    "a phrase"      these words in this order, as written (no inflection)
    word*           any word starting with ``word``
    a AND b, a b    both;  a OR b  either;  NOT a, -a  not
    a NEAR/5 b      both, at most 5 words apart, either order (terms or phrases)
    title:term      only in the title;  title:( ... ) likewise for a group
    ( ... )         grouping; precedence NOT > AND > OR

Operators are upper case; a hyphen, en dash or em dash inside a term is a space.
Errors name the 1-based character position: ``QueryError("position 12: ...")``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from crawler.watch.text import WORD, exact_form, has_diacritics, plain_form

FIELDS = ("title", "body")


class QueryError(ValueError):
    """An invalid query; the message names the position and the problem."""

    def __init__(self, position: int, problem: str) -> None:
        super().__init__(f"position {position}: {problem}")
        self.position = position
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Term:
    """A word, prefix or phrase. ``words`` are in plain form, or exact form when ``exact``."""

    text: str
    words: tuple[str, ...]
    quoted: bool = False
    prefix: bool = False
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Near:
    left: Term
    right: Term
    distance: int


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    child: Node


Node = Union[Term, Not, And, Or, Near, Field]  # noqa: UP007 (runtime alias for dataclasses)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # WORD PHRASE LPAREN RPAREN AND OR NOT NEAR FIELD END
    value: str
    position: int  # 1-based
    extra: int = 0


_OPERATORS = {"AND", "OR", "NOT"}
_NEAR = re.compile(r"NEAR(?:/(\S*))?$")
_STOP = set(' \t\r\n()"')


def _lex(query: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
            continue
        if char in "()":
            tokens.append(_Tok("LPAREN" if char == "(" else "RPAREN", char, i + 1))
            i += 1
            continue
        if char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError(i + 1, 'this quote is never closed: add a closing "')
            tokens.append(_Tok("PHRASE", query[i + 1 : end], i + 1))
            i = end + 1
            continue
        if char == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != "-":
            tokens.append(_Tok("NOT", "-", i + 1))
            i += 1
            continue
        start = i
        while i < n and query[i] not in _STOP:
            i += 1
        word = query[start:i]
        field, sep, _rest = word.partition(":")
        if sep and field.lower() in FIELDS:
            tokens.append(_Tok("FIELD", field.lower(), start + 1))
            i = start + len(field) + 1
            continue
        if word in _OPERATORS:
            tokens.append(_Tok(word, word, start + 1))
            continue
        near = _NEAR.match(word)
        if near:
            distance = near.group(1)
            if not distance or not distance.isdigit() or int(distance) < 1:
                raise QueryError(start + 1, "NEAR needs a distance in words, like NEAR/5")
            tokens.append(_Tok("NEAR", word, start + 1, int(distance)))
            continue
        tokens.append(_Tok("WORD", word, start + 1))
    tokens.append(_Tok("END", "", n + 1))
    return tokens


def _term(tok: _Tok) -> Term:
    raw = tok.value
    if tok.kind == "PHRASE":
        words = tuple(m.group() for m in WORD.finditer(raw))
        if not words:
            raise QueryError(tok.position, "this phrase has no words in it")
        exact = any(has_diacritics(w) for w in words)
        form = exact_form if exact else plain_form
        return Term(raw.strip(), tuple(form(w) for w in words), quoted=True, exact=exact)
    prefix = raw.endswith("*")
    body = raw.rstrip("*")
    words = tuple(m.group() for m in WORD.finditer(body))
    if not words:
        what = "a wildcard needs letters before the *" if prefix else f"{raw!r} is not a word"
        raise QueryError(tok.position, what)
    if "*" in body:
        raise QueryError(tok.position, "* may only end a word, as in missile*")
    return Term(raw, tuple(plain_form(w) for w in words), prefix=prefix)


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _lex(query)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.tok.kind == "END":
            raise QueryError(1, "the query is empty")
        node = self.or_expr()
        if self.tok.kind == "RPAREN":
            raise QueryError(self.tok.position, "this ) has no matching (")
        if self.tok.kind != "END":
            raise QueryError(self.tok.position, f"unexpected {self.tok.value!r}")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.tok.kind == "OR":
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while self.tok.kind in ("AND", "NOT", "WORD", "PHRASE", "LPAREN", "FIELD"):
            if self.tok.kind == "AND":
                self.take()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Node:
        if self.tok.kind == "NOT":
            self.take()
            return Not(self.not_expr())
        return self.near_expr()

    def near_expr(self) -> Node:
        node = self.primary()
        while self.tok.kind == "NEAR":
            near = self.take()
            if not isinstance(node, Term):
                raise QueryError(near.position, "NEAR joins two terms or phrases, not groups")
            right = self.primary()
            if not isinstance(right, Term):
                raise QueryError(near.position, "NEAR joins two terms or phrases, not groups")
            node = Near(node, right, near.extra)
        return node

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "LPAREN":
            self.take()
            if self.tok.kind == "RPAREN":
                raise QueryError(tok.position, "these parentheses are empty")
            if self.tok.kind == "END":
                raise QueryError(tok.position, "this ( is never closed: add a )")
            node = self.or_expr()
            if self.tok.kind != "RPAREN":
                raise QueryError(tok.position, "this ( is never closed: add a )")
            self.take()
            return node
        if tok.kind == "FIELD":
            self.take()
            if self.tok.kind not in ("WORD", "PHRASE", "LPAREN"):
                raise QueryError(tok.position, f"{tok.value}: needs a term or a group after it")
            return Field(tok.value, self.primary())
        if tok.kind in ("WORD", "PHRASE"):
            self.take()
            return _term(tok)
        if tok.kind == "END":
            raise QueryError(tok.position, "the query ends where a term was expected")
        if tok.kind == "RPAREN":
            raise QueryError(tok.position, "this ) has no matching (")
        raise QueryError(
            tok.position,
            f"{tok.value} needs a term before and after it"
            if tok.kind in ("AND", "OR", "NEAR")
            else f"unexpected {tok.value!r}",
        )


def parse_query(query: str) -> Node:
    """Parse ``query`` or raise ``QueryError`` naming the position and the problem."""
    return _Parser(query).parse()


def terms_of(node: Node) -> list[Term]:
    """Every term in the query, in order (terms under NOT included)."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Near):
        return [node.left, node.right]
    if isinstance(node, Not | Field):
        return terms_of(node.child)
    return [t for child in node.children for t in terms_of(child)]
