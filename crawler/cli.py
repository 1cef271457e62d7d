"""The ``presswatch`` command."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn, TextIO

from crawler import __version__
from crawler.config import DEFAULT_NAME, Config, ConfigError, find_config, load_config
from crawler.escaping import csv_cell, json_safe, terminal_text
from crawler.quickexit import run_then_quick_exit
from crawler.units import parse_since
from storage.models import Article

logger = logging.getLogger("presswatch")

EXPORT_FIELDS = [
    "id",
    "url",
    "canonical_url",
    "urls",
    "source",
    "title",
    "authors",
    "published_at",
    "language",
    "text",
    "fetched_at",
    "updated_at",
    "revision",
    "story_id",
    "description",
    "site_name",
    "tags",
    "matches",
]


class UsageError(Exception):
    """A bad argument; the message says which and what to do."""


# -- helpers --------------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> Config:
    return load_config(find_config(getattr(args, "config", None)))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


class TerminalFormatter(logging.Formatter):
    """Log lines carry URLs and headlines from sites: none of their control characters or
    escape sequences reaches the terminal (or the log file a terminal shows)."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_text(super().format(record), multiline=True)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TerminalFormatter("%(levelname)s %(name)s: %(message)s"))
    # The level sits on the handler too: Scrapy resets logger levels when a crawl starts.
    handler.setLevel(level)
    if not verbose:
        # Scrapy logs each failed request; the crawl summary counts them by kind instead.
        handler.addFilter(lambda record: not record.name.startswith("scrapy."))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    progress = logging.getLogger("presswatch.progress")
    progress.propagate = False
    if not quiet:
        plain = logging.StreamHandler(sys.stderr)
        plain.setFormatter(TerminalFormatter("  %(message)s"))
        progress.addHandler(plain)
        progress.setLevel(logging.INFO)
    if not verbose:
        for noisy in (
            "scrapy",
            "twisted",
            "py.warnings",
            "filelock",
            "trafilatura",
            "htmldate",
            "courlan",
        ):
            logging.getLogger(noisy).setLevel(logging.ERROR)


def _open_database(config: Config, *, write: bool) -> Any:
    from storage.engine import make_engine
    from storage.migrate import ensure_schema

    url = config.database_url
    if url.startswith("sqlite:///") and not write:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise UsageError(
                f"no database at {path} yet: run `presswatch crawl` to fill it "
                f"(config {config.path})"
            )
    engine = make_engine(url, write=write)
    ensure_schema(engine)
    return engine


