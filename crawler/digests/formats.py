"""A whole digest as a reader gets it: plain text (terminals, the email's text part), Markdown
(directory files), HTML (the email, directory files), Slack mrkdwn (webhooks) and JSON; the email
subject; the mentions chart as lines or a PNG.

Every piece of stored text is made safe for each rendering by crawler.escaping: one line with no
control character in text, Markdown and Slack text, escaped in HTML, and free of what XML forbids.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from crawler.digests.digest import Chart, Digest
from crawler.digests.render import (
    entry_html,
    entry_json,
    entry_markdown,
    entry_slack,
    entry_text,
    html_text,
    iso,
    md_escape,
    slack_escape,
    when,
)
from crawler.escaping import header_text, json_safe, terminal_text
from storage.types import utc


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _header(digest: Digest) -> str:
    zone = digest.watcher.zone
    period = f"{when(digest.since, zone)} to {when(digest.until, zone)}"
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
            lines += ["", *entry_text(entry, digest.watcher.zone)]
    if digest.chart and digest.chart.series:
        lines += ["", *_chart_lines(digest.chart)]
    if digest.unhealthy:
        lines += ["", "Sources needing attention:"]
        lines += [f"  {t(line)}" for line in _unhealthy_lines(digest)]
    return "\n".join(lines) + "\n"


def render_markdown(digest: Digest) -> str:
    lines = [f"# {md_escape(_header(digest))}"]
    for group in digest.groups:
        description = f" — {md_escape(group.description)}" if group.description else ""
        lines += ["", f"## {md_escape(group.watchlist)}{description} ({len(group.entries)})"]
        for entry in group.entries:
            lines += ["", *entry_markdown(entry, digest.watcher.zone)]
    if digest.chart and digest.chart.series:
        lines += ["", "```", *_chart_lines(digest.chart), "```"]
    if digest.unhealthy:
        lines += ["", "## Sources needing attention", ""]
        lines += [f"- {md_escape(line)}" for line in _unhealthy_lines(digest)]
    return "\n".join(lines) + "\n"


def chart_png(chart: Chart) -> bytes:
    from crawler.digests.chart import mentions_png

    return mentions_png(chart.days, chart.series)


def render_html(digest: Digest, chart_src: str | None = None) -> str:
    """HTML for mail clients and browsers: inline styles only, every article text escaped.
    ``chart_src`` is where the chart image is (an email's ``cid:``); by default it is inlined
    as a data URI."""
    e = html_text
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
            parts += entry_html(entry, digest.watcher.zone)
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


def render_slack(digest: Digest) -> str:
    """Slack-compatible mrkdwn (also what Mattermost and Rocket.Chat read)."""
    x = slack_escape
    lines = [f"*{x(_header(digest))}*"]
    for group in digest.groups:
        lines.append(f"*{x(group.watchlist)}* ({len(group.entries)})")
        for entry in group.entries:
            lines += entry_slack(entry, digest.watcher.zone)
    if digest.unhealthy:
        lines.append("Sources needing attention: " + x("; ".join(_unhealthy_lines(digest))))
    return "\n".join(lines)


def as_json(digest: Digest) -> dict[str, Any]:
    return {
        "watcher": digest.watcher.name,
        "kind": digest.kind,
        "since": iso(digest.since),
        "until": iso(digest.until),
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
