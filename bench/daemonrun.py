"""`presswatch run` under measurement, for the daemon benchmarks (bench/steady.py).

Writes its config (one source per site) and serves the sites with nginx; starts the daemon,
samples its whole process tree (the daemon, its crawl engine, the engine's extraction workers)
every second while the benchmark does its own work between samples, so CPU seconds and memory
can be read for any window of the run, not only from start to end; stops it as a user would
(SIGTERM, then SIGKILL of the tree after a grace); reads its database without writing; and sums
up its log's warnings and errors.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.crawl import start_nginx  # noqa: E402
from bench.manysites import SERVER  # noqa: E402
from bench.manysites import write_config as manysites_config  # noqa: E402


def write_config(work: Path, name: str, feeds: list[str], every: str) -> Path:
    """bench/manysites.py's config, every source every ``every``, adaptive intervals off, the
    daemon's log in ``name``.log (a fresh one)."""
    (work / f"{name}.log").unlink(missing_ok=True)
    daemon = f'\n[daemon]\nadaptive = false\nlog_file = "{name}.log"\nlog_max_size = "500MB"\n'
    return manysites_config(work, feeds, name, every=every, digits=5, sections=daemon)


def serve_sites(sites: Path, work: Path, port: int, sources: int) -> subprocess.Popen[bytes]:
    """nginx serving each folder of ``sites`` at its own host (bench/manysites.py's server).
    Thousands of hosts each keep a connection alive between requests (as manysites)."""
    return start_nginx(
        sites,
        port,
        work,
        name="steady",
        server=SERVER.format(port=port, root=sites),
        connections=max(4096, 8 * sources),
    )


def table(header: list[str], rows: list[list[Any]]) -> None:
    print(f"\n| {' | '.join(header)} |\n|{'|'.join('---' for _ in header)}|")
    for row in rows:
        print(f"| {' | '.join(str(cell) for cell in row)} |")


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # time.time()
    # CPU seconds since the daemon started (every process seen), by role: daemon, engine, ...
    cpu_by_role: dict[str, float]
    pss_mb: float  # the tree's PSS now
    processes: int

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu_by_role.values())


