"""The daemon's schedule as stored: APScheduler's job table in presswatch's own database, and the
ids the daemon gives its jobs. The daemon writes it (through APScheduler); ``presswatch status``
and the web view read when each source and digest is next due from here."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, inspect, text

JOB_TABLE = "apscheduler_jobs"
CRAWL_JOB_PREFIX = "crawl:"
DIGEST_JOB_PREFIX = "digest:"


def next_runs(connection: Connection) -> dict[str, datetime | None]:
    """Each job's next run, by job id (none at all when the daemon never ran; None for a job
    that is paused)."""
    if not inspect(connection).has_table(JOB_TABLE):
        return {}
    return {
        job_id: datetime.fromtimestamp(when, UTC) if when is not None else None
        for job_id, when in connection.execute(text(f"SELECT id, next_run_time FROM {JOB_TABLE}"))
    }
