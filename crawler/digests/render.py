"""One digest entry rendered in each format that shows one, written once: a story's lead title
and link, its source, date and matched terms, a snippet with its hits marked, and the other
sources that reported it, as plain text, Markdown, HTML, Slack mrkdwn, JSON and the Atom feed's
HTML summary; and a snippet with its hits marked, which the command line shows as well.

Each function takes the one entry record (``digest.Entry``) and applies its format's escaping
(crawler.escaping) to every piece of stored text: one line with no control character in text,
Markdown and Slack text, escaped in HTML, and free of what XML forbids.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from crawler.digests.digest import Entry, Group
from crawler.escaping import terminal_text, xml_text
from storage.types import iso, utc

# -- the pieces every format shows -----------------------------------------------------------


def when(value: datetime | None, zone: tzinfo) -> str:
    """A time as a watcher reads it: in their zone, or "undated"."""
    if value is None:
        return "undated"
    return utc(value).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def terms_text(entry: Entry) -> str:
    return ", ".join(f"{term} ×{count}" for term, count in entry.terms)


def marked(snippet: dict[str, Any] | None, open_: str, close: str, escape: Any) -> str:
    """The snippet's text through ``escape``, each hit between ``open_`` and ``close``; hits
    in order, a repeated or overlapping one once."""
    if not snippet:
        return ""
    text, out, position = str(snippet["text"]), [], 0
    for start, end in sorted({(int(a), int(b)) for a, b in snippet.get("highlights", [])}):
        if start < position:
            continue
        out.append(escape(text[position:start]))
        out.append(open_ + escape(text[start:end]) + close)
        position = end
    out.append(escape(text[position:]))
    return "".join(out)


# -- each format's escaping ------------------------------------------------------------------


def md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in terminal_text(text))


def md_url(url: str) -> str:
    """A link destination inside ``<...>``, which cannot hold a line break, ``<`` or ``>``."""
    return terminal_text(url).replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def html_text(text: str, quote: bool = True) -> str:
    """Stored text as HTML text or an attribute value: escaped, with no character XML and
    HTML forbid (controls, noncharacters, surrogates) and its line breaks made spaces (as
    HTML shows them), so that the page is clean for a terminal too."""
    return html.escape(xml_text(terminal_text(text)), quote=quote)


def slack_escape(text: str) -> str:
    return terminal_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- one entry, each format ------------------------------------------------------------------


def entry_text(entry: Entry, zone: tzinfo) -> list[str]:
    """Plain text lines: each stored text on one line, with no control character."""
    t = terminal_text
    flag = " [UPDATED]" if entry.updated else ""
    lines = [
        f"* {t(entry.title)}{flag}",
        f"  {t(entry.source)} · {when(entry.published_at, zone)} · {t(terms_text(entry))}",
    ]
    snippet = marked(entry.snippet, "[", "]", t)
    if snippet:
        lines.append(f"  {snippet}")
    lines.append(f"  {t(entry.url)}")
    if entry.also:
        lines.append("  also reported by: " + ", ".join(f"{t(s)} {t(u)}" for s, u in entry.also))
    return lines


def entry_markdown(entry: Entry, zone: tzinfo) -> list[str]:
    flag = " **(updated)**" if entry.updated else ""
    lines = [
        f"- [{md_escape(entry.title)}](<{md_url(entry.url)}>){flag}  ",
        f"  {md_escape(entry.source)} · {when(entry.published_at, zone)} · "
        f"{md_escape(terms_text(entry))}  ",
    ]
    snippet = marked(entry.snippet, "**", "**", md_escape)
    if snippet:
        lines.append(f"  > {snippet}  ")
    if entry.also:
        others = ", ".join(f"[{md_escape(s)}](<{md_url(u)}>)" for s, u in entry.also)
        lines.append(f"  also reported by {others}")
    return lines


def entry_html(entry: Entry, zone: tzinfo) -> list[str]:
    """An ``<li>`` for mail clients and browsers, in lines: inline styles only."""
    e = html_text
    flag = " <strong style='color:#b15a00'>(updated)</strong>" if entry.updated else ""
    parts = [
        f"<li style='margin-bottom:.9em'><a href='{e(entry.url, quote=True)}'>"
        f"{e(entry.title)}</a>{flag}<br>"
        f"<small style='color:#555'>{e(entry.source)} · "
        f"{e(when(entry.published_at, zone))} · {e(terms_text(entry))}</small>"
    ]
    snippet = marked(entry.snippet, "<mark style='background:#ffe48a'>", "</mark>", e)
    if snippet:
        parts.append(
            "<blockquote style='margin:.3em 0 .3em .5em;padding-left:.6em;"
            f"border-left:3px solid #ddd'>{snippet}</blockquote>"
        )
    if entry.also:
        parts.append(f"<small>also reported by {_also_links(entry, e)}</small>")
    parts.append("</li>")
    return parts


def entry_summary_html(entry: Entry) -> str:
    """The Atom entry's summary, as HTML text (Atom escapes it once more as XML)."""
    e = html.escape
    parts = [f"<p><small>{e(entry.source)} · {e(terms_text(entry))}</small></p>"]
    snippet = marked(entry.snippet, "<strong>", "</strong>", e)
    if snippet:
        parts.append(f"<blockquote>{snippet}</blockquote>")
    if entry.also:
        parts.append(f"<p>also reported by {_also_links(entry, e)}</p>")
    return "".join(parts)


def _also_links(entry: Entry, escape: Callable[..., str]) -> str:
    return ", ".join(f"<a href='{escape(u, quote=True)}'>{escape(s)}</a>" for s, u in entry.also)


def entry_slack(entry: Entry, zone: tzinfo) -> list[str]:
    """Slack-compatible mrkdwn (also what Mattermost and Rocket.Chat read)."""
    x = slack_escape
    flag = " _(updated)_" if entry.updated else ""
    url = md_url(entry.url).replace("|", "%7C")
    link = f"<{url}|{x(entry.title).replace('|', '¦')}>"
    lines = [
        f"• {link}{flag} — {x(entry.source)}, {when(entry.published_at, zone)}"
        f" — {x(terms_text(entry))}"
    ]
    if entry.also:
        lines.append(f"   also: {x(', '.join(s for s, _ in entry.also))}")
    return lines


def entry_json(group: Group, x: Entry) -> dict[str, Any]:
    return {
        "watchlist": group.watchlist,
        "article_id": x.article_id,
        "story_id": x.story_id,
        "title": x.title,
        "url": x.url,
        "source": x.source,
        "published_at": iso(x.published_at, zulu=False),
        "terms": [{"term": t, "count": c} for t, c in x.terms],
        "snippet": x.snippet,
        "updated": x.updated,
        "also": [{"source": s, "url": u} for s, u in x.also],
    }
