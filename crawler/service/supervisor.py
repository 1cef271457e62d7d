"""The daemon's side of the crawl engine: start it, feed it, watch it, replace it.

The daemon keeps one engine process (``python -m crawler.scrapy.engine``) for all its sources and
hands it each source as it comes due (a line on the engine's stdin). The engine reports each run's
start and end, and a heartbeat every few seconds (lines on its stdout). The supervisor:

- starts a new engine when the one it has dies or stops answering (no heartbeat for
  ``[daemon] engine_stall``): the runs the old one held are closed as failed with the reason,
  and those sources are crawled again at their next turn;
- recycles the engine to bound its memory over days: past ``[daemon] engine_max_memory`` or
  ``[daemon] engine_recycle``, the engine is told to drain (take nothing new, finish its runs
  and exit) while a fresh one takes the sources that come due; no page in flight is lost;
- never hands a source to an engine while a run of it is in progress anywhere.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.config import Config

logger = logging.getLogger("presswatch.daemon")

# An engine that dies this soon after starting is restarted after a growing pause.
QUICK_DEATH = 30.0
MAX_RESTART_PAUSE = 60.0


@dataclass(frozen=True, slots=True)
class RunEnded:
    source: str
    run_id: int | None
    status: str
    reason: str
    seconds: float
    counts: dict[str, Any] | None = None  # pages, new, updated, flagged, errors (by kind)


_COUNTS = ("pages", "new", "updated", "flagged", "errors")
_DIAGNOSTIC_COUNTS = ("articles", "empty", "listed", "too_old")


def _counts(event: dict[str, Any]) -> dict[str, Any] | None:
    """A run's counts as an "ended" event gives them (None from an engine that does not)."""
    if not all(k in event for k in _COUNTS):
        return None
    return {k: event[k] for k in _COUNTS} | {k: event.get(k, 0) for k in _DIAGNOSTIC_COUNTS}


@dataclass(eq=False)
class Engine:
    process: subprocess.Popen[str]
    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_beat: float = field(default_factory=time.monotonic)
    beat: dict[str, Any] = field(default_factory=dict)
    holding: dict[str, float] = field(default_factory=dict)  # source -> when it was handed over
    ready: bool = False
    draining: bool = False
    last_drain: float = 0.0
    killed_why: str | None = None
    queued: list[str] = field(default_factory=list)  # commands written before it was ready
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message)
        with self.lock:
            if not self.ready:
                self.queued.append(line)
                return
            self._write(line)

    def _write(self, line: str) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # it is dying: its reader thread reports that

    def set_ready(self) -> None:
        with self.lock:
            self.ready = True
            for line in self.queued:
                self._write(line)
            self.queued.clear()


def engine_command(config_path: Path, time_limit: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler.scrapy.engine",
        "--config",
        str(config_path),
        "--time-limit",
        str(int(time_limit)),
    ]


