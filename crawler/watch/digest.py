"""Digests: what a watcher reads — the flagged articles of their watchlists over a period,
grouped by watchlist, then by story, rendered as text, Markdown, HTML or JSON.

A story is the articles that share a ``story_id`` (syndicated copies and lightly edited
versions of one wire story): one entry, led by its earliest-published article, with the others
listed as "also reported by". Every piece of article text is escaped in HTML.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.config import Config, WatcherConfig
from storage.models import Article, WatchMatch


@dataclass(frozen=True, slots=True)
class Entry:
    article_id: int
    story_id: int
    title: str
    url: str
    source: str
    published_at: datetime | None
    terms: tuple[tuple[str, int], ...]
    snippet: dict[str, Any] | None
    updated: bool
    also: tuple[tuple[str, str], ...] = ()  # (source, url) of the story's other articles

    @property
    def articles(self) -> int:
        return 1 + len(self.also)


@dataclass(frozen=True, slots=True)
class Group:
    watchlist: str
    description: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    watcher: WatcherConfig
    since: datetime
    until: datetime
    groups: tuple[Group, ...] = field(default_factory=tuple)

    @property
    def stories(self) -> int:
        return sum(len(g.entries) for g in self.groups)

    @property
    def articles(self) -> int:
        return sum(e.articles for g in self.groups for e in g.entries)


def build_digest(
    session: Session,
    config: Config,
    watcher: WatcherConfig,
    since: datetime,
    until: datetime | None = None,
) -> Digest:
    """The watcher's flagged articles whose match is new or updated in [since, until)."""
    until = until or datetime.now(UTC)
    rows = session.execute(
        select(WatchMatch, Article)
        .join(Article, Article.id == WatchMatch.article_id)
        .where(
            WatchMatch.watchlist.in_(watcher.watchlists),
            WatchMatch.updated_at >= since,
            WatchMatch.updated_at < until,
        )
    ).all()
    groups = []
    for name in watcher.watchlists:
        stories: dict[int, list[tuple[WatchMatch, Article]]] = {}
        for match, article in rows:
            if match.watchlist == name:
                stories.setdefault(article.story_id or article.id, []).append((match, article))
        entries = [_entry(story_id, members) for story_id, members in stories.items()]
        entries.sort(key=lambda e: (_utc(e.published_at), e.article_id), reverse=True)
        if entries:
            groups.append(Group(name, config.watchlist(name).description, tuple(entries)))
    return Digest(watcher, since, until, tuple(groups))


def _entry(story_id: int, members: list[tuple[WatchMatch, Article]]) -> Entry:
    # The story's original (earliest published) leads; the best-scoring match breaks ties.
    members.sort(key=lambda m: (_utc(m[1].published_at), -m[0].score, m[1].id))
    match, lead = members[0]
    terms = tuple((str(t["term"]), int(t["count"])) for t in match.terms)
    return Entry(
        article_id=lead.id,
        story_id=story_id,
        title=lead.title or lead.url,
        url=lead.url,
        source=lead.source,
        published_at=lead.published_at,
        terms=terms,
        snippet=match.snippets[0] if match.snippets else None,
        updated=any(m.status == "updated" for m, _ in members),
        also=tuple((a.source, a.url) for _, a in members[1:]),
    )


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- rendering ------------------------------------------------------------------------------


def _when(digest: Digest, value: datetime | None) -> str:
    if value is None:
        return "undated"
    return _utc(value).astimezone(digest.watcher.zone).strftime("%Y-%m-%d %H:%M %Z")


def _terms(entry: Entry) -> str:
    return ", ".join(f"{term} ×{count}" for term, count in entry.terms)


def _marked(snippet: dict[str, Any] | None, open_: str, close: str, escape: Any) -> str:
    if not snippet:
        return ""
    text, out, position = str(snippet["text"]), [], 0
    for start, end in snippet.get("highlights", []):
        out.append(escape(text[position:start]))
        out.append(open_ + escape(text[start:end]) + close)
        position = end
    out.append(escape(text[position:]))
    return "".join(out)


def _header(digest: Digest) -> str:
    period = f"{_when(digest, digest.since)} to {_when(digest, digest.until)}"
    if not digest.groups:
        return f"presswatch digest for {digest.watcher.name}: nothing new, {period}"
    return (
        f"presswatch digest for {digest.watcher.name}: {digest.stories} stories "
        f"({digest.articles} articles) in {len(digest.groups)} "
        f"watchlist{'' if len(digest.groups) == 1 else 's'}, {period}"
    )


