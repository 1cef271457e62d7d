"""Imported only by the extraction workers' fork server (``crawler.extract.pool.PRELOAD``): when the
crawl process exits, the fork server exits at once instead of tearing down trafilatura, lxml
and the rest module by module (about a quarter of a second, during which it still holds the
crawl's standard output and error open: a caller reading them waited for it)."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys


def _exit_now() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


# Only in the fork server itself (``python -c "from multiprocessing.forkserver import ..."``),
# never in a process that imports this module otherwise; its workers never run exit handlers
# (multiprocessing ends them with os._exit). Exit handlers run last registered first: this one,
# imported last (PRELOAD), ends the others' turn (weakref finalizers, logging, multiprocessing's
# own), which have nothing to do in a fork server that only forks.
IN_FORK_SERVER = sys.argv == ["-c"] and "multiprocessing.forkserver" in sys.modules
if IN_FORK_SERVER:
    atexit.register(_exit_now)
