"""``[daemon]``: the long-running service: parallel crawls and their limits, its log file,
adaptive intervals, what is kept and for how long, when a source is unhealthy, and the
supervision of its crawl engine.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from crawler.config.base import Duration, Section, Size


class DaemonConfig(Section):
    max_parallel_crawls: int = Field(2, ge=1, le=64)
    crawl_time_limit: Duration = timedelta(minutes=30)
    stop_grace: Duration = timedelta(seconds=30)
    misfire_grace: Duration = timedelta(minutes=5)
    log_file: str | None = None
    log_max_size: Size = 10_000_000
    log_backups: int = Field(5, ge=0, le=100)
    adaptive: bool = True
    keep_runs: Duration | None = timedelta(days=180)
    keep_revisions: Duration | None = None
    maintenance_every: Duration = timedelta(hours=24)
    # Failed crawls in a row before a source is failing; also the crawls in a row a problem
    # (pages without text, shrunk texts, only old articles listed) must show before the
    # source is reported broken or stale.
    unhealthy_after_failures: int = Field(3, ge=1, le=1000)
    quiet_after: Duration = timedelta(hours=24)
    # The crawl engine's supervision: no heartbeat for this long and it is replaced ...
    engine_stall: Duration = timedelta(seconds=60)
    # ... and it is recycled (drained, a fresh one started) past this much memory or age
    # (0: never for that reason).
    engine_max_memory: Size = 2_000_000_000
    engine_recycle: Duration = timedelta(hours=24)
