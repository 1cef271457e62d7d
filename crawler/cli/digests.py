"""`presswatch digest` and `feed`: the watchers' digests, sent or written."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crawler.cli.common import UsageError, load, open_database, since_argument
from crawler.config import Config
from crawler.digests.delivery import write_atomically
from crawler.digests.digest import build_digest
from crawler.digests.formats import as_json, render
from crawler.digests.outbox import Outbox
from crawler.escaping import json_safe, terminal_text


def cmd_digest(args: argparse.Namespace) -> int:
    config = load(args)
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
    since = since_argument(args.since)
    engine = open_database(config, write=args.send)
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
    config = load(args)
    watchlist = config.watchlist(args.watchlist)
    target = Path(args.output) if args.output and args.output != "-" else None
    if target is not None and not target.parent.exists():
        raise UsageError(f"-o {target}: folder {target.parent} does not exist")
    engine = open_database(config, write=False)
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
