"""The `presswatch` command line: every command, its arguments and its help."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler import __version__
from crawler.cli.common import EXPORT_FIELDS
from crawler.config import DEFAULT_NAME


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help=f"config file (default: $PRESSWATCH_CONFIG, else ./{DEFAULT_NAME})",
    )
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="log more (-vv: debug)"
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress lines"
    )

    parser = argparse.ArgumentParser(
        prog="presswatch",
        description="Crawl news sites, extract and deduplicate their articles, and watch them "
        "for the conflicts you track.",
        parents=[common],
        epilog="Start with `presswatch demo`, then `presswatch init` for a config of your own.",
    )
    parser.add_argument("--version", action="version", version=f"presswatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str,
        command: str,
        help: str,
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        """A command, run by ``command`` (``module:function`` in crawler/cli/, imported only
        when that command runs, so that `presswatch --help` loads none of them)."""
        p = sub.add_parser(name, help=help, description=description or help, parents=[common])
        p.set_defaults(func=command)
        return p

    p = add(
        "init",
        "crawling:cmd_init",
        "write a commented example config",
        f"Write a commented example config to --config, $PRESSWATCH_CONFIG or ./{DEFAULT_NAME}.",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = add(
        "check",
        "crawling:cmd_check",
        "validate the config and print a summary; or show what a page gives",
        "Validate the config and print a summary of it. With --source and --url (or --file), "
        "fetch one page as a crawl of that source would (its time zone, language and CSS "
        "selectors, robots.txt obeyed) and show what is extracted, field by field, which "
        "watchlists it would flag, and what each of the source's selectors matched. Exit "
        "status 1 when the page gives no article.",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--source", metavar="NAME", help="the source whose settings the page is read with"
    )
    page = p.add_mutually_exclusive_group()
    page.add_argument("--url", help="a page to fetch and extract (with --source)")
    page.add_argument("--file", type=Path, help="a saved page to extract (with --source)")

    p = add(
        "crawl",
        "crawling:cmd_crawl",
        "crawl all (or the named) sources once",
        "Crawl all sources, or the named ones, once: discover articles in feeds, sitemaps "
        "and section pages, extract and store new ones, and print a summary per source. "
        "A source whose feeds and sitemaps all answer 304 Not Modified to the last crawl's "
        "validators is recorded as checked (finish reason not_modified) and not crawled. "
        "Exit status 1 when a crawl did not finish.",
    )
    p.add_argument("sources", nargs="*", metavar="NAME", help="source names (default: all)")
    p.add_argument("--json", action="store_true", help="print the summaries as JSON")
    p.add_argument(
        "--force",
        action="store_true",
        help="crawl even a source whose feeds and sitemaps all answer 304 Not Modified "
        "(by default such a source is recorded as checked, with nothing new, and not crawled)",
    )

    p = add(
        "export",
        "export:cmd_export",
        "write stored articles as JSON lines or CSV",
        "Write stored articles, one record each, oldest first. Fields: "
        + ", ".join(EXPORT_FIELDS)
        + ". In CSV, urls are space-separated and authors and "
        "tags '; '-separated.",
    )
    p.add_argument(
        "--since",
        metavar="DATE",
        help="only articles published (or, when undated, fetched) since DATE: "
        "2020-11-02, 2020-11-02T09:00:00+07:00, or a duration ago like 7d",
    )
    p.add_argument("--source", metavar="NAME", help="only this source")
    p.add_argument(
        "--format", choices=["jsonl", "csv"], default="jsonl", help="output format (default: jsonl)"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--flagged", action="store_true", help="only articles that match a watchlist")
    p.add_argument(
        "--watchlist",
        metavar="NAME",
        help="only articles that match this watchlist (implies --flagged)",
    )

    p = add(
        "demo",
        "crawling:cmd_demo",
        "crawl the bundled sample news site (no internet needed)",
        "Serve the bundled sample news site on 127.0.0.1, write a config for it, crawl it "
        "into a fresh SQLite database and show what was stored.",
    )
    p.add_argument(
        "--dir",
        metavar="DIR",
        help="where to put the demo config and database (default: a new temporary folder)",
    )
    p.add_argument("--json", action="store_true", help="print the stored articles as JSON")

    p = add(
        "flag",
        "watching:cmd_flag",
        "re-check stored articles against the watchlists",
        "Re-check stored articles against the watchlists (after you change them): add new "
        "matches, refresh changed ones, remove those that no longer hold. Idempotent.",
    )
    p.add_argument(
        "--rescan",
        action="store_true",
        help="re-check articles already checked (the default; accepted for clarity)",
    )
    p.add_argument("--watchlist", metavar="NAME", help="only this watchlist")
    p.add_argument("--since", metavar="DATE", help="only articles published since DATE")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")

    p = add(
        "match",
        "watching:cmd_match",
        "try a query on a text, a file, a web page or a stored article",
        "Try a watchlist query before saving it: prints whether it matches, the terms and "
        "snippets. Exit status 0 when it matches, 1 when not, 2 for a bad query.",
    )
    p.add_argument("query", metavar="QUERY", help="the query (see README, Watchlists)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", metavar="TEXT", help="match this text")
    source.add_argument("--file", metavar="FILE", help="match this UTF-8 text file")
    source.add_argument(
        "--url", metavar="URL", help="fetch this page and extract it as the crawl does"
    )
    source.add_argument("--article", metavar="ID", type=int, help="a stored article")
    p.add_argument("--lang", metavar="L", help="the text's language, for inflected forms")
    p.add_argument(
        "--json", action="store_true", help='print {"matched", "terms", "snippets"} as JSON'
    )

    p = add(
        "search",
        "watching:cmd_search",
        "search stored articles with the query language",
        "Search stored articles, newest first, with snippets. A full-text index narrows the "
        "candidates first; each is then matched exactly.",
    )
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--since", metavar="DATE", help="only articles published since DATE")
    p.add_argument("--source", metavar="NAME", help="only this source")
    p.add_argument("--limit", metavar="N", type=int, default=20, help="at most N (default 20)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")

    add(
        "run",
        "crawling:cmd_run",
        "run the daemon: crawl every source and send every digest on its schedule",
        "Run in the foreground (as systemd and containers expect), crawling each source every "
        "`every`, each crawl in its own process (with [cluster], announced to the workers "
        "instead), and sending each watcher's digest on its schedule (one catch-up digest "
        "for a time missed while it was down); log to stderr and [daemon] log_file. One "
        "daemon per database. SIGTERM or Ctrl-C stops it (running crawls get "
        "[daemon] stop_grace to finish); SIGHUP re-reads the config.",
    )

    add(
        "worker",
        "crawling:cmd_worker",
        "run a crawl worker of a cluster ([cluster] redis_url)",
        "Run in the foreground a worker that takes part in every crawl the daemon announces in "
        "the shared frontier (Redis): start as many as you like, on any machines that reach the "
        "same Redis and database. SIGTERM or Ctrl-C stops it; what it held goes back to the "
        "frontier for the others.",
    )

    p = add(
        "digest",
        "digests:cmd_digest",
        "show a watcher's next digest, or send it now (--send)",
        "Without --send (a dry run), print the digest a watcher would get now: what is pending "
        "for it and the flagged articles new or updated since its last digest, grouped by "
        "watchlist, then by story (copies of one story are one entry). With --since DATE, "
        "print every flagged article of that period instead, sent or not. With --send, "
        "deliver it now on each of the watcher's channels (email, webhook, directory, feed) "
        "through the outbox, as the daemon does on the watcher's schedule; exit status 1 if a "
        "channel failed (the digest stays pending and is retried on the next run).",
    )
    p.add_argument("watcher", nargs="?", metavar="WATCHER", help="a watcher (default: all)")
    p.add_argument(
        "--since",
        metavar="DATE",
        help="dry run over a period instead: matches new or updated since DATE (2020-11-02, "
        "a datetime, or a duration ago like 7d), delivered or not",
    )
    p.add_argument(
        "--format",
        choices=["text", "md", "html", "json"],
        default="text",
        help="output format (default: text); with --send, json prints what was sent",
    )
    p.add_argument("--dry-run", action="store_true", help="print only, send nothing (default)")
    p.add_argument("--send", action="store_true", help="deliver the digest now")

    p = add(
        "feed",
        "digests:cmd_feed",
        "write the Atom feed of a watchlist's flagged stories",
        "Write an Atom feed (one entry per story, newest first, the last [delivery] feed_days, "
        "at most [delivery] feed_entries) of the stories that match WATCHLIST, to stdout or "
        "FILE. Watchers with `feed = FILE` get theirs rewritten by every digest run.",
    )
    p.add_argument("watchlist", metavar="WATCHLIST", help="a configured watchlist")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")

    p = add(
        "status",
        "status:cmd_status",
        "show the daemon, each source's crawls, each watcher's digests, the cluster",
        "Show whether the daemon runs; for each source its last crawl (when, result, new "
        "articles, errors), its next scheduled one and its health; for each watcher its last "
        "and next digest and any delivery still pending, with why; with [cluster], the live "
        "workers and the frontier's length. Works with or without the daemon.",
    )
    p.add_argument("--json", action="store_true", help="print the status as JSON")

    p = add(
        "serve",
        "admin:cmd_serve",
        "serve the web view of the database (overview, stories, search, sources, digests)",
        "Serve the analyst's web view and its JSON API over the database, read only: each "
        "watchlist's new stories, mentions per day and top stories; stories with their hits "
        "highlighted; search with the watchlist query language; sources' health; digests. "
        "Binds 127.0.0.1 by default; on any other address it starts only with [web] "
        "password_env or trusted_proxy_header configured.",
    )
    p.add_argument("--host", help="address to listen on (default: [web] host, else 127.0.0.1)")
    p.add_argument(
        "--port", type=int, help="port to listen on (default: [web] port, else 8080; 0: any free)"
    )
    p.add_argument(
        "--workers", type=int, help="processes serving pages (default: [web] workers, else 4)"
    )

    p = add(
        "sources",
        "admin:cmd_sources",
        "add sources from site addresses or OPML, list them, export them as OPML",
        "Add sources without writing their blocks by hand: `sources add URL ...` finds each "
        "site's feeds, sitemaps or article links and appends [[sources]] blocks to the config "
        "(comments and order kept); `sources import FILE` takes an OPML file of feeds or a "
        "list of site addresses; `sources export` writes the sources as OPML; `sources list` "
        "shows every source with its listings, health and last crawl.",
    )
    actions = p.add_subparsers(dest="sources_command", metavar="ACTION", required=True)

    def action(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, help=help, description=description, parents=[common])

    s = action(
        "add",
        "find what to crawl on sites and add them as sources",
        "For each site address: read robots.txt and the home page, then check the feeds the "
        "page declares, the sitemaps robots.txt declares (else /sitemap.xml and "
        "/sitemap_index.xml) and, when the page declares no feed, the big CMSs' feed paths; "
        "keep those that parse and list recent articles of the site itself, the fewest that "
        "list them all; with none, the home page as a section page with an article_pattern "
        "taken from its links. Language and time zone are taken from what the site states. "
        "Prints what was found and why; a site with nothing usable is reported and not "
        "added (exit status 1). At most 16 requests per site, robots.txt obeyed, the "
        "configured user agent, sites probed at once.",
    )
    s.add_argument("urls", nargs="+", metavar="URL", help="a site address (https://example.org/)")
    s.add_argument(
        "--name", metavar="NAME", help="the source's name (one URL only; default: its host)"
    )
    s.add_argument(
        "--language", metavar="L", help="the sources' language (default: as the site states)"
    )
    s.add_argument(
        "--timezone",
        metavar="ZONE",
        help="the sources' time zone (default: as the site's dates state)",
    )
    s.add_argument("--dry-run", action="store_true", help="print what would be added only")
    s.add_argument("--json", action="store_true", help="print the findings as JSON")

    s = action(
        "import",
        "add sources from an OPML file of feeds, or a list of site addresses",
        "FILE is OPML 2.0 as feed readers export it (every outline with an xmlUrl is a feed, "
        "the outlines around it its categories; the feeds of one site become one source), or "
        "a text file of site addresses, one a line, each found as `sources add` finds it. "
        "Feeds already configured are reported, not added.",
    )
    s.add_argument("file", metavar="FILE", help="an .opml file, or a text file of site addresses")
    s.add_argument("--dry-run", action="store_true", help="print what would be added only")
    s.add_argument("--json", action="store_true", help="print the result as JSON")

    s = action(
        "export",
        "write the sources as OPML 2.0",
        "Write every source as OPML 2.0 for a feed reader (one outline per feed), to stdout "
        "or FILE; what else a source says (sitemaps, pages, pattern, language...) rides along "
        "in presswatch: attributes, so the file imports back to the same sources.",
    )
    s.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")

    s = action(
        "list",
        "show every source: its listings, health and last crawl",
        "Show every configured source: its feeds, sitemaps and pages, its health (failing, "
        "quiet, broken or stale, with what to do) and its last crawl's result.",
    )
    s.add_argument("--json", action="store_true", help="print the sources as JSON")

    p = add(
        "db",
        "admin:cmd_db",
        "database: upgrade the schema, show its revision, or run the maintenance",
        "upgrade: bring the schema up to date; current: show its revision; maintain: delete "
        "crawl runs (and pages remembered without text not tried since) and earlier article "
        "texts past [daemon] keep_runs / keep_revisions and "
        "let the database tidy itself (the daemon does this every [daemon] maintenance_every).",
    )
    p.add_argument("db_command", choices=["upgrade", "current", "maintain"], help="what to do")
    return parser