def render_text(digest: Digest) -> str:
    lines = [_header(digest)]
    for group in digest.groups:
        title = f"{group.watchlist} — {group.description}" if group.description else group.watchlist
        lines += ["", f"== {title}: {len(group.entries)} stories"]
        for entry in group.entries:
            flag = " [UPDATED]" if entry.updated else ""
            lines += [
                "",
                f"* {entry.title}{flag}",
                f"  {entry.source} · {_when(digest, entry.published_at)} · {_terms(entry)}",
            ]
            snippet = _marked(entry.snippet, "[", "]", str)
            if snippet:
                lines.append(f"  {snippet}")
            lines.append(f"  {entry.url}")
            if entry.also:
                lines.append("  also reported by: " + ", ".join(f"{s} {u}" for s, u in entry.also))
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in text)


def render_markdown(digest: Digest) -> str:
    lines = [f"# {_md_escape(_header(digest))}"]
    for group in digest.groups:
        description = f" — {_md_escape(group.description)}" if group.description else ""
        lines += ["", f"## {_md_escape(group.watchlist)}{description} ({len(group.entries)})"]
        for entry in group.entries:
            flag = " **(updated)**" if entry.updated else ""
            lines += [
                "",
                f"- [{_md_escape(entry.title)}]({entry.url}){flag}  ",
                f"  {_md_escape(entry.source)} · {_when(digest, entry.published_at)} · "
                f"{_md_escape(_terms(entry))}  ",
            ]
            snippet = _marked(entry.snippet, "**", "**", _md_escape)
            if snippet:
                lines.append(f"  > {snippet}  ")
            if entry.also:
                others = ", ".join(f"[{_md_escape(s)}]({u})" for s, u in entry.also)
                lines.append(f"  also reported by {others}")
    return "\n".join(lines) + "\n"


def render_html(digest: Digest) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(_header(digest))}</title></head><body>",
        f"<h1>{e(_header(digest))}</h1>",
    ]
    for group in digest.groups:
        description = f" — {e(group.description)}" if group.description else ""
        parts.append(f"<h2>{e(group.watchlist)}{description} ({len(group.entries)})</h2><ul>")
        for entry in group.entries:
            flag = " <strong>(updated)</strong>" if entry.updated else ""
            parts.append(
                f"<li><a href='{e(entry.url, quote=True)}'>{e(entry.title)}</a>{flag}<br>"
                f"<small>{e(entry.source)} · {e(_when(digest, entry.published_at))} · "
                f"{e(_terms(entry))}</small>"
            )
            snippet = _marked(entry.snippet, "<mark>", "</mark>", e)
            if snippet:
                parts.append(f"<blockquote>{snippet}</blockquote>")
            if entry.also:
                others = ", ".join(
                    f"<a href='{e(u, quote=True)}'>{e(s)}</a>" for s, u in entry.also
                )
                parts.append(f"<small>also reported by {others}</small>")
            parts.append("</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def as_json(digest: Digest) -> dict[str, Any]:
    return {
        "watcher": digest.watcher.name,
        "since": _utc(digest.since).isoformat(timespec="seconds"),
        "until": _utc(digest.until).isoformat(timespec="seconds"),
        "stories": digest.stories,
        "articles": digest.articles,
        "watchlists": [
            {
                "watchlist": g.watchlist,
                "description": g.description,
                "entries": [
                    {
                        "article_id": x.article_id,
                        "story_id": x.story_id,
                        "title": x.title,
                        "url": x.url,
                        "source": x.source,
                        "published_at": _utc(x.published_at).isoformat(timespec="seconds")
                        if x.published_at
                        else None,
                        "terms": [{"term": t, "count": c} for t, c in x.terms],
                        "snippet": x.snippet,
                        "updated": x.updated,
                        "also": [{"source": s, "url": u} for s, u in x.also],
                    }
                    for x in g.entries
                ],
            }
            for g in digest.groups
        ],
    }


def render(digest: Digest, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(as_json(digest), ensure_ascii=False, indent=2) + "\n"
    return {"text": render_text, "md": render_markdown, "html": render_html}[fmt](digest)
