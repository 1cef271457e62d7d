"""What every command shares: the config it reads, the database it opens, the logging it sets up,
and the error a bad argument ends in."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from crawler.config import Config, find_config, load_config
from crawler.escaping import terminal_text
from crawler.units import parse_since
from storage.engine import make_engine
from storage.migrate import ensure_schema


class UsageError(Exception):
    """A bad argument; the message says which and what to do."""


# The fields `presswatch export` writes, in order (and its --help lists).
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


def load(args: argparse.Namespace) -> Config:
    return load_config(find_config(getattr(args, "config", None)))


class TerminalFormatter(logging.Formatter):
    """Log lines carry URLs and headlines from sites: none of their control characters or
    escape sequences reaches the terminal (or the log file a terminal shows)."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_text(super().format(record), multiline=True)


def setup_logging(verbose: int, quiet: bool) -> None:
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


def open_database(config: Config, *, write: bool) -> Any:
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


def daemon_logging(config: Config, verbose: int) -> None:
    """Time-stamped lines on stderr, and in [daemon] log_file (rotated) when set."""

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


def since_argument(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_since(value)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None


def every_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def some_names(names: Sequence[str], shown: int = 20) -> str:
    """``a, b, c`` or, past ``shown`` names, ``a, b, ... and 280 more``."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
