"""Ending a presswatch process without the slowest part of a normal exit.

A normal exit joins threads, runs the exit handlers, flushes the standard streams, and then
tears the interpreter down module by module: after a crawl (Scrapy, Twisted, SQLAlchemy, lxml
loaded) that last part takes about 0.4 s of CPU and wall time, and frees memory the operating
system frees at once anyway. ``quick_exit`` does the first three and skips the last. Callers
have closed what they opened (databases, files) by then, as any well-behaved program does.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn


def quick_exit(code: int) -> NoReturn:
    # What the interpreter does first at exit (CPython's own step, private but there since
    # 3.x began): tell thread pools to finish (their exit hooks), then wait for every thread
    # that is not a daemon.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    # As the interpreter does: output that cannot be written (a full disk) makes the status
    # 120 if it was 0, so that a cut-short `presswatch export > file` is not a success. A reader
    # that went away (`| head`) is not an error here, as main treats it.
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    except (OSError, ValueError) as error:
        with contextlib.suppress(OSError, ValueError):
            print(f"presswatch: error: could not write the output: {error}", file=sys.stderr)
        code = code or 120
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def run_then_quick_exit(function: Callable[[], object]) -> NoReturn:
    """Run ``function`` (a command line's main), then ``quick_exit`` with its status: its
    return value, or the code of the SystemExit it raised. Any other exception ends the
    process the usual way, with its traceback."""
    try:
        result = function()
    except SystemExit as stop:
        result = stop.code
    if result is None:
        code = 0
    elif isinstance(result, int):
        code = result
    else:  # sys.exit("message"): printed, status 1, as the interpreter does
        print(result, file=sys.stderr)
        code = 1
    quick_exit(code)
