"""Adaptive intervals: a source's crawl job polls more often while the source publishes, and less
while it has nothing new, within the bounds its config allows."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.config import SourceConfig
from crawler.service.jobs import JOB_PREFIX, SpreadInterval
from storage.models import CrawlRun

logger = logging.getLogger("presswatch.daemon")


def adapt(scheduler: Any, source: SourceConfig, run: CrawlRun) -> None:
    """Poll a source more often while it publishes, less while it has nothing new:
    nothing new backs the interval off by half, up to max_every; new articles bring a
    backed-off source back to `every`, and halve the interval of one already at or below
    it, down to min_every. (Failed crawls leave it as it is: health handles those.)"""
    job = scheduler.get_job(f"{JOB_PREFIX}{source.name}")
    if job is None or run.status != "finished" or run.pages_fetched == 0:
        return
    current = job.trigger.interval
    low, high = source.interval_bounds
    if run.new > 0:
        wanted = source.every if current > source.every else max(low, current / 2)
        why = f"{run.new} new"
    else:
        wanted = min(high, current * 1.5)
        why = "nothing new"
    if wanted == current:
        return
    trigger = SpreadInterval.of(source.name, wanted)
    if wanted < current:
        # Sooner: the new grid's next point, at most one (shorter) interval away.
        job.modify(trigger=trigger, next_run_time=trigger.first_after(datetime.now(UTC)))
    else:
        job.reschedule(trigger)
    logger.info("%s: next crawls every %s (%s)", source.name, _duration(wanted), why)


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = [(seconds // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
