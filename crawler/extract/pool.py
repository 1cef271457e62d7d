"""Page processing off the reactor: extraction, fingerprints and flagging in worker processes.

Extraction is most of a crawl's CPU. Run inline it blocks Scrapy's reactor (downloads stall
while a page is parsed) and leaves the second core idle. Here each downloaded page goes, as
bytes, to a pool of worker processes, which return only what storage needs: the extracted
fields, the content hash and MinHash signature, the words the search index takes, and the
watchlist matches. The crawl process keeps fetching and writing.

Workers are forked from a fork server that has imported this module once (trafilatura, lxml,
NumPy, the stemmers), so they start in milliseconds and share those pages. A page that
runs past the time limit or kills its worker costs that page alone: pebble replaces the worker.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any
from zoneinfo import ZoneInfo

from crawler.items import ExtractedArticle, NoArticle, PageSelectors
from crawler.watch.flagging import analyse
from crawler.watch.matcher import Matcher, WatchlistQuery
from storage import fingerprints
from storage.matches import MatchRecord

logger = logging.getLogger(__name__)

# Every module of the extraction (``article`` imports the others; each is named all the same).
EXTRACTION_MODULES = [
    "crawler.extract.article",
    "crawler.extract.authors",
    "crawler.extract.body",
    "crawler.extract.cleaning",
    "crawler.extract.dates",
    "crawler.extract.decoding",
    "crawler.extract.language",
    "crawler.extract.lead",
    "crawler.extract.lines",
    "crawler.extract.metadata",
    "crawler.extract.pageselectors",
    "crawler.extract.sitename",
    "crawler.extract.titles",
]
# Imported once by the fork server, so that every worker starts with them loaded and shared.
PRELOAD = [__name__, *EXTRACTION_MODULES, "numpy", "crawler.extract.forkserver"]
# A worker is replaced after this many pages, which bounds what lxml's and trafilatura's caches
# can grow to. Not sooner: a new worker starts with cold caches (500 cost 12% of throughput).
TASKS_PER_WORKER = 10_000
# How often the pool's watchdog looks for a broken pool while pages are out (seconds).
WATCHDOG_INTERVAL = 0.5
# Broken pools replaced before giving up: workers that cannot start or keep dying (a failing
# import, no memory) would otherwise be replaced for ever, each new pool losing its pages.
MAX_REPLACEMENTS = 3
GAVE_UP = (
    f"The extraction workers broke {MAX_REPLACEMENTS + 1} pools in this crawl: no more pages go "
    "to them"
)


@dataclass(frozen=True, slots=True)
class PageTask:
    """What a worker needs of a downloaded page (the body travels once, as bytes)."""

    url: str
    body: bytes
    encoding: str | None
    timezone: str
    language_hint: str | None
    listed_published: datetime | None
    selectors: PageSelectors | None = None  # the source's own, where it has any


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
    processed = read_page(task)
    return processed if isinstance(processed, Processed) else None


def read_page(task: PageTask) -> Processed | NoArticle:
    """Extract one page and prepare it for storage, or say why it holds no article text."""
    # Imported here: the crawl process, which only hands pages over, never loads trafilatura.
    from crawler.extract.article import ExtractionOptions, read_article
    from crawler.extract.decoding import decode_html

    options = ExtractionOptions(
        url=task.url,
        timezone=_zone(task.timezone),
        language_hint=task.language_hint,
        listed_published=task.listed_published,
        selectors=task.selectors,
    )
    article = read_article(decode_html(task.body, task.encoding), options)
    if isinstance(article, NoArticle):
        return article
    matches, words = analyse(_matcher, article.title, article.text, article.language)
    return Processed(
        article=article,
        content_hash=fingerprints.content_hash(article.text),
        signature=fingerprints.minhash_signature(article.text),
        search_words=words,
        matches=tuple(matches),
    )


class PagePool:
    """A pool of ``workers`` processes running ``function`` (``read_page``) on tasks, each
    with a time limit; ``workers=0`` runs tasks in the calling thread (no pool).

    pebble replaces a worker that dies on a page (that page's future gets ``ProcessExpired``),
    but a worker that dies while idle (the out-of-memory killer's usual victim, or a failed
    start) breaks its whole pool: it takes no more tasks and never answers those it holds.
    Such a pool is replaced: its unanswered tasks fail with ``BrokenProcessPool`` (each one
    page, counted), found by a watchdog thread, and new tasks go to a fresh pool.

    The workers start in a thread of their own: the fork server's first start imports
    trafilatura and the rest (about a second), during which the crawl keeps downloading; tasks
    submitted meanwhile wait here and go to the workers once they are up.
    """

    def __init__(
        self,
        workers: int,
        watchlists: Sequence[WatchlistQuery],
        *,
        timeout: float | None = None,
        function: Any = read_page,
        tasks_per_worker: int = TASKS_PER_WORKER,
    ) -> None:
        self.workers = workers
        self.timeout = timeout
        self.function = function
        self.replaced = 0
        self.gave_up = False  # MAX_REPLACEMENTS pools broke: every page fails at once
        self._watchlists = tuple(watchlists)
        self._tasks_per_worker = tasks_per_worker
        self._pool: Any = None
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        if workers == 0:
            start_worker(watchlists)
            return
        self._pool = self._new_pool()
        self._started = False
        self._waiting: list[tuple[Any, Future[Any]]] = []
        self._lost: list[Future[Any]] = []  # pages of a broken pool, to fail outside the lock
        atexit.register(self.stop)
        self._starter = threading.Thread(target=self._start, name="PagePool-start", daemon=True)
        self._starter.start()
        threading.Thread(target=self._watch, name="PagePool-watchdog", daemon=True).start()

    def _start(self) -> None:
        try:
            self._pool.active  # noqa: B018 - pebble starts its pool (forks the workers) on first use
        except Exception:  # a pool that cannot start is broken: replaced below
            logger.warning("The extraction workers did not start", exc_info=True)
        with self._lock:
            self._started = True
            waiting, self._waiting = self._waiting, []
            handed = [(future, self._handed(task)) for task, future in waiting]
            lost = self._take_lost()
        _fail(lost)  # outside the lock: their callbacks take it
        for future, outcome in handed:
            outcome.add_done_callback(partial(_settle, future))

    def _new_pool(self) -> Any:
        import pebble

        context = _fork_server_context()
        return pebble.ProcessPool(
            max_workers=self.workers,
            max_tasks=self._tasks_per_worker,
            initializer=start_worker,
            initargs=(self._watchlists,),
            context=context,
        )

    def submit(self, task: Any) -> Future[Any]:
        if self.workers == 0:
            future: Future[Any] = Future()
            try:
                future.set_result(self.function(task))
            except Exception as exc:
                future.set_exception(exc)
            return future
        with self._lock:
            if not self._started:
                future = Future()
                self._waiting.append((task, future))
                return future
            future = self._handed(task)
            lost = self._take_lost()
        _fail(lost)  # outside the lock: their callbacks take it
        return future

    def _handed(self, task: Any) -> Future[Any]:
        """Under ``_lock``: hand ``task`` to the workers (to a new pool if theirs broke); a
        future failed with the reason when that cannot be done."""
        for _ in range(2):
            self._replace_if_broken()
            if self.gave_up or self._pool is None:
                return _failed(BrokenProcessPool(GAVE_UP))
            try:
                future: Future[Any] = self._pool.schedule(
                    self.function, args=(task,), timeout=self.timeout
                )
            except RuntimeError:  # pebble: the pool is not running (broken as it was asked)
                continue
            self._pending.add(future)
            future.add_done_callback(self._done)
            return future
        return _failed(BrokenProcessPool("the extraction workers' pool broke"))

    def _take_lost(self) -> list[Future[Any]]:
        """Under ``_lock``: the pages of broken pools, for the caller to fail once it has let go
        of the lock."""
        lost, self._lost = self._lost, []
        return lost

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _watch(self) -> None:
        while not self._closing.wait(WATCHDOG_INTERVAL):
            with self._lock:
                if self._pending:
                    self._replace_if_broken()
                lost = self._take_lost()
            _fail(lost)

    def _broken(self) -> bool:
        try:
            return not self._pool.active
        except Exception:  # pebble's start failed (no memory, no processes): never running
            return True

    def _replace_if_broken(self) -> None:
        """Under ``_lock``: when the pool is broken, move the pages it holds to ``_lost`` (the
        caller fails them once it has let go of the lock) and start a new pool; after
        ``MAX_REPLACEMENTS``, give up (``gave_up``: every later page fails at once)."""
        if self._pool is None or self._closing.is_set() or self.gave_up or not self._broken():
            return
        lost = [f for f in self._pending if not f.done()]
        self._pending.clear()
        self._lost.extend(lost)
        broken = self._pool
        if self.replaced >= MAX_REPLACEMENTS:
            self.gave_up = True
            self._pool = None
            logger.error("%s; %d page(s) they held are counted as lost", GAVE_UP, len(lost))
        else:
            self._pool = self._new_pool()
            self.replaced += 1
            logger.warning(
                "The extraction workers' pool broke (a worker ended while idle, or they could "
                "not start); %d page(s) it held are counted as lost, and a new pool takes the "
                "next pages",
                len(lost),
            )
        # Its threads may be stuck writing to workers that are gone: let them go unjoined.
        threading.Thread(target=_stop_quietly, args=(broken,), daemon=True).start()

    def close(self, timeout: float | None = None) -> None:
        """Let the tasks submitted finish, then end the workers."""
        if self.workers == 0:
            return
        self._starter.join()
        with self._lock:
            self._closing.set()  # no more replacing from here on
            pool, broken = self._pool, self._pool is not None and self._broken()
            lost = [f for f in self._pending if not f.done()] if broken else []
        _fail(lost)
        if pool is None or broken:
            # Never join a broken pool: its threads may wait for workers that are gone.
            if pool is not None:
                threading.Thread(target=_stop_quietly, args=(pool,), daemon=True).start()
            self._pool = None
            atexit.unregister(self.stop)
            return
        pool.close()
        pool.join(timeout)
        self.stop()

    def stop(self) -> None:
        """End the workers now (tasks still running are lost: use ``close`` to keep them)."""
        self._closing.set()
        pool, self._pool = self._pool, None
        if pool is not None:
            _stop_quietly(pool)
            atexit.unregister(self.stop)


def _stop_quietly(pool: Any) -> None:
    try:
        if pool.active:
            pool.stop()
        pool.join()
    except Exception:  # a pool that never started has nothing to stop
        logger.debug("Stopping a pool of extraction workers failed", exc_info=True)


def _failed(error: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(error)
    return future


def _fail(futures: Sequence[Future[Any]]) -> None:
    """Give each of ``futures`` still open the broken pool's error."""
    for future in futures:
        with contextlib.suppress(InvalidStateError):
            future.set_exception(BrokenProcessPool("the extraction workers' pool broke"))


def _fork_server_context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_fork_server() -> None:
    """Start the workers' fork server now, without waiting for it: its imports (trafilatura,
    lxml, NumPy, the stemmers: about a second) then run while this process goes on
    starting the crawl, instead of after its first article page arrives."""
    from multiprocessing import forkserver

    _fork_server_context()
    forkserver.ensure_running()


def _settle(future: Future[Any], done: Future[Any]) -> None:
    """Give ``future`` the outcome of ``done``."""
    with contextlib.suppress(InvalidStateError):
        if done.cancelled():
            future.cancel()
        elif done.exception() is not None:
            future.set_exception(done.exception())
        else:
            future.set_result(done.result())


def worker_count(setting: int | str) -> int:
    """``"auto"``: one worker per core the process may use; an integer as given."""
    if setting == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not on Linux
            return max(1, os.cpu_count() or 1)
    return int(setting)
