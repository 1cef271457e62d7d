"""The web view as the daemon's child process (``[web] enabled = true``): `presswatch serve`
with the daemon's config, started with it, started again when it dies (at most every
RESTART_AFTER) or when the config is re-read, and stopped with it. A process of its own keeps
page rendering off the daemon's threads and the web view's memory apart from the daemon's."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

from crawler.config import Config
from crawler.web.server import access_of

logger = logging.getLogger(__name__)

RESTART_AFTER = 10.0  # seconds between two starts of a web view that keeps dying
STOP_GRACE = 5.0


class WebProcess:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @classmethod
    def configured(cls, config: Config) -> WebProcess | None:
        """The web view the config asks for, its authentication checked now (a ConfigError
        stops the daemon before it starts anything), or None."""
        if not config.web.enabled:
            return None
        access_of(config, config.web.host)
        return cls(config)

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "--config", str(self.config.path), "serve"],
            stdin=subprocess.DEVNULL,
        )
        logger.info(
            "web view started (pid %d) on %s:%d",
            self.process.pid,
            self.config.web.host,
            self.config.web.port,
        )

    def check(self) -> None:
        """Start it again if it died (not more often than every RESTART_AFTER)."""
        if self.process is None or self.process.poll() is None:
            return
        if time.monotonic() - self.started_at < RESTART_AFTER:
            return
        logger.warning(
            "the web view exited (status %s): starting it again", self.process.returncode
        )
        self.start()

    def restart(self, config: Config) -> None:
        self.stop()
        self.config = config
        if config.web.enabled:
            self.start()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
