"""``presswatch worker``: a crawl worker of a cluster (``[cluster] redis_url``).

It beats a heartbeat into Redis, gives back what dead workers held, and takes part in every
run the daemon announces: one ``scrapy crawl news -a source=NAME -a run=ID`` process per run
(at most ``[cluster] max_parallel_crawls`` at once), which takes requests from the run's shared
queue and pushes the links it finds back. Its crawls die with it (PR_SET_PDEATHSIG), so that a
killed worker holds nothing another does not get back after ``dead_after``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from crawler.cluster import Frontier, new_worker_id
from crawler.config import Config
from crawler.frontier import WORKER_ENV
from crawler.workers import die_with_parent

logger = logging.getLogger("presswatch.worker")


def crawl_command(config_path: Path, source: str, time_limit: timedelta) -> list[str]:
    # `scrapy crawl`, ended without the interpreter's teardown (0.4 s less per crawl).
    return [
        sys.executable,
        "-m",
        "crawler.scrapycmd",
        "crawl",
        "news",
        "-a",
        f"source={source}",
        "-a",
        f"config={config_path}",
        # The spider closes itself at the limit (run row: timeout); the daemon kills a crawl
        # that still has not ended after stop_grace more.
        "-s",
        f"CLOSESPIDER_TIMEOUT={int(time_limit.total_seconds())}",
        "-s",
        "LOG_LEVEL=WARNING",
    ]


@dataclass
class Crawl:
    run: int
    source: str
    process: subprocess.Popen[str]


class Worker:
    def __init__(self, config: Config) -> None:
        assert config.cluster is not None
        self.config = config
        self.cluster = config.cluster
        self.frontier = Frontier(config.cluster)
        self.id = new_worker_id()
        self.crawls: dict[int, Crawl] = {}
        self.done: set[int] = set()
        self._stopping = threading.Event()

    def run(self) -> int:
        def stop(signum: int, _frame: Any) -> None:
            logger.info("%s received: stopping", signal.Signals(signum).name)
            self._stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.frontier.redis.ping()
        logger.info(
            "presswatch worker %s started: frontier %s, at most %d crawls at once",
            self.id,
            self.cluster.redis_url,
            self.cluster.max_parallel_crawls,
        )
        beat = self.cluster.heartbeat.total_seconds()
        try:
            while not self._stopping.is_set():
                self.frontier.heartbeat(self.id)
                given_back = self.frontier.reap()
                if given_back:
                    logger.info("gave back %d requests held by dead workers", given_back)
                self._collect()
                self._start_crawls()
                self._stopping.wait(min(1.0, beat / 2))
        finally:
            self._shutdown()
        return 0

    def _start_crawls(self) -> None:
        for run, source in self.frontier.active_runs().items():
            if run in self.crawls or run in self.done:
                continue
            if len(self.crawls) >= self.cluster.max_parallel_crawls:
                return
            if self.frontier.pending(run) == 0:
                continue  # nothing to take (yet)
            command = [
                *crawl_command(self.config.path, source, self.config.daemon.crawl_time_limit),
                "-a",
                f"run={run}",
            ]
            env = {
                **os.environ,
                "SCRAPY_SETTINGS_MODULE": "crawler.settings",
                WORKER_ENV: self.id,
            }
            process = subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=None,
                text=True,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
            self.crawls[run] = Crawl(run, source, process)
            logger.info("run %d (%s): crawling (pid %d)", run, source, process.pid)

    def _collect(self) -> None:
        for run, crawl in list(self.crawls.items()):
            code = crawl.process.poll()
            if code is None:
                continue
            del self.crawls[run]
            if code == 0:
                self.done.add(run)
                logger.info("run %d (%s): this worker's part is done", run, crawl.source)
            else:
                moved = self.frontier.requeue(run, self.id)
                logger.warning(
                    "run %d (%s): the crawl process ended with %s; %d requests given back",
                    run,
                    crawl.source,
                    code,
                    moved,
                )

    def _shutdown(self) -> None:
        grace = self.config.daemon.stop_grace.total_seconds()
        for crawl in self.crawls.values():
            crawl.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        # Beating on while the crawls finish their pages: they still hold them.
        while time.monotonic() < deadline and any(
            c.process.poll() is None for c in self.crawls.values()
        ):
            self.frontier.heartbeat(self.id)
            time.sleep(0.5)
        for crawl in self.crawls.values():
            if crawl.process.poll() is None:
                crawl.process.kill()
                crawl.process.wait()
            self.frontier.requeue(crawl.run, self.id)
        self.frontier.leave(self.id)
        logger.info("presswatch worker %s stopped", self.id)


def run_worker(config: Config) -> int:
    return Worker(config).run()