class Supervisor:
    def __init__(
        self,
        config: Config,
        *,
        on_ended: Callable[[RunEnded], None],
        on_lost: Callable[[int, list[str], str], None],
    ) -> None:
        self.config = config
        self.on_ended = on_ended
        self.on_lost = on_lost  # (engine pid, sources it held, why): runs to close as failed
        self.engines: list[Engine] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._deaths: list[float] = []
        self._restart_at = 0.0
        # Ends are handled (database reads, health, adapting) off the reader threads, so a
        # burst of them never leaves the engine blocked on a full pipe.
        self._reports = ThreadPoolExecutor(1, thread_name_prefix="run-ends")

    # -- the engine in use ----------------------------------------------------------------------

    @property
    def current(self) -> Engine | None:
        with self._lock:
            live = [e for e in self.engines if not e.draining and e.killed_why is None]
        return live[-1] if live else None

    def start(self) -> Engine:
        daemon = self.config.daemon
        process = subprocess.Popen(
            engine_command(self.config.path, daemon.crawl_time_limit.total_seconds()),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.scrapy.settings"},
            start_new_session=True,  # a Ctrl-C at the daemon's terminal is the daemon's to pass on
        )
        engine = Engine(process)
        with self._lock:
            self.engines.append(engine)
        threading.Thread(target=self._read, args=(engine,), daemon=True).start()
        threading.Thread(target=_relay, args=(engine.process,), daemon=True).start()
        logger.info("crawl engine started (pid %d)", engine.pid)
        return engine

    def crawl(self, source: str) -> bool:
        """Hand ``source`` to the engine; False when a run of it is in progress somewhere."""
        with self._lock:
            if any(source in e.holding for e in self.engines):
                return False
        engine = self.current
        if engine is None:
            return False  # being replaced: the source comes due again at its next turn
        with self._lock:
            engine.holding[source] = time.monotonic()
        engine.send({"op": "crawl", "sources": [source]})
        return True

    def reload(self, config: Config) -> None:
        """Hand a re-read config to the engine. Sources are taken from it at once; what the
        engine built once (its watchlists' matchers, its crawl settings, the story window)
        needs a fresh engine: when those changed, the engine is recycled."""
        before, self.config = self.config, config
        engine = self.current
        if engine is None:
            return
        engine.send({"op": "reload"})
        if (before.watchlists, before.crawl, before.storage) != (
            config.watchlists,
            config.crawl,
            config.storage,
        ):
            self._drain(engine, "the watchlists or the [crawl] or [storage] settings changed")

    def _drain(self, engine: Engine, why: str) -> None:
        logger.info("recycling crawl engine %d (%s)", engine.pid, why)
        engine.draining = True
        engine.last_drain = time.monotonic()
        if not self._stopping:
            self.start()  # first, so that what the old one gives back has somewhere to go
        engine.send({"op": "drain"})

    # -- events -------------------------------------------------------------------------------

    def _read(self, engine: Engine) -> None:
        assert engine.process.stdout is not None
        for line in engine.process.stdout:
            try:
                event = json.loads(line)
                kind = event["event"]
            except (ValueError, KeyError, TypeError):
                logger.warning("crawl engine %d said %r", engine.pid, line[:200])
                continue
            engine.last_beat = time.monotonic()
            if kind == "ready":
                engine.set_ready()
            elif kind == "heartbeat":
                engine.beat = event
            elif kind == "ended":
                with self._lock:
                    engine.holding.pop(event["source"], None)
                self._submit_report(
                    RunEnded(
                        event["source"],
                        event.get("run_id"),
                        event.get("status", "failed"),
                        event.get("reason", ""),
                        float(event.get("seconds", 0)),
                        _counts(event),
                    ),
                )
            elif kind in ("unknown", "forgotten", "given_back"):
                # Not (or no longer) this engine's: it holds nothing of it.
                name = str(event.get("source", ""))
                with self._lock:
                    engine.holding.pop(name, None)
                if kind == "unknown":
                    logger.warning("the engine does not know source %s", name)
                elif kind == "given_back" and not self._stopping:
                    self.crawl(name)  # to the engine that took over, if one has
            elif kind == "busy":
                pass  # running or waiting there already: its "ended" will come
            elif kind == "reload_failed":
                logger.error("the engine kept its config: %s", event.get("error"))
        engine.process.wait()
        self._gone(engine)

    def _submit_report(self, ended: RunEnded) -> None:
        try:
            self._reports.submit(self._report, ended)
        except RuntimeError:  # stopped: reported here, in the reader thread
            self._report(ended)

    def _report(self, ended: RunEnded) -> None:
        try:
            self.on_ended(ended)
        except Exception:
            logger.error("handling the end of %s's run failed", ended.source, exc_info=True)

    def _gone(self, engine: Engine) -> None:
        """The engine process has ended: what it held is lost; replace it if it was in use."""
        with self._lock:
            if engine in self.engines:
                self.engines.remove(engine)
            held = sorted(engine.holding)
            engine.holding.clear()
        code = engine.process.returncode
        why = engine.killed_why or (
            f"the crawl engine ended (exit status {code})" if code else "the crawl engine ended"
        )
        if held or (code and not self._stopping and not engine.draining):
            logger.warning(
                "crawl engine %d is gone (%s); it held %d runs", engine.pid, why, len(held)
            )
        self.on_lost(engine.pid, held, why)
        if self._stopping or engine.draining:
            return
        now = time.monotonic()
        if now - engine.started < QUICK_DEATH:
            self._deaths = [t for t in self._deaths if now - t < 10 * QUICK_DEATH] + [now]
            pause = min(MAX_RESTART_PAUSE, 2.0 ** len(self._deaths))
            logger.warning(
                "crawl engine died %.0f s after starting; next in %.0f s",
                now - engine.started,
                pause,
            )
            self._restart_at = now + pause
        else:
            self._restart_at = now

    # -- watching -------------------------------------------------------------------------------

    def check(self) -> None:
        """Called every second by the daemon: replace an engine that is gone or stalled, recycle
        one past its memory or age limit, kill a draining one that does not finish."""
        if self._stopping:
            return
        daemon = self.config.daemon
        now = time.monotonic()
        with self._lock:
            engines = list(self.engines)
        for engine in engines:
            if engine.killed_why is not None:
                continue
            silent = now - engine.last_beat
            if silent > daemon.engine_stall.total_seconds():
                self._kill(engine, f"the crawl engine stopped answering ({silent:.0f} s silent)")
                continue
            if engine.draining:
                limit = (daemon.crawl_time_limit + daemon.stop_grace).total_seconds()
                if now - engine.last_drain > limit:
                    self._kill(engine, "the draining crawl engine did not finish its runs")
                continue
            why = self._recycle_reason(engine, now)
            if why is not None:
                self._drain(engine, why)
        if self.current is None and now >= self._restart_at:
            self.start()

    def _recycle_reason(self, engine: Engine, now: float) -> str | None:
        daemon = self.config.daemon
        rss_kb = int(engine.beat.get("rss_kb", 0))
        if daemon.engine_max_memory and rss_kb * 1024 > daemon.engine_max_memory:
            return f"{rss_kb // 1024} MB in memory, over engine_max_memory"
        age = now - engine.started
        if daemon.engine_recycle.total_seconds() and age > daemon.engine_recycle.total_seconds():
            return f"running for {age / 3600:.1f} h, past engine_recycle"
        return None

    def _kill(self, engine: Engine, why: str) -> None:
        logger.error("%s: killing crawl engine %d", why, engine.pid)
        engine.killed_why = why
        with contextlib.suppress(ProcessLookupError):
            os.killpg(engine.pid, signal.SIGKILL)

    def stop(self, grace: float) -> None:
        """SIGTERM-like stop: each engine lets pages in flight finish, its runs are recorded as
        stopped; an engine still there after ``grace`` seconds is killed."""
        self._stopping = True
        with self._lock:
            engines = list(self.engines)
        for engine in engines:
            engine.send({"op": "stop"})
        deadline = time.monotonic() + grace
        for engine in engines:
            try:
                engine.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill(engine, "the crawl engine did not stop in time")
                engine.process.wait()
        # Let the readers report the last events.
        end = time.monotonic() + 5
        while time.monotonic() < end:
            with self._lock:
                if not self.engines:
                    break
            time.sleep(0.05)
        self._reports.shutdown(wait=True)

    def state(self) -> list[dict[str, Any]]:
        """What each engine is doing now, for ``presswatch status``."""
        with self._lock:
            engines = list(self.engines)
        now = time.monotonic()
        rows = []
        for engine in engines:
            beat = engine.beat
            rows.append(
                {
                    "pid": engine.pid,
                    "started_at": engine.started_at.isoformat(timespec="seconds"),
                    "draining": engine.draining,
                    "running": beat.get("running", []),
                    "waiting": beat.get("waiting", 0),
                    "pages_in_flight": beat.get("in_flight", 0),
                    "most_overdue_seconds": beat.get("most_overdue", 0.0),
                    "memory_mb": round(int(beat.get("rss_kb", 0)) / 1024, 1),
                    "last_heartbeat_seconds_ago": round(now - engine.last_beat, 1),
                }
            )
        return rows


def _relay(process: subprocess.Popen[str]) -> None:
    """The engine's log lines (warnings and errors) into the daemon's log."""
    crawl_log = logging.getLogger("presswatch.engine")
    assert process.stderr is not None
    for line in process.stderr:
        line = line.rstrip()
        if line:
            crawl_log.warning("%s", line)
