"""`presswatch init`, `check`, `crawl`, `run`, `worker` and `demo`: setting up and crawling."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crawler.cli.common import (
    UsageError,
    daemon_logging,
    every_text,
    load,
    open_database,
    some_names,
)
from crawler.config import DEFAULT_NAME, Config, ConfigError
from crawler.escaping import terminal_text
from storage.listings import listing_states_of
from storage.lock import DaemonRunning

logger = logging.getLogger("presswatch")


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.config or os.environ.get("PRESSWATCH_CONFIG") or DEFAULT_NAME)
    if target.exists() and not args.force:
        raise UsageError(f"{target} already exists: pass --force to overwrite it")
    text = resources.files("crawler").joinpath("example.toml").read_text(encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}; check it with `presswatch --config {target} check`")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    config = load(args)
    if args.url or args.file:
        return _check_page(args, config)
    if args.source:
        raise UsageError("--source names the source a page is checked for: give --url or --file")
    summary = {
        "config": str(config.path),
        "storage": config.database_url,
        "crawl": {
            "user_agent": config.crawl.user_agent,
            "obey_robots": config.crawl.obey_robots,
            "max_article_age_seconds": config.crawl.max_article_age.total_seconds(),
        },
        "sources": [
            {
                "name": s.name,
                "feeds": len(s.feeds),
                "sitemaps": len(s.sitemaps),
                "pages": len(s.pages),
                "every_seconds": s.every.total_seconds(),
                "timezone": s.timezone,
                "language": s.language,
                "domains": s.domains,
            }
            for s in config.sources
        ],
        "watchers": [
            {
                "name": w.name,
                "watchlists": w.watchlists,
                "schedule": w.schedule,
                "timezone": w.timezone,
                "channels": w.channels,
            }
            for w in config.watchers
        ],
        "warnings": _delivery_warnings(config),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{config.path}: OK")
    print(f"  storage  {config.database_url}")
    print(
        f"  crawl    user agent {config.crawl.user_agent!r}, robots.txt "
        f"{'obeyed' if config.crawl.obey_robots else 'IGNORED'}, articles up to "
        f"{every_text(int(config.crawl.max_article_age.total_seconds()))} old"
    )
    daemon = config.daemon
    print(
        f"  daemon   at most {daemon.max_parallel_crawls} crawls at once, time limit "
        f"{every_text(int(daemon.crawl_time_limit.total_seconds()))}, intervals "
        f"{'adaptive' if daemon.adaptive else 'fixed'}"
    )
    print(f"  sources  {len(config.sources)}")
    for s in config.sources:
        print(
            f"    {s.name:<20} {len(s.feeds)} feeds, {len(s.sitemaps)} sitemaps, "
            f"{len(s.pages)} pages; every {every_text(int(s.every.total_seconds()))}; "
            f"{s.timezone}; "
            f"domains {', '.join(s.domains)}"
        )
    if not config.sources:
        print("    (none: add [[sources]] tables to crawl something)")
    if config.watchers:
        print(f"  watchers {len(config.watchers)}")
        for w in config.watchers:
            channels = ", ".join(w.channels) or "no channel (dry runs only)"
            print(
                f"    {w.name:<20} {', '.join(w.watchlists)}; {w.schedule} {w.timezone}; {channels}"
            )
    for warning in summary["warnings"]:
        print(f"  warning: {warning}")
    return 0


def _delivery_warnings(config: Config) -> list[str]:
    """What will make a delivery fail though the config is valid."""
    smtp = config.delivery.smtp
    warnings = []
    if any(w.email for w in config.watchers):
        if smtp.password_env and smtp.password_env not in os.environ:
            warnings.append(
                f"[delivery.smtp] password_env names ${smtp.password_env}, which is not set "
                "here: email digests will wait (pending) until it is"
            )
        if smtp.username and not smtp.password_env:
            warnings.append(
                "[delivery.smtp] has a username but no password_env: set password_env to the "
                "environment variable holding the password"
            )
    return warnings


PRECHECK_SOURCES_AT_ONCE = 16


def _precheck(config: Config, name: str, engine: Any, states: dict[str, Any]) -> Any:
    from crawler.scrapy.precheck import Precheck, precheck

    try:
        return precheck(config, config.source(name), engine, states)
    except Exception as exc:  # the crawl will meet and record whatever this was
        logger.warning("checking %s's listings failed (%s); crawling", name, exc)
        return Precheck(False, "the check failed")


def _check_page(args: argparse.Namespace, config: Config) -> int:
    from crawler.extract.pagecheck import PageCheckError, check_page

    if not args.source:
        names = ", ".join(s.name for s in config.sources) or "none in the config"
        raise UsageError(f"--url and --file need --source NAME (the sources: {names})")
    try:
        source = config.source(args.source)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    try:
        check = check_page(config, source, url=args.url, file=args.file)
    except PageCheckError as exc:
        print(f"presswatch: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(check.as_json(), indent=2, ensure_ascii=False))
        return 0 if check.processed else 1
    data = check.as_json()
    got = f"HTTP {check.status}, " if check.status is not None else ""
    print(f"{check.url}  ({got}{check.size:,} bytes, charset {check.encoding or 'not declared'})")
    for name, (css, count) in check.selectors.items():
        found = f"{count} element(s)" if count else "nothing: the general rule is used"
        print(f"  {name}_selector {css!r}: {found}")
    article = data["article"]
    if article is None:
        print("  no article text: a crawl would count this page as empty")
        return 1
    for label, key in (
        ("title", "title"),
        ("published", "published_at"),
        ("language", "language"),
        ("site name", "site_name"),
        ("canonical", "canonical_url"),
        ("description", "description"),
    ):
        print(f"  {label:<12}{article[key] if article[key] is not None else '-'}")
    print(f"  {'authors':<12}{'; '.join(article['authors']) or '-'}")
    print(f"  {'tags':<12}{', '.join(article['tags']) or '-'}")
    print(f"  {'watchlists':<12}{', '.join(data['watchlists']) or '-'}")
    print(f"  {'text':<12}{article['text_chars']:,} characters:")
    for line in article["text"].split("\n")[:8]:
        print(f"    {line[:160]}")
    if article["text"].count("\n") >= 8:
        print("    …")
    return 0


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.scrapy.crawl import crawl_sources, print_summaries, read_summaries

    config = load(args)
    names = args.sources or [s.name for s in config.sources]
    if not names:
        raise UsageError(f"{config.path} has no [[sources]] to crawl")
    for name in names:
        config.source(name)
    engine = open_database(config, write=True)
    unchanged: dict[str, int | None] = {}
    expect_articles = args.force
    try:
        if not args.force and config.cluster is None:
            with Session(engine) as session:
                stored = listing_states_of(session, names)
            # Many sources' listings are checked at once (each check waits on the network).
            with ThreadPoolExecutor(PRECHECK_SOURCES_AT_ONCE) as pool:
                checks = pool.map(lambda name: _precheck(config, name, engine, stored[name]), names)
                for name, checked in zip(names, checks, strict=True):
                    if checked.unchanged:
                        unchanged[name] = checked.run_id
                        continue
                    expect_articles = expect_articles or checked.listings_changed
                    if not args.quiet and len(names) <= 20:
                        why = terminal_text(checked.why)
                        print(f"{name}: crawling, as {why}", file=sys.stderr)
    finally:
        engine.dispose()
    if unchanged and not args.quiet:
        print(
            f"{some_names(list(unchanged))}: nothing new (every feed and sitemap answered "
            "304 Not Modified); not crawled",
            file=sys.stderr,
        )
    to_crawl = [name for name in names if name not in unchanged]
    summaries = []
    if to_crawl:
        if not args.quiet:
            print(f"crawling {some_names(to_crawl)} into {config.database_url}", file=sys.stderr)
        summaries = crawl_sources(
            config,
            to_crawl,
            progress_seconds=0 if args.quiet else 5,
            expect_articles=expect_articles,
        )
    if unchanged:
        checked_runs = read_summaries(config, unchanged, dict.fromkeys(unchanged, "not_modified"))
        order = {name: i for i, name in enumerate(names)}
        summaries = sorted([*summaries, *checked_runs], key=lambda s: order[s.source])
    if args.json:
        print(json.dumps([s.as_dict() for s in summaries], indent=2))
    else:
        print_summaries(summaries)
    return 0 if all(s.status == "finished" for s in summaries) else 1


def cmd_run(args: argparse.Namespace) -> int:
    from crawler.service.daemon import Daemon

    config = load(args)
    if not config.sources:
        raise UsageError(f"{config.path} has no [[sources]] to schedule")
    daemon_logging(config, args.verbose)
    try:
        return Daemon(config).run()
    except DaemonRunning as exc:
        print(f"presswatch: error: {exc}", file=sys.stderr)
        return 2


def cmd_worker(args: argparse.Namespace) -> int:
    import redis

    from crawler.cluster.worker import run_worker

    config = load(args)
    if config.cluster is None:
        raise UsageError(
            f"{config.path} has no [cluster] redis_url: a worker takes its crawls from the "
            "shared frontier in Redis (see README, Deployment)"
        )
    daemon_logging(config, args.verbose)
    try:
        return run_worker(config)
    except redis.exceptions.ConnectionError as exc:
        print(
            f"presswatch: error: cannot reach Redis at {config.cluster.redis_url} ({exc}): "
            "check [cluster] redis_url and that Redis runs",
            file=sys.stderr,
        )
        return 2


def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.demo.run import run_demo

    return run_demo(Path(args.dir) if args.dir else None, quiet=args.quiet, as_json=args.json)
