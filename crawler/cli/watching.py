"""`presswatch flag`, `match` and `search`: watchlists over stored articles, a page or a text."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crawler.cli.common import UsageError, load, open_database, since_argument
from crawler.config import DEFAULT_USER_AGENT, Config, ConfigError
from crawler.digests.render import marked
from crawler.escaping import terminal_text
from crawler.watch.evaluation import compile_query
from crawler.watch.flagging import Flagger, reflag, search_stored
from crawler.watch.matcher import WatchlistQuery, match_query
from crawler.watch.query import QueryError
from storage.models import Article
from storage.types import iso


def _flagger(config: Config, only: str | None = None) -> Any:
    chosen = [config.watchlist(only)] if only else config.watchlists
    if not chosen:
        raise UsageError(f"{config.path} has no [[watchlists]]: add one (see `presswatch init`)")
    return Flagger([WatchlistQuery(w.name, w.query, tuple(w.languages)) for w in chosen])


def cmd_flag(args: argparse.Namespace) -> int:
    config = load(args)
    flagger = _flagger(config, args.watchlist)
    since = since_argument(args.since)
    engine = open_database(config, write=True)

    def progress(checked: int) -> None:
        if not args.quiet:
            print(f"  checked {checked} articles", file=sys.stderr)

    try:
        checked, totals = reflag(engine, flagger, since, datetime.now(UTC), progress)
    finally:
        engine.dispose()
    result = {"articles": checked, **totals}
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"checked {checked} articles against {len(flagger.names)} watchlists: "
            f"{totals['new']} new matches, {totals['updated']} updated, "
            f"{totals['kept']} unchanged, {totals['removed']} removed"
        )
    return 0


def _highlight(snippet: dict[str, Any], color: bool) -> str:
    """The snippet on one line, its hits in bold yellow (``color``) or in brackets; the
    text's own control characters and escape sequences removed (``terminal_text``)."""

    on, off = ("\033[1;33m", "\033[0m") if color else ("[", "]")
    return marked(snippet, on, off, terminal_text)


def cmd_match(args: argparse.Namespace) -> int:
    try:
        compile_query(args.query)
    except QueryError as exc:
        raise UsageError(f"query {args.query!r}: {exc}") from None
    title, text, language = _match_input(args)
    found = match_query(args.query, title, text, language)
    if args.json:
        data = found.as_dict() if found else {"terms": [], "snippets": []}
        print(
            json.dumps(
                {
                    "matched": found is not None,
                    "terms": data["terms"],
                    "snippets": data["snippets"],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0 if found else 1
    if found is None:
        print("no match")
        return 1
    print(
        "match: "
        + ", ".join(
            f"{terminal_text(t.term)} ×{t.count} ({'+'.join(t.where)})" for t in found.terms
        )
    )
    color = sys.stdout.isatty()
    for snippet in found.snippets:
        print("  " + _highlight(snippet.as_dict(), color))
    return 0


def _match_input(args: argparse.Namespace) -> tuple[str, str, str | None]:
    if args.text is not None:
        return "", args.text, args.lang
    if args.file is not None:
        try:
            return "", Path(args.file).read_text(encoding="utf-8"), args.lang
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--file {args.file}: cannot be read as UTF-8 text ({exc})") from None
    if args.url is not None:
        return _fetch_and_extract(args.url, args)

    config = load(args)
    engine = open_database(config, write=False)
    try:
        with Session(engine) as session:
            article = session.get(Article, args.article)
            if article is None:
                raise UsageError(f"--article {args.article}: no stored article has this id")
            return article.title or "", article.text, args.lang or article.language
    finally:
        engine.dispose()


def _fetch_and_extract(url: str, args: argparse.Namespace) -> tuple[str, str, str | None]:
    from crawler.extract.article import ExtractionOptions, extract_article
    from crawler.extract.decoding import decode_html

    try:
        config: Config | None = load(args)
    except ConfigError:
        config = None
    agent = config.crawl.user_agent if config else DEFAULT_USER_AGENT
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read(20_000_000)
            charset = response.headers.get_content_charset()
    except (urllib.error.URLError, ValueError, OSError) as exc:
        raise UsageError(f"--url {url}: cannot be fetched ({exc})") from None
    article = extract_article(decode_html(body, charset), ExtractionOptions(url=url))
    if article is None:
        raise UsageError(f"--url {url}: the page has no article text to match")
    return article.title or "", article.text, args.lang or article.language


def cmd_search(args: argparse.Namespace) -> int:
    try:
        node = compile_query(args.query)
    except QueryError as exc:
        raise UsageError(f"query {args.query!r}: {exc}") from None
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    config = load(args)
    if args.source:
        config.source(args.source)
    since = since_argument(args.since)
    engine = open_database(config, write=False)
    try:
        with Session(engine) as session:
            results = search_stored(session, args.query, node, since, args.source, args.limit)
    finally:
        engine.dispose()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": a.id,
                        "title": a.title,
                        "url": a.url,
                        "source": a.source,
                        "published_at": iso(a.published_at, precise=True),
                        "language": a.language,
                        **{
                            k: v
                            for k, v in m.as_dict().items()
                            if k in ("terms", "score", "snippets")
                        },
                    }
                    for a, m in results
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    color = sys.stdout.isatty()
    for article, match in results:
        when = article.published_at.strftime("%Y-%m-%d %H:%M") if article.published_at else "-"
        source, title = terminal_text(article.source), terminal_text(article.title or "")
        print(f"{when}  {source}  #{article.id}  {title}\n  {terminal_text(article.url)}")
        for snippet in match.snippets[:2]:
            print("    " + _highlight(snippet.as_dict(), color))
    print(f"{len(results)} articles", file=sys.stderr)
    return 0