@dataclass
class Tree:
    """The daemon's process tree, sampled by ``sample()`` (call it about once a second)."""

    root: psutil.Process
    samples: list[Sample] = field(default_factory=list)
    peak_fds: dict[str, int] = field(default_factory=dict)  # role -> most open descriptors
    fd_limits: dict[str, int] = field(default_factory=dict)  # role -> RLIMIT_NOFILE soft
    _cpu: dict[tuple[int, float], float] = field(default_factory=dict)
    _roles: dict[tuple[int, float], str] = field(default_factory=dict)

    def sample(self) -> Sample:
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            tree = []
        pss = 0
        for proc in tree:
            try:
                with proc.oneshot():
                    key = (proc.pid, proc.create_time())
                    times = proc.cpu_times()
                    pss += proc.memory_full_info().pss
                    fds = proc.num_fds()
                    role = self._roles.get(key) or self._role(proc, key)
            except psutil.Error:
                continue
            self._cpu[key] = times.user + times.system
            self.peak_fds[role] = max(self.peak_fds.get(role, 0), fds)
        by_role: dict[str, float] = {}
        for key, seconds in self._cpu.items():
            by_role[self._roles[key]] = by_role.get(self._roles[key], 0.0) + seconds
        sample = Sample(time.time(), by_role, pss / 1e6, len(tree))
        self.samples.append(sample)
        return sample

    def _role(self, proc: psutil.Process, key: tuple[int, float]) -> str:
        if proc.pid == self.root.pid:
            role = "daemon"
        elif "crawler.scrapy.engine" in proc.cmdline():
            role = "engine"
        else:
            role = "engine children"
        self._roles[key] = role
        with contextlib.suppress(psutil.Error):
            self.fd_limits[role] = proc.rlimit(psutil.RLIMIT_NOFILE)[0]
        return role

    def at(self, when: float) -> Sample:
        """The last sample taken at or before ``when`` (the first one if none was)."""
        index = bisect.bisect_right([s.at for s in self.samples], when) - 1
        return self.samples[max(0, index)]

    def cpu_at(self, when: float, role: str | None = None) -> float:
        """The tree's CPU seconds (``role``'s alone if given) at ``when``, interpolated between
        the samples around it."""

        def cpu(sample: Sample) -> float:
            return sample.cpu_seconds if role is None else sample.cpu_by_role.get(role, 0.0)

        times = [s.at for s in self.samples]
        index = bisect.bisect_right(times, when)
        if index == 0:
            return cpu(self.samples[0]) if self.samples else 0.0
        if index == len(times):
            return cpu(self.samples[-1])
        before, after = self.samples[index - 1], self.samples[index]
        share = (when - before.at) / (after.at - before.at) if after.at > before.at else 0.0
        return cpu(before) + share * (cpu(after) - cpu(before))

    def cpu_between(self, start: float, end: float, role: str | None = None) -> float:
        return self.cpu_at(end, role) - self.cpu_at(start, role)

    def cpu_by_role(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds of each role (daemon, engine, engine children) from ``start`` to ``end``."""
        roles = sorted({r for s in self.samples for r in s.cpu_by_role})
        return {r: round(self.cpu_between(start, end, r), 1) for r in roles}

    def peak_pss_mb(self, start: float = 0.0, end: float = float("inf")) -> float:
        return max((s.pss_mb for s in self.samples if start <= s.at <= end), default=0.0)


class Daemon:
    """One `presswatch run`, its stderr in ``work/<name>.stderr``."""

    def __init__(self, presswatch: str, config: Path, work: Path, name: str) -> None:
        self.stderr = (work / f"{name}.stderr").open("w", encoding="utf-8")
        self.started = time.time()
        self.process = subprocess.Popen(
            [presswatch, "--config", str(config), "run"],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )
        self.tree = Tree(psutil.Process(self.process.pid))

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 90.0) -> int:
        """SIGTERM; the whole tree SIGKILLed if the daemon is still there ``grace`` s later."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(psutil.Error):
                    for proc in [*self.tree.root.children(recursive=True), self.tree.root]:
                        proc.kill()
                self.process.wait()
        self.stderr.close()
        return self.process.returncode


def raise_open_files_limit() -> tuple[int, int]:
    """The soft limit of open files raised to the hard one (inherited by nginx and the
    daemon); returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# -- its database --------------------------------------------------------------------------


def query(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read without writing ([] while the database or its schema is missing)."""
    if not database.exists():
        return []
    try:
        with contextlib.closing(
            sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=10)
        ) as db:
            return db.execute(sql, params).fetchall()
    except sqlite3.Error:
        return []


