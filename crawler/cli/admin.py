"""`presswatch db`, `serve` and `sources`: the database, the web view and the source list."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.cli.common import UsageError, load
from crawler.sources import commands, listing, transfer
from storage.engine import make_engine
from storage.maintenance import maintain
from storage.migrate import current_revision, ensure_schema, head_revision, upgrade


def cmd_db(args: argparse.Namespace) -> int:
    config = load(args)
    engine = make_engine(config.database_url)
    try:
        if args.db_command == "upgrade":
            before = current_revision(engine)
            upgrade(engine)
            after = current_revision(engine)
            print(f"{config.database_url}: schema {before or 'empty'} -> {after}")
        elif args.db_command == "maintain":
            ensure_schema(engine)
            done = maintain(
                engine,
                keep_runs=config.daemon.keep_runs,
                keep_revisions=config.daemon.keep_revisions,
            )
            print(
                f"{done.runs_deleted} crawl runs, {done.deliveries_deleted} sent deliveries, "
                f"{done.empty_pages_deleted} pages remembered without text and "
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


def cmd_serve(args: argparse.Namespace) -> int:
    from crawler.web.server import serve

    config = load(args)
    host = args.host or config.web.host
    port = config.web.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: give a port number from 0 to 65535")
    workers = config.web.workers if args.workers is None else args.workers
    if not 1 <= workers <= 64:
        raise UsageError(f"--workers {workers}: give a number of processes from 1 to 64")
    return serve(config, host, port, workers)


def cmd_sources(args: argparse.Namespace) -> int:
    config = load(args)
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
