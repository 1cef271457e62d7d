"""What the daemon tells: the engine state file that ``presswatch status`` reads, and the log line
of each crawl run that ended."""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, datetime

from crawler.config import Config
from crawler.service.supervisor import RunEnded, Supervisor
from storage.lock import state_path
from storage.models import CrawlRun

logger = logging.getLogger("presswatch.daemon")


def write_state(config: Config, supervisor: Supervisor) -> None:
    """What the engine does now, for `presswatch status` (rewritten every second)."""
    state = {
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "engines": supervisor.state(),
    }
    path = state_path(config.database_url, config.path)
    try:
        partial = path.with_name(path.name + ".tmp")
        partial.write_text(json.dumps(state), encoding="utf-8")
        partial.replace(path)
    except OSError:
        logger.debug("Cannot write %s", path, exc_info=True)


def remove_state(config: Config) -> None:
    """The engine state file gone: the daemon has stopped."""
    with contextlib.suppress(OSError):
        state_path(config.database_url, config.path).unlink()


def report_run(ended: RunEnded, run: CrawlRun | None) -> None:
    """How a run the engine reported ended went, from its row."""
    if run is None:
        logger.error("%s: the run ended (%s) without a crawl-run row", ended.source, ended.reason)
        return
    errors = sum(run.errors.values())
    if run.finish_reason == "not_modified":
        logger.info(
            "%s: nothing new in %.1f s: %d listings answered 304 Not Modified",
            ended.source,
            ended.seconds,
            run.pages_fetched,
        )
    else:
        logger.info(
            "%s: %s in %.1f s: %d pages, %d new, %d updated, %d flagged, %d errors",
            ended.source,
            run.status,
            ended.seconds,
            run.pages_fetched,
            run.new,
            run.updated,
            run.flagged,
            errors,
        )


def report_cluster_run(source: str, run: CrawlRun, seconds: float) -> None:
    """How a cluster run went, from its row."""
    logger.info(
        "%s: %s in %.1f s (cluster run %d): %d pages, %d new, %d updated, %d flagged",
        source,
        run.status,
        seconds,
        run.id,
        run.pages_fetched,
        run.new,
        run.updated,
        run.flagged,
    )
