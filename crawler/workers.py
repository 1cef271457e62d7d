"""Page processing off the reactor: extraction, fingerprints and flagging in worker processes.

Extraction is most of a crawl's CPU. Run inline it blocks Scrapy's reactor (downloads stall
while a page is parsed) and leaves the second core idle. Here each downloaded page goes, as
bytes, to a pool of worker processes, which return only what storage needs: the extracted
fields, the content hash and MinHash signature, the words the search index takes, and the
watchlist matches. The crawl process keeps fetching and writing.

Workers are forked from a fork server that has imported this module once (trafilatura, lxml,
datasketch, the stemmers), so they start in milliseconds and share those pages. A page that
runs past the time limit or kills its worker costs that page alone: pebble replaces the worker.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from crawler.items import ExtractedArticle
from crawler.watch.flagging import analyse
from crawler.watch.matcher import Matcher, WatchlistQuery
from storage import fingerprints
from storage.repository import MatchRecord

logger = logging.getLogger(__name__)

# Imported once by the fork server, so that every worker starts with them loaded and shared.
PRELOAD = [__name__, "crawler.extraction", "datasketch"]
# A worker is replaced after this many pages, which bounds what lxml's and trafilatura's caches
# can grow to. Not sooner: a new worker starts with cold caches (500 cost 12% of throughput).
TASKS_PER_WORKER = 10_000


@dataclass(frozen=True, slots=True)
class PageTask:
    """What a worker needs of a downloaded page (the body travels once, as bytes)."""

    url: str
    body: bytes
    encoding: str | None
    timezone: str
    language_hint: str | None
    listed_published: datetime | None


@dataclass(frozen=True, slots=True)
class Processed:
    """What storage needs of a page with article text."""

    article: ExtractedArticle
    content_hash: str
    signature: bytes
    search_words: str
    matches: tuple[MatchRecord, ...]


_matcher: Matcher | None = None


def start_worker(watchlists: Sequence[WatchlistQuery]) -> None:
    """Runs once in each worker: compile the watchlists; leave Ctrl-C to the crawl process,
    which stops gracefully and lets the pages in flight finish; die with the pool."""
    global _matcher
    _matcher = Matcher(watchlists) if watchlists else None
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        die_with_parent()


def die_with_parent() -> None:
    """On Linux, ask the kernel to kill this process when its parent goes (an extraction
    worker with its fork server, a cluster crawl with its worker), so a SIGKILL leaves no
    orphans."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        pass


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def process_page(task: PageTask) -> Processed | None:
    """Extract one page and prepare it for storage; None when it holds no article text."""
    # Imported here: the crawl process, which only hands pages over, never loads trafilatura.
    from crawler.extraction import ExtractionOptions, decode_html, extract_article

    options = ExtractionOptions(
        url=task.url,
        timezone=_zone(task.timezone),
        language_hint=task.language_hint,
        listed_published=task.listed_published,
    )
    article = extract_article(decode_html(task.body, task.encoding), options)
    if article is None:
        return None
    matches, words = analyse(_matcher, article.title, article.text, article.language)
    return Processed(
        article=article,
        content_hash=fingerprints.content_hash(article.text),
        signature=fingerprints.minhash_signature(article.text),
        search_words=words,
        matches=tuple(matches),
    )


class PagePool:
    """A pool of ``workers`` processes running ``function`` (``process_page``) on tasks, each
    with a time limit; ``workers=0`` runs tasks in the calling thread (no pool)."""

    def __init__(
        self,
        workers: int,
        watchlists: Sequence[WatchlistQuery],
        *,
        timeout: float | None = None,
        function: Any = process_page,
        tasks_per_worker: int = TASKS_PER_WORKER,
    ) -> None:
        self.workers = workers
        self.timeout = timeout
        self.function = function
        self._pool: Any = None
        if workers == 0:
            start_worker(watchlists)
            return
        import pebble

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        self._pool = pebble.ProcessPool(
            max_workers=workers,
            max_tasks=tasks_per_worker,
            initializer=start_worker,
            initargs=(tuple(watchlists),),
            context=context,
        )
        atexit.register(self.stop)

    def submit(self, task: Any) -> Future[Any]:
        if self._pool is None:
            future: Future[Any] = Future()
            try:
                future.set_result(self.function(task))
            except Exception as exc:
                future.set_exception(exc)
            return future
        return self._pool.schedule(self.function, args=(task,), timeout=self.timeout)

    def close(self, timeout: float | None = None) -> None:
        """Let the tasks submitted finish, then end the workers."""
        if self._pool is not None:
            self._pool.close()
            self._pool.join(timeout)
            self.stop()

    def stop(self) -> None:
        """End the workers now (tasks still running are lost: use ``close`` to keep them)."""
        if self._pool is not None:
            if self._pool.active:
                self._pool.stop()
            self._pool.join()
            self._pool = None
            atexit.unregister(self.stop)


def worker_count(setting: int | str) -> int:
    """``"auto"``: one worker per core the process may use; an integer as given."""
    if setting == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not on Linux
            return max(1, os.cpu_count() or 1)
    return int(setting)