def epoch(stored: str | None) -> float:
    """A naive UTC timestamp as SQLite holds it -> seconds since the epoch."""
    if not stored:
        return math.nan
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).timestamp()


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` 0.95 for p95); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def wait_for(daemon: Daemon, done: Callable[[], bool], limit: float, interval: float = 1.0) -> bool:
    """Sample the daemon's tree every ``interval`` s until ``done()`` or ``limit`` s passed."""
    deadline = time.time() + limit
    while time.time() < deadline:
        daemon.tree.sample()
        if not daemon.running():
            sys.exit(f"bench: the daemon ended (exit {daemon.process.returncode}); see its log")
        if done():
            return True
        time.sleep(interval)
    return False


def runs_ended(database: Path, after_id: int) -> Counter[str]:
    rows = query(
        database,
        "SELECT status || '/' || coalesce(finish_reason, '') , count(*) FROM crawl_runs "
        "WHERE id > ? AND status != 'running' GROUP BY 1",
        after_id,
    )
    return Counter({str(k): int(v) for k, v in rows})


def sources_ended(database: Path, after_id: int, reason: str | None = None) -> int:
    rows = query(
        database,
        "SELECT count(DISTINCT source) FROM crawl_runs WHERE id > ? AND status != 'running'"
        + (" AND finish_reason = ?" if reason else ""),
        after_id,
        *([reason] if reason else []),
    )
    return int(rows[0][0]) if rows else 0


def last_run_id(database: Path) -> int:
    rows = query(database, "SELECT coalesce(max(id), 0) FROM crawl_runs")
    return int(rows[0][0]) if rows else 0


def spread(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 1),
        "p95": round(percentile(values, 0.95), 1),
        "max": round(max(values, default=math.nan), 1),
    }


def cpu_counters(nginx_pid: int) -> dict[str, float]:
    """CPU seconds so far: the whole machine's busy time (every process, ours or not), this
    benchmark's own process, and nginx's (master and workers)."""
    machine = psutil.cpu_times()
    me = resource.getrusage(resource.RUSAGE_SELF)
    nginx = 0.0
    with contextlib.suppress(psutil.Error):
        master = psutil.Process(nginx_pid)
        for proc in [master, *master.children()]:
            times = proc.cpu_times()
            nginx += times.user + times.system
    return {
        "machine": sum(machine) - machine.idle - getattr(machine, "iowait", 0.0),
        "benchmark": me.ru_utime + me.ru_stime,
        "nginx": nginx,
    }


def cores_between(
    before: dict[str, float], after: dict[str, float], seconds: float
) -> dict[str, float]:
    """What :func:`cpu_counters` counted between two calls, as cores used."""
    return {k: round((after[k] - before[k]) / seconds, 3) if seconds else 0.0 for k in before}


_NOISE = re.compile(r"\d+(\.\d+)?|127\.0\.\d+\.\d+(:\d+)?|site\d+")
_LEVEL = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) (.*)$")


def log_problems(log: Path, limit: int = 12) -> dict[str, object]:
    """Warnings and errors in the daemon's log (with its rotated files): counts by level and
    the most frequent messages, numbers and hosts blanked so alike lines group together; and
    the turns a source's job skipped because its last run was still going on."""
    levels: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    examples: dict[str, str] = {}
    skipped = 0
    for path in sorted(log.parent.glob(log.name + "*")):
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                skipped += "this turn is skipped" in line
                match = _LEVEL.match(line.rstrip())
                if match is None:
                    continue
                level, message = match.groups()
                levels[level] += 1
                shape = f"{level} {_NOISE.sub('#', message)[:160]}"
                messages[shape] += 1
                examples.setdefault(shape, line.rstrip()[:400])
    return {
        "levels": dict(levels),
        "turns_skipped_run_still_going": skipped,
        "most_frequent": [
            {"count": count, "shape": shape, "example": examples[shape]}
            for shape, count in messages.most_common(limit)
        ],
    }


def log_marks(log: Path, since: float, marks: dict[str, str]) -> dict[str, float]:
    """Seconds from ``since`` (time.time()) to the first line logged at or after it that
    contains each of ``marks``' texts (their names the keys); the log's times are local."""
    found: dict[str, float] = {}
    for path in sorted(log.parent.glob(log.name + "*")):
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                try:
                    when = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                except ValueError:
                    continue
                for name, text in marks.items():
                    if when >= since - 1 and name not in found and text in line:
                        found[name] = round(when - since, 1)
    return found


def nginx_problems(error_log: Path, limit: int = 8) -> dict[str, object]:
    """nginx's error log: its alerts and errors (``[alert]``, ``[crit]``, ``[error]``, ...),
    grouped the same way; too many open files shows here as ``(24: Too many open files)``."""
    if not error_log.exists():
        return {"lines": 0, "most_frequent": []}
    messages: Counter[str] = Counter()
    total = 0
    for line in error_log.read_text(encoding="utf-8", errors="replace").splitlines():
        if "[notice]" in line or "[info]" in line:
            continue
        total += 1
        messages[_NOISE.sub("#", line.split("] ", 1)[-1])[:200]] += 1
    return {
        "lines": total,
        "most_frequent": [{"count": c, "shape": s} for s, c in messages.most_common(limit)],
    }
