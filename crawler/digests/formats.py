"""A whole digest as a reader gets it: plain text (terminals, the email's text part), Markdown
(directory files), HTML (the email, directory files), Slack mrkdwn (webhooks) and JSON; the email
subject; the mentions chart as lines or a PNG.

Every piece of stored text is made safe for each rendering by crawler.escaping: one line with no
control character in text, Markdown and Slack text, escaped in HTML, and free of what XML forbids.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from crawler.digests.digest import Chart, Digest, Entry, Group, utc
from crawler.escaping import header_text, json_safe, terminal_text, xml_text


def _when(digest: Digest, value: datetime | None) -> str:
    if value is None:
        return "undated"
    return utc(value).astimezone(digest.watcher.zone).strftime("%Y-%m-%d %H:%M %Z")


def terms_text(entry: Entry) -> str:
    return ", ".join(f"{term} ×{count}" for term, count in entry.terms)


def marked(snippet: dict[str, Any] | None, open_: str, close: str, escape: Any) -> str:
    if not snippet:
        return ""
    text, out, position = str(snippet["text"]), [], 0
    for start, end in snippet.get("highlights", []):
        out.append(escape(text[position:start]))
        out.append(open_ + escape(text[start:end]) + close)
        position = end
    out.append(escape(text[position:]))
    return "".join(out)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _header(digest: Digest) -> str:
    period = f"{_when(digest, digest.since)} to {_when(digest, digest.until)}"
    name = digest.watcher.name
    if digest.kind == "alert":
        watchlists = ", ".join(g.watchlist for g in digest.groups)
        return f"URGENT presswatch alert for {name}: {_stories(digest.stories)} on {watchlists}"
    folded = (
        f"; {_plural(digest.folded, 'more article')} on stories already sent"
        if digest.folded
        else ""
    )
    if not digest.groups:
        return f"presswatch digest for {name}: nothing new{folded}, {period}"
    return (
        f"presswatch digest for {name}: {_stories(digest.stories)} "
        f"({_plural(digest.articles, 'article')}) in {_plural(len(digest.groups), 'watchlist')}"
        f"{folded}, {period}"
    )


SUBJECT_TITLE_LENGTH = 150


def subject(digest: Digest) -> str:
    """The email subject: what a watcher scans in an inbox. One line without control
    characters or anything a mail client would decode, whatever the headline holds
    (``header_text``); the email package encodes its non-ASCII text."""
    return header_text(_subject(digest))


def _subject(digest: Digest) -> str:
    if digest.kind == "alert":
        lead = digest.groups[0].entries[0] if digest.groups else None
        title = header_text(lead.title, max_length=SUBJECT_TITLE_LENGTH) if lead else ""
        more = f" (+{digest.stories - 1} more)" if digest.stories > 1 else ""
        watchlists = ", ".join(g.watchlist for g in digest.groups)
        return f"URGENT [{watchlists}] {title}{more}"
    day = utc(digest.until).astimezone(digest.watcher.zone).strftime("%d %b %Y")
    if not digest.groups:
        return f"presswatch digest {day}: nothing new"
    counts = ", ".join(f"{g.watchlist} {len(g.entries)}" for g in digest.groups)
    return f"presswatch digest {day}: {_stories(digest.stories)} ({counts})"


def _stories(count: int) -> str:
    return f"{count} {'story' if count == 1 else 'stories'}"


def _sparkline(counts: tuple[int, ...]) -> str:
    from crawler.digests.chart import sparkline

    return sparkline(counts)


def _chart_lines(chart: Chart) -> list[str]:
    first, last = chart.days[0].strftime("%d %b"), chart.days[-1].strftime("%d %b")
    width = max(len(name) for name in chart.series)
    return [f"mentions per day, {first} to {last}:"] + [
        f"  {name.ljust(width)} |{_sparkline(counts)}| {sum(counts)}"
        for name, counts in chart.series.items()
    ]


def _unhealthy_lines(digest: Digest) -> list[str]:
    return [f"{u.source}: {u.state}, {u.reason}" for u in digest.unhealthy]


def render_text(digest: Digest) -> str:
    """Plain text for terminals and the email's text part: each stored text on one line,
    with no control character (``terminal_text``)."""
    t = terminal_text
    lines = [t(_header(digest))]
    for group in digest.groups:
        title = f"{group.watchlist} — {group.description}" if group.description else group.watchlist
        lines += ["", f"== {t(title)}: {_stories(len(group.entries))}"]
        for entry in group.entries:
            flag = " [UPDATED]" if entry.updated else ""
            lines += [
                "",
                f"* {t(entry.title)}{flag}",
                f"  {t(entry.source)} · {_when(digest, entry.published_at)} · "
                f"{t(terms_text(entry))}",
            ]
            snippet = marked(entry.snippet, "[", "]", t)
            if snippet:
                lines.append(f"  {snippet}")
            lines.append(f"  {t(entry.url)}")
            if entry.also:
                lines.append(
                    "  also reported by: " + ", ".join(f"{t(s)} {t(u)}" for s, u in entry.also)
                )
    if digest.chart and digest.chart.series:
        lines += ["", *_chart_lines(digest.chart)]
    if digest.unhealthy:
        lines += ["", "Sources needing attention:"]
        lines += [f"  {t(line)}" for line in _unhealthy_lines(digest)]
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in terminal_text(text))


def _md_url(url: str) -> str:
    """A link destination inside ``<...>``, which cannot hold a line break, ``<`` or ``>``."""
    return terminal_text(url).replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def render_markdown(digest: Digest) -> str:
    lines = [f"# {_md_escape(_header(digest))}"]
    for group in digest.groups:
        description = f" — {_md_escape(group.description)}" if group.description else ""
        lines += ["", f"## {_md_escape(group.watchlist)}{description} ({len(group.entries)})"]
        for entry in group.entries:
            flag = " **(updated)**" if entry.updated else ""
            lines += [
                "",
                f"- [{_md_escape(entry.title)}](<{_md_url(entry.url)}>){flag}  ",
                f"  {_md_escape(entry.source)} · {_when(digest, entry.published_at)} · "
                f"{_md_escape(terms_text(entry))}  ",
            ]
            snippet = marked(entry.snippet, "**", "**", _md_escape)
            if snippet:
                lines.append(f"  > {snippet}  ")
            if entry.also:
                others = ", ".join(f"[{_md_escape(s)}](<{_md_url(u)}>)" for s, u in entry.also)
                lines.append(f"  also reported by {others}")
    if digest.chart and digest.chart.series:
        lines += ["", "```", *_chart_lines(digest.chart), "```"]
    if digest.unhealthy:
        lines += ["", "## Sources needing attention", ""]
        lines += [f"- {_md_escape(line)}" for line in _unhealthy_lines(digest)]
    return "\n".join(lines) + "\n"


def chart_png(chart: Chart) -> bytes:
    from crawler.digests.chart import mentions_png

    return mentions_png(chart.days, chart.series)


def _html(text: str, quote: bool = True) -> str:
    """Stored text as HTML text or an attribute value: escaped, with no character XML and
    HTML forbid (controls, noncharacters, surrogates) and its line breaks made spaces (as
    HTML shows them), so that the page is clean for a terminal too."""
    return html.escape(xml_text(terminal_text(text)), quote=quote)


def render_html(digest: Digest, chart_src: str | None = None) -> str:
    """HTML for mail clients and browsers: inline styles only, every article text escaped.
    ``chart_src`` is where the chart image is (an email's ``cid:``); by default it is inlined
    as a data URI."""
    e = _html
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width'>",
        f"<title>{e(_header(digest))}</title></head>",
        "<body style='font-family:sans-serif;max-width:720px;margin:auto;color:#222'>",
        f"<h1 style='font-size:1.2em'>{e(_header(digest))}</h1>",
    ]
    for group in digest.groups:
        description = f" — {e(group.description)}" if group.description else ""
        parts.append(
            f"<h2 style='font-size:1.05em;border-bottom:1px solid #ccc'>{e(group.watchlist)}"
            f"{description} ({len(group.entries)})</h2><ul style='padding-left:1.2em'>"
        )
        for entry in group.entries:
            flag = " <strong style='color:#b15a00'>(updated)</strong>" if entry.updated else ""
            parts.append(
                f"<li style='margin-bottom:.9em'><a href='{e(entry.url, quote=True)}'>"
                f"{e(entry.title)}</a>{flag}<br>"
                f"<small style='color:#555'>{e(entry.source)} · "
                f"{e(_when(digest, entry.published_at))} · {e(terms_text(entry))}</small>"
            )
            snippet = marked(entry.snippet, "<mark style='background:#ffe48a'>", "</mark>", e)
            if snippet:
                parts.append(
                    "<blockquote style='margin:.3em 0 .3em .5em;padding-left:.6em;"
                    f"border-left:3px solid #ddd'>{snippet}</blockquote>"
                )
            if entry.also:
                others = ", ".join(
                    f"<a href='{e(u, quote=True)}'>{e(s)}</a>" for s, u in entry.also
                )
                parts.append(f"<small>also reported by {others}</small>")
            parts.append("</li>")
        parts.append("</ul>")
    if digest.chart and digest.chart.series:
        if chart_src is None:
            chart_src = "data:image/png;base64," + base64.b64encode(chart_png(digest.chart)).decode(
                "ascii"
            )
        first, last = digest.chart.days[0], digest.chart.days[-1]
        parts.append(
            f"<h2 style='font-size:1.05em'>Mentions per day, {first:%d %b} to {last:%d %b}</h2>"
            f"<img src='{e(chart_src, quote=True)}' alt='mentions per day: "
            + e("; ".join(f"{n} {sum(c)}" for n, c in digest.chart.series.items()), quote=True)
            + "' style='max-width:100%'>"
        )
    if digest.unhealthy:
        parts.append("<h2 style='font-size:1.05em'>Sources needing attention</h2><ul>")
        parts += [f"<li>{e(line)}</li>" for line in _unhealthy_lines(digest)]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _slack_escape(text: str) -> str:
    return terminal_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(digest: Digest) -> str:
    """Slack-compatible mrkdwn (also what Mattermost and Rocket.Chat read)."""
    x = _slack_escape
    lines = [f"*{x(_header(digest))}*"]
    for group in digest.groups:
        lines.append(f"*{x(group.watchlist)}* ({len(group.entries)})")
        for entry in group.entries:
            flag = " _(updated)_" if entry.updated else ""
            url = _md_url(entry.url).replace("|", "%7C")
            link = f"<{url}|{x(entry.title).replace('|', '¦')}>"
            lines.append(
                f"• {link}{flag} — {x(entry.source)}, {_when(digest, entry.published_at)}"
                f" — {x(terms_text(entry))}"
            )
            if entry.also:
                lines.append(f"   also: {x(', '.join(s for s, _ in entry.also))}")
    if digest.unhealthy:
        lines.append("Sources needing attention: " + x("; ".join(_unhealthy_lines(digest))))
    return "\n".join(lines)


def _iso(value: datetime | None) -> str | None:
    return utc(value).isoformat(timespec="seconds") if value else None


def entry_json(group: Group, x: Entry) -> dict[str, Any]:
    return {
        "watchlist": group.watchlist,
        "article_id": x.article_id,
        "story_id": x.story_id,
        "title": x.title,
        "url": x.url,
        "source": x.source,
        "published_at": _iso(x.published_at),
        "terms": [{"term": t, "count": c} for t, c in x.terms],
        "snippet": x.snippet,
        "updated": x.updated,
        "also": [{"source": s, "url": u} for s, u in x.also],
    }


def as_json(digest: Digest) -> dict[str, Any]:
    return {
        "watcher": digest.watcher.name,
        "kind": digest.kind,
        "since": _iso(digest.since),
        "until": _iso(digest.until),
        "stories": digest.stories,
        "articles": digest.articles,
        "folded": digest.folded,
        "watchlists": [
            {
                "watchlist": g.watchlist,
                "description": g.description,
                "entries": [entry_json(g, x) for x in g.entries],
            }
            for g in digest.groups
        ],
        "unhealthy_sources": [
            {"source": u.source, "state": u.state, "reason": u.reason} for u in digest.unhealthy
        ],
        "mentions_per_day": {
            "days": [d.isoformat() for d in digest.chart.days],
            "watchlists": {n: list(c) for n, c in digest.chart.series.items()},
        }
        if digest.chart
        else None,
    }


RENDERERS: dict[str, Callable[[Digest], str]] = {
    "text": render_text,
    "md": render_markdown,
    "html": render_html,
}


def render(digest: Digest, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(json_safe(as_json(digest)), ensure_ascii=False, indent=2) + "\n"
    return RENDERERS[fmt](digest)
