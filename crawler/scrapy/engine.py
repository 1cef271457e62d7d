"""``python -m crawler.scrapy.engine --config FILE``: the daemon's long-lived crawl engine.

One process, one Scrapy crawler (one reactor, one downloader with a slot per host, one
scheduler), one extraction pool, one database writer, for every source: the ``news`` spider in
serve mode, open until told to stop, taking each source when the daemon says it is due. A poll
costs requests, not a process.

The daemon (``crawler.service.supervisor``) talks to it in JSON lines: commands on the engine's
stdin, events on its stdout (stdout is kept for them alone: anything else printed goes to stderr,
which carries the log).

commands: ``{"op": "crawl", "sources": [...]}``, ``{"op": "reload"}`` (re-read the config: new,
changed and removed sources, without a restart), ``{"op": "drain"}`` (take nothing new, finish
the runs in progress, exit: the daemon recycles the engine), ``{"op": "stop"}`` (end now, letting
pages in flight finish; runs in progress are recorded as stopped). End of input is a stop.

events: ``ready``, ``started`` (a source's run began), ``busy`` (already running or waiting),
``unknown`` (no such source), ``ended`` (a run's row is written: id, status, reason),
``given_back`` (a source not taken, or waiting when told to drain: for the next engine),
``forgotten`` (a waiting source the reloaded config no longer has), ``reloaded`` /
``reload_failed``, and every few seconds ``heartbeat`` (runs in progress,
sources waiting, pages in flight, how long the most overdue source has waited, memory).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import threading
from pathlib import Path
from typing import IO, Any

from crawler.config import ConfigError, load_config
from crawler.quickexit import run_then_quick_exit

logger = logging.getLogger("presswatch.engine")

HEARTBEAT_SECONDS = 2.0


class Events:
    """The engine's events, one JSON object a line, on a stream nothing else writes to."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, default=str)
        with self._lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (BrokenPipeError, ValueError):
                pass  # the daemon is gone; its end of input stops the engine


def _events_stream() -> IO[str]:
    """The original stdout, for events; fd 1 then points at stderr, so that a stray print of
    a library's never corrupts the protocol."""
    sys.stdout.flush()
    events = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return events


def serve(config_path: Path, time_limit: float, log_level: str) -> int:
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawler.scrapy.crawl import scrapy_settings
    from crawler.scrapy.sourceruns import EndedRun, SourceRun
    from crawler.scrapy.spiders.news import NewsSpider

    events = Events(_events_stream())
    settings = scrapy_settings({"LOG_LEVEL": log_level})
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NewsSpider)

    def spider() -> NewsSpider | None:
        found = crawler.spider
        return found if isinstance(found, NewsSpider) and hasattr(found, "runs") else None

    def heartbeat() -> None:
        found = spider()
        if found is None or crawler.engine is None:
            return
        runs = found.runs
        events.send(
            "heartbeat",
            pid=os.getpid(),
            running=sorted(r.name for r in runs.active.values() if not r.ending),
            waiting=len(runs.waiting),
            most_overdue=round(runs.most_overdue(), 1),
            in_flight=len(crawler.engine.downloader.active),
            max_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            rss_kb=_rss_kb(),
        )

    def opened(spider: Any) -> None:
        found = spider if isinstance(spider, NewsSpider) else None
        if found is None or not hasattr(found, "runs"):
            return
        found.runs.on_start.append(lambda run: started(run))
        found.runs.on_end.append(ended)
        events.send("ready", pid=os.getpid())
        beat.append(task.LoopingCall(heartbeat))
        beat[0].start(HEARTBEAT_SECONDS, now=True)
        threading.Thread(target=read_commands, name="engine-commands", daemon=True).start()

    def started(run: SourceRun) -> None:
        events.send("started", source=run.name)

    def ended(run: EndedRun) -> None:
        events.send(
            "ended",
            source=run.source,
            run_id=run.run_id,
            status=run.status,
            reason=run.reason,
            seconds=round(run.seconds, 2),
            # What the daemon's health and adaptive intervals need, so it need not read the row.
            pages=run.counts.pages_fetched,
            new=run.counts.new,
            updated=run.counts.updated,
            flagged=run.counts.flagged,
            errors=run.counts.errors,
            # ... and whether its problems need looking into (storage.diagnostics).
            articles=run.counts.articles_fetched,
            empty=run.counts.empty,
            listed=run.counts.listed,
            too_old=run.counts.too_old,
        )

    def read_commands() -> None:
        from twisted.internet import reactor

        for line in sys.stdin:
            line = line.strip()
            if line:
                reactor.callFromThread(command, line)
        reactor.callFromThread(command, json.dumps({"op": "stop"}))

    def command(line: str) -> None:
        try:
            message = json.loads(line)
            op = message["op"]
        except (ValueError, KeyError, TypeError):
            logger.error("engine: unreadable command %r", line[:200])
            return
        found = spider()
        if found is None:
            return
        if op == "crawl":
            for name in message.get("sources", []):
                try:
                    source = found.config.source(name)
                except ConfigError:
                    events.send("unknown", source=name)
                    continue
                if found.draining:
                    events.send("given_back", source=name)
                elif not found.crawl_source(source):
                    events.send("busy", source=name)
        elif op == "reload":
            try:
                forgotten = found.reconfigure(load_config(config_path))
            except ConfigError as exc:
                events.send("reload_failed", error=str(exc))
            else:
                for name in forgotten:
                    events.send("forgotten", source=name)
                events.send("reloaded")
        elif op == "drain":
            for name in found.drain():
                events.send("given_back", source=name)
        elif op == "stop":
            found.stop()
        else:
            logger.error("engine: unknown command %r", op)

    # Made once the spider is open: the reactor is Scrapy's to install, not this module's.
    from twisted.internet import task

    beat: list[task.LoopingCall] = []
    crawler.signals.connect(opened, signal=signals.spider_opened)
    process.crawl(crawler, serve=True, sources="", config=str(config_path), time_limit=time_limit)
    process.start(install_signal_handlers=True)
    if beat and beat[0].running:
        beat[0].stop()
    reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
    events.send("exit", reason=reason)
    return 0 if reason in ("finished", "shutdown") else 1


def _rss_kb() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.scrapy.engine", description=__doc__)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--time-limit", type=float, default=0, help="seconds a run may take")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.scrapy.settings")
    return serve(args.config, args.time_limit, args.log_level)


if __name__ == "__main__":
    run_then_quick_exit(main)
