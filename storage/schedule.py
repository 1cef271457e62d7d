"""The daemon's schedule as stored: APScheduler's job table in presswatch's own database, and the
ids the daemon gives its jobs. The daemon writes it (through APScheduler); ``presswatch status``
and the web view read when each source and digest is next due from here."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, LargeBinary, bindparam, inspect, text

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


def job_states(connection: Connection) -> list[tuple[str, bytes]]:
    """Each stored job's id and state (as APScheduler pickled it); none when the daemon never
    ran."""
    if not inspect(connection).has_table(JOB_TABLE):
        return []
    rows = connection.execute(text(f"SELECT id, job_state FROM {JOB_TABLE}"))
    return [(job_id, bytes(state)) for job_id, state in rows]


def set_job_state(connection: Connection, job_id: str, state: bytes) -> None:
    """Replace a stored job's state (its pickle), leaving when it is next due as it is."""
    connection.execute(
        text(f"UPDATE {JOB_TABLE} SET job_state = :state WHERE id = :id").bindparams(
            bindparam("state", type_=LargeBinary)
        ),
        {"state": state, "id": job_id},
    )
