"""`presswatch export`: stored articles (and their watchlist matches) as JSON lines or CSV."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.orm import Session

from crawler.cli.common import (
    EXPORT_FIELDS,
    UsageError,
    load,
    open_database,
    since_argument,
)
from crawler.config import Config
from crawler.escaping import csv_cell
from crawler.watch.snippets import snippets_of
from storage import reading
from storage.models import Article
from storage.types import iso


def _export_rows(config: Config, args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    since = since_argument(args.since)
    engine = open_database(config, write=False)
    try:
        with Session(engine) as session:
            views = reading.iter_articles(
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
                    "published_at": iso(article.published_at, precise=True),
                    "language": article.language,
                    "text": article.text,
                    "fetched_at": iso(article.fetched_at, precise=True),
                    "updated_at": iso(article.updated_at, precise=True),
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
    return {
        "watchlist": match.watchlist,
        "status": match.status,
        "score": match.score,
        "terms": match.terms,
        "snippets": snippets_of(match, article),
        "matched_at": iso(match.matched_at, precise=True),
        "updated_at": iso(match.updated_at, precise=True),
    }


def write_export(rows: Iterator[dict[str, Any]], fmt: str, out: TextIO) -> int:
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
    config = load(args)
    since_argument(args.since)
    if args.source:
        config.source(args.source)
    if args.watchlist:
        config.watchlist(args.watchlist)
    rows = _export_rows(config, args)
    if not args.output or args.output == "-":
        count = write_export(rows, args.format, sys.stdout)
    else:
        target = Path(args.output)
        if not target.parent.is_dir():
            raise UsageError(f"-o {target}: folder {target.parent} does not exist")
        # Written to a temporary file first: an export that fails leaves no partial file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                count = write_export(rows, args.format, handle)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    print(f"exported {count} articles", file=sys.stderr)
    return 0