# -- commands -------------------------------------------------------------------------------


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
    config = _load(args)
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
        f"{_every(int(config.crawl.max_article_age.total_seconds()))} old"
    )
    daemon = config.daemon
    print(
        f"  daemon   at most {daemon.max_parallel_crawls} crawls at once, time limit "
        f"{_every(int(daemon.crawl_time_limit.total_seconds()))}, intervals "
        f"{'adaptive' if daemon.adaptive else 'fixed'}"
    )
    print(f"  sources  {len(config.sources)}")
    for s in config.sources:
        print(
            f"    {s.name:<20} {len(s.feeds)} feeds, {len(s.sitemaps)} sitemaps, "
            f"{len(s.pages)} pages; every {_every(int(s.every.total_seconds()))}; {s.timezone}; "
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


def _format_errors(errors: dict[str, int]) -> str:
    if not errors:
        return "0"
    total = sum(errors.values())
    parts = ", ".join(
        f"{terminal_text(k)} {v}" for k, v in sorted(errors.items(), key=lambda kv: -kv[1])
    )
    return f"{total} ({parts})"


def print_summaries(summaries: Sequence[Any], out: TextIO = sys.stdout) -> None:
    header = (
        f"{'source':<16} {'status':<9} {'pages':>6} {'new':>5} {'updated':>8} "
        f"{'duplicate':>10} {'unchanged':>10} {'empty':>6} {'flagged':>8} {'seconds':>8}  errors"
    )
    print(header, file=out)
    for s in summaries:
        print(
            f"{s.source:<16} {s.status:<9} {s.pages_fetched:>6} {s.new:>5} {s.updated:>8} "
            f"{s.duplicate:>10} {s.unchanged:>10} {s.empty:>6} {s.flagged:>8} {s.seconds:>8.1f}  "
            f"{_format_errors(s.errors)}",
            file=out,
        )


PRECHECK_SOURCES_AT_ONCE = 16


def _some(names: Sequence[str], shown: int = 20) -> str:
    """``a, b, c`` or, past ``shown`` names, ``a, b, ... and 280 more``."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _precheck(config: Config, name: str, engine: Any, states: dict[str, Any]) -> Any:
    from crawler.precheck import Precheck, precheck

    try:
        return precheck(config, config.source(name), engine, states)
    except Exception as exc:  # the crawl will meet and record whatever this was
        logger.warning("checking %s's listings failed (%s); crawling", name, exc)
        return Precheck(False, "the check failed")


def _check_page(args: argparse.Namespace, config: Config) -> int:
    from crawler.pagecheck import PageCheckError, check_page

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
    from concurrent.futures import ThreadPoolExecutor

    from crawler.crawl import crawl_sources, read_summaries

    config = _load(args)
    names = args.sources or [s.name for s in config.sources]
    if not names:
        raise UsageError(f"{config.path} has no [[sources]] to crawl")
    for name in names:
        config.source(name)
    engine = _open_database(config, write=True)
    unchanged: dict[str, int | None] = {}
    expect_articles = args.force
    try:
        if not args.force and config.cluster is None:
            from sqlalchemy.orm import Session

            from storage.repository import listing_states_of

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
            f"{_some(list(unchanged))}: nothing new (every feed and sitemap answered "
            "304 Not Modified); not crawled",
            file=sys.stderr,
        )
    to_crawl = [name for name in names if name not in unchanged]
    summaries = []
    if to_crawl:
        if not args.quiet:
            print(f"crawling {_some(to_crawl)} into {config.database_url}", file=sys.stderr)
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
    from crawler.daemon import Daemon, DaemonRunning

    config = _load(args)
    if not config.sources:
        raise UsageError(f"{config.path} has no [[sources]] to schedule")
    _daemon_logging(config, args.verbose)
    try:
        return Daemon(config).run()
    except DaemonRunning as exc:
        print(f"presswatch: error: {exc}", file=sys.stderr)
        return 2


def cmd_worker(args: argparse.Namespace) -> int:
    import redis

    from crawler.worker import run_worker

    config = _load(args)
    if config.cluster is None:
        raise UsageError(
            f"{config.path} has no [cluster] redis_url: a worker takes its crawls from the "
            "shared frontier in Redis (see README, Deployment)"
        )
    _daemon_logging(config, args.verbose)
    try:
        return run_worker(config)
    except redis.exceptions.ConnectionError as exc:
        print(
            f"presswatch: error: cannot reach Redis at {config.cluster.redis_url} ({exc}): "
            "check [cluster] redis_url and that Redis runs",
            file=sys.stderr,
        )
        return 2


def _daemon_logging(config: Config, verbose: int) -> None:
    """Time-stamped lines on stderr, and in [daemon] log_file (rotated) when set."""
    from logging.handlers import RotatingFileHandler

    level = logging.DEBUG if verbose else logging.INFO
    formatter = TerminalFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if config.daemon.log_file:
        path = Path(config.daemon.log_file)
        if not path.is_absolute():
            path = Path(config.path).parent / path
        handlers.append(
            RotatingFileHandler(
                path,
                maxBytes=config.daemon.log_max_size,
                backupCount=config.daemon.log_backups,
                encoding="utf-8",
            )
        )
    root = logging.getLogger()
    root.handlers[:] = []
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.setLevel(level)
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("apscheduler.scheduler", "apscheduler.executors.default", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


def cmd_digest(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from crawler.watch.digest import as_json, build_digest, render
    from crawler.watch.outbox import Outbox

    config = _load(args)
    watchers = [config.watcher(args.watcher)] if args.watcher else list(config.watchers)
    if not watchers:
        raise UsageError(f"{config.path} has no [[watchers]]: add one to get digests")
    if args.send and args.dry_run:
        raise UsageError("--send and --dry-run contradict each other: pass one of them")
    if args.send and args.since:
        raise UsageError(
            "--since is for dry runs: a sent digest holds what its watcher has not received "
            "yet, since the last one"
        )
    since = _since(args.since)
    engine = _open_database(config, write=args.send)
    try:
        if args.send:
            return _send_digests(config, engine, watchers, args)
        if since is not None:
            with Session(engine) as session:
                digests = [build_digest(session, config, w, since) for w in watchers]
        else:
            outbox = Outbox(engine, config)
            digests = [outbox.preview(w) for w in watchers]
    finally:
        engine.dispose()
    if args.format == "json" and len(digests) > 1:
        print(json.dumps(json_safe([as_json(d) for d in digests]), ensure_ascii=False, indent=2))
        return 0
    sys.stdout.write("\n".join(render(d, args.format) for d in digests))
    return 0


def _send_digests(
    config: Config, engine: Any, watchers: list[Any], args: argparse.Namespace
) -> int:
    from crawler.watch.outbox import Outbox

    outbox = Outbox(engine, config)
    for watcher in watchers:
        if not watcher.channels:
            raise UsageError(
                f"{config.path}: watcher {watcher.name!r} has no channel to send on: give it "
                "an email, webhook, feed or directory"
            )
    outcomes = []
    for watcher in watchers:
        outcomes += outbox.run_digest(watcher)
    failed = [o for o in outcomes if o.status == "failed"]
    if args.format == "json":
        print(json.dumps([o.as_dict() for o in outcomes], ensure_ascii=False, indent=2))
    else:
        for o in outcomes:
            what = "feed" if o.kind == "feed" else f"{o.kind} {o.delivery_id or ''}".strip()
            if o.status == "sent":
                detail = (
                    f"sent, {o.stories} stories ({o.articles} articles)"
                    if o.kind != "feed"
                    else "written"
                )
                if o.target:
                    detail += f" to {terminal_text(o.target)}"
            elif o.status == "failed":
                error = terminal_text(o.error or "")
                detail = f"NOT delivered, kept to retry on the next run: {error}"
            elif o.status == "busy":
                detail = "being sent by another process"
            else:
                detail = "nothing new to send"
            print(f"{o.watcher} {o.channel} {what}: {detail}")
    return 1 if failed else 0


def cmd_feed(args: argparse.Namespace) -> int:
    from datetime import UTC

    from crawler.watch.delivery import write_atomically
    from crawler.watch.outbox import Outbox

    config = _load(args)
    watchlist = config.watchlist(args.watchlist)
    target = Path(args.output) if args.output and args.output != "-" else None
    if target is not None and not target.parent.exists():
        raise UsageError(f"-o {target}: folder {target.parent} does not exist")
    engine = _open_database(config, write=False)
    try:
        data = Outbox(engine, config).feed_xml(
            [watchlist.name],
            feed_id=f"urn:presswatch:watchlist:{watchlist.name}",
            title=f"presswatch: {watchlist.description or watchlist.name}",
            now=datetime.now(UTC),
        )
    finally:
        engine.dispose()
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_atomically(target, data)
        print(f"wrote {target}", file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from sqlalchemy import inspect, select, text
    from sqlalchemy.orm import Session

    from crawler.daemon import DIGEST_PREFIX, JOB_PREFIX, JOB_TABLE
    from storage.health import source_health
    from storage.models import CrawlRun

    config = _load(args)
    sources: list[dict[str, Any]]
    url = config.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        # Nothing crawled yet: every source is "never", and nothing is created.
        never: list[dict[str, Any]] = [
            {
                "source": s.name,
                "every": int(s.every.total_seconds()),
                "last_run": None,
                "next_run": None,
                "health": {"state": "unknown", "reason": "not crawled yet"},
            }
            for s in config.sources
        ]
        return _print_status(args, config, never, _watchers_status(config, None, {}))
    engine = _open_database(config, write=False)
    try:
        with engine.connect() as connection:
            next_runs: dict[str, datetime | None] = {}
            if inspect(connection).has_table(JOB_TABLE):
                for job_id, when in connection.execute(
                    text(f"SELECT id, next_run_time FROM {JOB_TABLE}")
                ):
                    if job_id.startswith((JOB_PREFIX, DIGEST_PREFIX)):
                        next_runs[job_id] = (
                            datetime.fromtimestamp(when, UTC) if when is not None else None
                        )
            sources = []
            for source in config.sources:
                run = connection.execute(
                    select(CrawlRun)
                    .where(CrawlRun.source == source.name)
                    .order_by(CrawlRun.id.desc())
                    .limit(1)
                ).first()
                sources.append(
                    {
                        "source": source.name,
                        "every": int(source.every.total_seconds()),
                        "last_run": None
                        if run is None
                        else {
                            "started_at": _iso(run.started_at),
                            "finished_at": _iso(run.finished_at),
                            "status": run.status,
                            "new": run.new,
                            "updated": run.updated,
                            "flagged": run.flagged,
                            "errors": sum(dict(run.errors).values()),
                        },
                        "next_run": _iso(next_runs.get(JOB_PREFIX + source.name)),
                        "health": source_health(
                            Session(bind=connection),
                            source.name,
                            failures=config.daemon.unhealthy_after_failures,
                            quiet_after=config.daemon.quiet_after,
                            listings=source.start_urls,
                            max_age=config.crawl.max_article_age,
                        ).as_dict(),
                    }
                )
            watchers = _watchers_status(config, Session(bind=connection), next_runs)
    finally:
        engine.dispose()
    return _print_status(args, config, sources, watchers)


def _watchers_status(
    config: Config, session: Any, next_runs: dict[str, datetime | None]
) -> list[dict[str, Any]]:
    """Each watcher's schedule, last and next digest, and its deliveries' state per channel."""
    from crawler.daemon import DIGEST_PREFIX
    from storage import deliveries

    last_runs = deliveries.last_digest_runs(session) if session is not None else {}
    rows = []
    for watcher in config.watchers:
        latest = deliveries.latest_deliveries(session, watcher.name) if session else []
        rows.append(
            {
                "watcher": watcher.name,
                "schedule": watcher.schedule,
                "timezone": watcher.timezone,
                "channels": watcher.channels,
                "last_digest": _iso(last_runs.get(watcher.name)),
                "next_digest": _iso(next_runs.get(DIGEST_PREFIX + watcher.name)),
                "pending": deliveries.pending_count(session, watcher.name) if session else 0,
                "deliveries": [
                    {
                        "channel": d.channel,
                        "kind": d.kind,
                        "status": d.status,
                        "created_at": _iso(d.created_at),
                        "sent_at": _iso(d.sent_at),
                        "attempts": d.attempts,
                        "last_error": d.last_error,
                    }
                    for d in latest
                ],
            }
        )
    return rows


def _print_status(
    args: argparse.Namespace,
    config: Config,
    sources: list[dict[str, Any]],
    watchers: list[dict[str, Any]],
) -> int:
    from crawler.daemon import daemon_state, engine_state

    daemon: dict[str, Any] = daemon_state(config.database_url) or {}
    status: dict[str, Any] = {
        "daemon": {"running": bool(daemon), **daemon},
        "sources": sources,
        "watchers": watchers,
    }
    engines = engine_state(config) if daemon else None
    if engines is not None:
        status["engine"] = engines
    if config.cluster is not None:
        status["cluster"] = _cluster_status(config)
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    if daemon:
        print(
            terminal_text(
                f"daemon: running (pid {daemon.get('pid')} on {daemon.get('host')}, "
                f"since {daemon.get('started_at')})"
            )
        )
    else:
        print("daemon: not running (start it with `presswatch run`)")
    for engine in (engines or {}).get("engines", []):
        print(terminal_text(_engine_text(engine)))
    header = f"{'source':<16} {'every':>7}  {'last run':<20} {'result':<11} {'new':>5} "
    print(header + f"{'errors':>6}  {'next run':<20} health")
    for row in sources:
        last = row["last_run"] or {}
        print(
            f"{row['source']:<16} {_every(row['every']):>7}  "
            f"{(last.get('started_at') or '-')[:19]:<20} {last.get('status', 'never'):<11} "
            f"{last.get('new', 0):>5} {last.get('errors', 0):>6}  "
            f"{(row['next_run'] or '-')[:19]:<20} {_health_text(row['health'])}"
        )
    cluster = status.get("cluster")
    if cluster is not None:
        if cluster["reachable"]:
            print(
                f"cluster: {len(cluster['workers'])} workers alive, "
                f"{cluster['frontier_length']} requests waiting in the frontier, "
                f"{len(cluster['active_runs'])} runs in progress"
            )
            for w in cluster["workers"]:
                print(f"  worker {w['worker']} (heartbeat {w['last_heartbeat_seconds_ago']} s ago)")
        else:
            print(
                f"cluster: Redis at {cluster['redis']} NOT reachable: "
                f"{terminal_text(cluster['error'])}"
            )
    if watchers:
        print()
        print(f"{'watcher':<16} {'schedule':<18} {'last digest':<20} {'next digest':<20} delivery")
        for row in watchers:
            print(
                f"{row['watcher']:<16} {row['schedule']:<18} "
                f"{(row['last_digest'] or 'never')[:19]:<20} "
                f"{(row['next_digest'] or '-')[:19]:<20} {_delivery_text(row)}"
            )
    return 0


def _engine_text(engine: dict[str, Any]) -> str:
    running = engine.get("running") or []
    shown = _some(running, 8)
    return (
        f"crawl engine: pid {engine.get('pid')}{' (draining)' if engine.get('draining') else ''}, "
        f"{len(running)} sources in progress{': ' + shown if running else ''}; "
        f"{engine.get('waiting', 0)} due sources waiting (the longest for "
        f"{engine.get('most_overdue_seconds', 0):.0f} s); "
        f"{engine.get('pages_in_flight', 0)} pages in flight; {engine.get('memory_mb', 0)} MB"
    )


def _cluster_status(config: Config) -> dict[str, Any]:
    import redis

    from crawler.cluster import Frontier

    assert config.cluster is not None
    try:
        frontier = Frontier(config.cluster)
        return {
            "redis": config.cluster.redis_url,
            "reachable": True,
            "workers": [
                {"worker": w, "last_heartbeat_seconds_ago": round(ago, 1)}
                for w, ago in sorted(frontier.workers().items())
            ],
            "frontier_length": frontier.length(),
            "active_runs": {str(r): s for r, s in frontier.active_runs().items()},
        }
    except redis.exceptions.RedisError as exc:
        return {"redis": config.cluster.redis_url, "reachable": False, "error": str(exc)}


def _delivery_text(row: dict[str, Any]) -> str:
    if not row["channels"]:
        return "no channel"
    states = [
        f"{d['channel']} {d['kind']} PENDING after {d['attempts']} attempts: "
        + terminal_text(d["last_error"] or "")
        for d in row["deliveries"]
        if d["status"] != "sent"
    ]
    return "; ".join(states) if states else "ok (" + ", ".join(row["channels"]) + ")"


def _health_text(health: dict[str, Any]) -> str:
    state = terminal_text(str(health["state"]))
    if state in ("healthy", "unknown"):
        return state
    return f"{state.upper()}: {terminal_text(str(health['reason']))}"


def _every(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _export_rows(config: Config, args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    from sqlalchemy.orm import Session

    from storage import repository

    since = _since(args.since)
    engine = _open_database(config, write=False)
    try:
        with Session(engine) as session:
            views = repository.iter_articles(
                session, since, args.source, flagged=args.flagged, watchlist=args.watchlist
            )
            for view in views:
                article, urls = view.article, view.urls
                yield {
                    "id": article.id,
                    "url": article.url,
                    "canonical_url": article.canonical_url,
                    "urls": urls,
                    "source": article.source,
                    "title": article.title,
                    "authors": article.authors,
                    "published_at": _iso(article.published_at),
                    "language": article.language,
                    "text": article.text,
                    "fetched_at": _iso(article.fetched_at),
                    "updated_at": _iso(article.updated_at),
                    "revision": article.revision,
                    "story_id": article.story_id,
                    "description": article.description,
                    "site_name": article.site_name,
                    "tags": article.tags,
                    "matches": [_match_record(m, article) for m in view.matches],
                }
    finally:
        engine.dispose()


def _match_record(match: Any, article: Article) -> dict[str, Any]:
    from crawler.watch.matcher import snippets_of

    return {
        "watchlist": match.watchlist,
        "status": match.status,
        "score": match.score,
        "terms": match.terms,
        "snippets": snippets_of(match, article),
        "matched_at": _iso(match.matched_at),
        "updated_at": _iso(match.updated_at),
    }


def _write_export(rows: Iterator[dict[str, Any]], fmt: str, out: TextIO) -> int:
    count = 0
    if fmt == "jsonl":
        # The raw form, for programs: every stored text exactly (JSON escapes controls).
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        return count
    # For spreadsheets: text cells are quoted and never start like a formula (csv_cell);
    # numbers (id, revision, story_id) are written bare and stay numbers. Quoting every text
    # cell, as OWASP advises, keeps a ';' in a title from starting a cell where ';' separates.
    csv.writer(out).writerow(EXPORT_FIELDS)
    writer = csv.DictWriter(
        out, fieldnames=EXPORT_FIELDS, extrasaction="ignore", quoting=csv.QUOTE_NONNUMERIC
    )
    for row in rows:
        flat = dict(row)
        flat["urls"] = " ".join(row["urls"])
        flat["authors"] = "; ".join(row["authors"])
        flat["tags"] = "; ".join(row["tags"])
        flat["matches"] = "; ".join(
            f"{m['watchlist']}: " + ", ".join(t["term"] for t in m["terms"]) for m in row["matches"]
        )
        writer.writerow({k: csv_cell(v) if isinstance(v, str) else v for k, v in flat.items()})
        count += 1
    return count


def cmd_export(args: argparse.Namespace) -> int:
    config = _load(args)
    _since(args.since)
    if args.source:
        config.source(args.source)
    if args.watchlist:
        config.watchlist(args.watchlist)
    rows = _export_rows(config, args)
    if not args.output or args.output == "-":
        count = _write_export(rows, args.format, sys.stdout)
    else:
        target = Path(args.output)
        if not target.parent.is_dir():
            raise UsageError(f"-o {target}: folder {target.parent} does not exist")
        # Written to a temporary file first: an export that fails leaves no partial file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                count = _write_export(rows, args.format, handle)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    print(f"exported {count} articles", file=sys.stderr)
    return 0


def _flagger(config: Config, only: str | None = None) -> Any:
    from crawler.watch.flagging import Flagger
    from crawler.watch.matcher import WatchlistQuery

    chosen = [config.watchlist(only)] if only else config.watchlists
    if not chosen:
        raise UsageError(f"{config.path} has no [[watchlists]]: add one (see `presswatch init`)")
    return Flagger([WatchlistQuery(w.name, w.query, tuple(w.languages)) for w in chosen])


def cmd_flag(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from storage import repository

    config = _load(args)
    flagger = _flagger(config, args.watchlist)
    since = _since(args.since)
    engine = _open_database(config, write=True)
    totals: dict[str, int] = {"new": 0, "updated": 0, "kept": 0, "removed": 0}
    checked = 0
    now = datetime.now(UTC)
    try:
        last_id = 0
        while True:
            # One short transaction per batch keeps the database open to the crawl meanwhile.
            with Session(engine) as session, session.begin():
                query = repository.articles_query(since)
                page = list(session.scalars(query.where(Article.id > last_id).limit(200)))
                for article in page:
                    for status in flagger.flag(session, article, now).values():
                        totals[status] += 1
                    last_id = article.id
            if not page:
                break
            checked += len(page)
            if not args.quiet:
                print(f"  checked {checked} articles", file=sys.stderr)
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


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_since(value)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None


def _highlight(snippet: dict[str, Any], color: bool) -> str:
    """The snippet on one line, its hits in bold yellow (``color``) or in brackets; the
    text's own control characters and escape sequences removed (``terminal_text``)."""
    text, t = snippet["text"], terminal_text
    marks = sorted({(int(a), int(b)) for a, b in snippet["highlights"]})
    out, pos = [], 0
    for start, end in marks:
        if start < pos:
            continue
        on, off = ("\033[1;33m", "\033[0m") if color else ("[", "]")
        out += [t(text[pos:start]), on, t(text[start:end]), off]
        pos = end
    out.append(t(text[pos:]))
    return "".join(out)


def cmd_match(args: argparse.Namespace) -> int:
    from crawler.watch.matcher import compile_query, match_query
    from crawler.watch.query import QueryError

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
    from sqlalchemy.orm import Session

    config = _load(args)
    engine = _open_database(config, write=False)
    try:
        with Session(engine) as session:
            article = session.get(Article, args.article)
            if article is None:
                raise UsageError(f"--article {args.article}: no stored article has this id")
            return article.title or "", article.text, args.lang or article.language
    finally:
        engine.dispose()


def _fetch_and_extract(url: str, args: argparse.Namespace) -> tuple[str, str, str | None]:
    import urllib.error
    import urllib.request

    from crawler.config import DEFAULT_USER_AGENT
    from crawler.extraction import ExtractionOptions, decode_html, extract_article

    try:
        config: Config | None = _load(args)
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
    from sqlalchemy.orm import Session

    from crawler.watch.flagging import prefilter
    from crawler.watch.matcher import Matcher, WatchlistQuery, compile_query
    from crawler.watch.query import QueryError
    from storage import repository

    try:
        node = compile_query(args.query)
    except QueryError as exc:
        raise UsageError(f"query {args.query!r}: {exc}") from None
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    config = _load(args)
    if args.source:
        config.source(args.source)
    since = _since(args.since)
    matcher = Matcher([WatchlistQuery("search", args.query)])
    engine = _open_database(config, write=False)
    results = []
    try:
        with Session(engine) as session:
            languages = repository.languages(session)
            query = repository.search_candidates(
                session, prefilter(node, languages), since, args.source
            )
            for article in session.scalars(query.execution_options(yield_per=200)):
                found = matcher.match(article.title or "", article.text, article.language)
                if found:
                    results.append((article, found[0]))
                    if len(results) >= args.limit:
                        break
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
                        "published_at": _iso(a.published_at),
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


def cmd_db(args: argparse.Namespace) -> int:
    from storage.engine import make_engine
    from storage.migrate import current_revision, head_revision, upgrade

    config = _load(args)
    engine = make_engine(config.database_url)
    try:
        if args.db_command == "upgrade":
            before = current_revision(engine)
            upgrade(engine)
            after = current_revision(engine)
            print(f"{config.database_url}: schema {before or 'empty'} -> {after}")
        elif args.db_command == "maintain":
            from storage.maintenance import maintain
            from storage.migrate import ensure_schema

            ensure_schema(engine)
            done = maintain(
                engine,
                keep_runs=config.daemon.keep_runs,
                keep_revisions=config.daemon.keep_revisions,
            )
            print(
                f"{done.runs_deleted} crawl runs, {done.deliveries_deleted} sent deliveries and "
                f"{done.revisions_deleted} earlier article texts past retention deleted"
                + ("; database optimised" if done.optimised else "")
            )
        else:
            current = current_revision(engine)
            state = (
                "up to date"
                if current == head_revision()
                else f"needs `presswatch db upgrade` to {head_revision()}"
            )
            print(f"{config.database_url}: schema {current or 'empty'} ({state})")
    finally:
        engine.dispose()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.demo.run import run_demo

    return run_demo(Path(args.dir) if args.dir else None, quiet=args.quiet, as_json=args.json)


def cmd_serve(args: argparse.Namespace) -> int:
    from crawler.web.server import serve

    config = _load(args)
    host = args.host or config.web.host
    port = config.web.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: give a port number from 0 to 65535")
    workers = config.web.workers if args.workers is None else args.workers
    if not 1 <= workers <= 64:
        raise UsageError(f"--workers {workers}: give a number of processes from 1 to 64")
    return serve(config, host, port, workers)


def cmd_sources(args: argparse.Namespace) -> int:
    from crawler.sources import commands, listing, transfer

    config = _load(args)
    try:
        if args.sources_command == "add":
            return commands.add_sites(
                config,
                args.urls,
                name=args.name,
                language=args.language,
                timezone=args.timezone,
                dry_run=args.dry_run,
                as_json=args.json,
            )
        if args.sources_command == "import":
            return transfer.import_file(
                config, Path(args.file), dry_run=args.dry_run, as_json=args.json
            )
        if args.sources_command == "export":
            return transfer.export_opml(config, Path(args.output) if args.output else None)
        return listing.list_sources(config, as_json=args.json)
    except commands.BadArgument as exc:
        raise UsageError(str(exc)) from None


# -- parser ---------------------------------------------------------------------------------


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
        func: Callable[[argparse.Namespace], int],
        help: str,
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=description or help, parents=[common])
        p.set_defaults(func=func)
        return p

    p = add(
        "init",
        cmd_init,
        "write a commented example config",
        f"Write a commented example config to --config, $PRESSWATCH_CONFIG or ./{DEFAULT_NAME}.",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = add(
        "check",
        cmd_check,
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
        cmd_crawl,
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
        cmd_export,
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
        cmd_demo,
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
        cmd_flag,
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
        cmd_match,
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
        cmd_search,
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
        cmd_run,
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
        cmd_worker,
        "run a crawl worker of a cluster ([cluster] redis_url)",
        "Run in the foreground a worker that takes part in every crawl the daemon announces in "
        "the shared frontier (Redis): start as many as you like, on any machines that reach the "
        "same Redis and database. SIGTERM or Ctrl-C stops it; what it held goes back to the "
        "frontier for the others.",
    )

    p = add(
        "digest",
        cmd_digest,
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
        cmd_feed,
        "write the Atom feed of a watchlist's flagged stories",
        "Write an Atom feed (one entry per story, newest first, the last [delivery] feed_days, "
        "at most [delivery] feed_entries) of the stories that match WATCHLIST, to stdout or "
        "FILE. Watchers with `feed = FILE` get theirs rewritten by every digest run.",
    )
    p.add_argument("watchlist", metavar="WATCHLIST", help="a configured watchlist")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")

    p = add(
        "status",
        cmd_status,
        "show the daemon, each source's crawls, each watcher's digests, the cluster",
        "Show whether the daemon runs; for each source its last crawl (when, result, new "
        "articles, errors), its next scheduled one and its health; for each watcher its last "
        "and next digest and any delivery still pending, with why; with [cluster], the live "
        "workers and the frontier's length. Works with or without the daemon.",
    )
    p.add_argument("--json", action="store_true", help="print the status as JSON")

    p = add(
        "serve",
        cmd_serve,
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
        "--workers", type=int, help="processes serving pages (default: [web] workers, else 2)"
    )

    p = add(
        "sources",
        cmd_sources,
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
        cmd_db,
        "database: upgrade the schema, show its revision, or run the maintenance",
        "upgrade: bring the schema up to date; current: show its revision; maintain: delete "
        "crawl runs and earlier article texts past [daemon] keep_runs / keep_revisions and "
        "let the database tidy itself (the daemon does this every [daemon] maintenance_every).",
    )
    p.add_argument("db_command", choices=["upgrade", "current", "maintain"], help="what to do")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, default in (("config", None), ("verbose", 0), ("quiet", False)):
        if not hasattr(args, name):
            setattr(args, name, default)
    _setup_logging(args.verbose, args.quiet)
    from storage.migrate import SchemaError

    try:
        return int(args.func(args))
    except (ConfigError, UsageError, SchemaError) as exc:
        # (A message may quote what a fetched page or server said.)
        print(f"presswatch: error: {terminal_text(str(exc), multiline=True)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("presswatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`presswatch export | head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def entry_point() -> NoReturn:
    """The ``presswatch`` command: ``main``, then an exit without the interpreter's teardown
    (crawler/quickexit.py: 0.4 s less after a crawl)."""
    run_then_quick_exit(main)


if __name__ == "__main__":
    entry_point()
