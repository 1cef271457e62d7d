"""The extraction worker pool: real worker processes, real pages, real crashes and time limits."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import cast

import pytest
from pebble import ProcessExpired

from crawler.demo import SITE
from crawler.demo.articles import SEED_STORY
from crawler.extract.pool import (
    MAX_REPLACEMENTS,
    PRELOAD,
    PagePool,
    PageTask,
    Processed,
    process_page,
)
from crawler.watch.matcher import WatchlistQuery
from storage import fingerprints
from tests.conftest import wait_for

KARABAKH = WatchlistQuery("karabakh", '"Nagorno-Karabakh" AND (perang OR rudal OR tewas)')


def seed_task() -> PageTask:
    page = SITE / "news" / SEED_STORY.path.strip("/")
    return PageTask(
        url=f"http://127.0.0.1:8000{SEED_STORY.path}",
        body=page.read_bytes(),
        encoding="utf-8",
        timezone="Asia/Jakarta",
        language_hint="id",
        listed_published=None,
    )


# Module-level, so that worker processes can import them by name.
def pid_of_worker(_: object) -> int:
    return os.getpid()


def misbehave(task: str) -> str:
    if task == "crash":
        os._exit(3)  # as a segfault in a C extension would end the worker
    if task == "hang":
        time.sleep(60)
    if task == "die idle":
        # Ends the worker after it has answered, while it waits for work (as the kernel's
        # out-of-memory killer may): pebble then marks the whole pool broken.
        threading.Timer(0.2, os._exit, (3,)).start()
    if task == "slow":
        time.sleep(1)
    return task.upper()


@pytest.mark.parametrize("workers", [0, 2])
def test_pool_returns_what_storage_needs(workers: int) -> None:
    with contextlib.closing(PagePool(workers, [KARABAKH], timeout=60)) as pool:
        processed = pool.submit(seed_task()).result(timeout=60)
    assert isinstance(processed, Processed)
    article = processed.article
    assert article.title == SEED_STORY.title
    assert article.language == "id"
    assert processed.content_hash == fingerprints.content_hash(article.text)
    assert processed.signature == fingerprints.minhash_signature(article.text)
    assert "karabakh" in processed.search_words.split()
    ((match),) = processed.matches
    assert match.watchlist == "karabakh"
    assert {t["term"] for t in match.terms} >= {"Nagorno-Karabakh", "rudal", "tewas"}


def test_pages_are_processed_in_other_processes() -> None:
    with contextlib.closing(PagePool(2, [], function=pid_of_worker)) as pool:
        pids = {pool.submit(i).result(timeout=30) for i in range(20)}
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2


def test_a_page_without_article_text_is_none() -> None:
    task = seed_task()
    empty = PageTask(
        task.url, b"<html><body><nav>Home</nav></body></html>", "utf-8", "UTC", None, None
    )
    assert process_page(empty) is None


def test_a_crash_costs_one_page_and_the_pool_goes_on() -> None:
    with contextlib.closing(PagePool(2, [], function=misbehave)) as pool:
        futures = [pool.submit(t) for t in ("a", "crash", "b")]
        assert futures[0].result(timeout=30) == "A"
        with pytest.raises(ProcessExpired):
            futures[1].result(timeout=30)
        assert futures[2].result(timeout=30) == "B"
        assert pool.submit("c").result(timeout=30) == "C"


def test_a_page_past_the_time_limit_costs_that_page() -> None:
    with contextlib.closing(PagePool(2, [], function=misbehave, timeout=0.5)) as pool:
        started = time.monotonic()
        hang = pool.submit("hang")
        fine = pool.submit("fine")
        with pytest.raises(FutureTimeout):
            hang.result(timeout=30)
        assert time.monotonic() - started < 10
        assert fine.result(timeout=30) == "FINE"
        assert pool.submit("after").result(timeout=30) == "AFTER"


def test_a_pool_broken_by_an_idle_worker_dying_is_replaced_and_nothing_hangs() -> None:
    with contextlib.closing(PagePool(1, [], function=misbehave)) as pool:
        assert pool.submit("die idle").result(timeout=30) == "DIE IDLE"
        wait_for(pool._broken, 10, "the worker gone, and with it pebble's pool")
        futures = [pool.submit(f"p{i}") for i in range(20)]
        assert [f.result(timeout=30) for f in futures] == [f"P{i}" for i in range(20)]
        assert pool.replaced == 1


def test_pages_held_by_a_pool_that_breaks_fail_and_nothing_locks_up() -> None:
    with contextlib.closing(PagePool(1, [], function=misbehave)) as pool:
        assert pool.submit("warm").result(timeout=30) == "WARM"
        held = [pool.submit("slow") for _ in range(4)]
        # Time for the pages to reach the worker (pebble shows no sign of it): the pool must
        # break while holding them.
        time.sleep(0.3)
        # pebble's pool stops answering while it holds pages (as when it marks itself broken).
        pool._pool.stop()
        for future in held:
            with contextlib.suppress(BrokenProcessPool):
                future.result(timeout=30)  # an answer, either way: none hangs
        assert any(isinstance(f.exception(), BrokenProcessPool) for f in held)
        assert pool.submit("after").result(timeout=30) == "AFTER"
        assert pool.replaced == 1


def test_workers_that_keep_breaking_their_pool_are_given_up_on() -> None:
    with contextlib.closing(PagePool(1, [], function=misbehave)) as pool:
        for _ in range(MAX_REPLACEMENTS + 1):
            assert not pool.gave_up
            assert pool.submit("die idle").result(timeout=30) == "DIE IDLE"
            wait_for(pool._broken, 10, "the pool to break")
            pool.submit("next")  # finds it broken: a new one, or no more
        assert pool.gave_up and pool.replaced == MAX_REPLACEMENTS
        with pytest.raises(BrokenProcessPool):  # at once, not after a wait
            pool.submit("after").result(timeout=1)


def test_close_lets_submitted_pages_finish() -> None:
    pool = PagePool(2, [], function=misbehave)
    futures = [pool.submit(f"p{i}") for i in range(50)]
    pool.close()
    assert [f.result(timeout=0) for f in futures] == [f"P{i}" for i in range(50)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_the_fork_server_preloads_every_extraction_module() -> None:
    # Each worker starts with the whole extraction loaded (not only what it imports of it).
    folder = Path(__file__).resolve().parents[1] / "crawler" / "extract"
    others = {"__init__", "pool", "pagecheck", "forkserver"}  # the pool's own, or the CLI's
    extraction = {f"crawler.extract.{p.stem}" for p in folder.glob("*.py") if p.stem not in others}
    assert extraction <= set(PRELOAD)


def fork_server_exits_at_once(_: object) -> bool:
    import crawler.extract.forkserver

    return crawler.extract.forkserver.IN_FORK_SERVER


def test_only_the_fork_server_skips_the_interpreter_teardown() -> None:
    # The workers are forked from the fork server: what it set up, they see.
    with contextlib.closing(PagePool(1, [], function=fork_server_exits_at_once)) as pool:
        assert pool.submit(None).result(timeout=60) is True
    # Any other process importing the module exits as usual, with its own status.
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, crawler.extract.forkserver as f; sys.exit(3 + f.IN_FORK_SERVER)",
        ],
        cwd=Path(__file__).resolve().parents[1],
    )
    assert other.returncode == 3


def test_killing_the_crawl_process_leaves_no_worker_behind(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
            from crawler.extract.pool import PagePool
            from tests.test_workers import pid_of_worker
            if __name__ == "__main__":
                pool = PagePool(2, [], function=pid_of_worker)
                pids = {{pool.submit(i).result(timeout=30) for i in range(20)}}
                print(" ".join(map(str, pids)), flush=True)
                time.sleep(60)
            """
        )
    )
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in pids), "worker processes outlived the crawl"
    finally:
        owner.kill()


def test_the_own_page_replacing_its_amp_copy_is_flagged_and_indexed_anew(tmp_path: Path) -> None:
    # The AMP copy is met first and stored; the article's own page then replaces its text in
    # place (no revision). The writer must flag and index the new text too: the stored hits
    # are word positions in it, and a snippet cut from the copy's positions would be wrong.
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from scrapy.utils.test import get_crawler
    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from crawler.items import ArticleItem, ExtractedArticle
    from crawler.scrapy.pipelines import StoragePipeline
    from crawler.watch.flagging import analyse
    from crawler.watch.matcher import Matcher
    from crawler.watch.snippets import snippets_of
    from storage.engine import make_engine, make_sessionmaker
    from storage.migrate import ensure_schema
    from storage.models import Article, WatchMatch

    url = f"sqlite:///{tmp_path / 'crawl.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    watchlist = SimpleNamespace(name="aliyev", query="Aliyev", languages=())
    crawler = get_crawler(settings_dict={"PRESSWATCH_DATABASE_URL": url})
    crawler.spider = SimpleNamespace(config=SimpleNamespace(watchlists=[watchlist]))  # type: ignore[assignment]
    pipeline = StoragePipeline(crawler)
    pipeline._watchlists = ["aliyev"]
    sessions = make_sessionmaker(engine)

    def write(batch: list[ArticleItem]) -> list[list[str]]:
        # One batch as the engine's writer runs it: in a transaction of its own.
        with sessions.begin() as session:
            return pipeline._write(session, batch)

    matcher = Matcher([WatchlistQuery("aliyev", "Aliyev")])
    own = "https://n.example/read/1/perang"
    body = (
        "Presiden Ilham Aliyev menjanjikan bahwa Azerbaijan akan berperang sampai akhir demi "
        "merebut kembali wilayah Nagorno-Karabakh dari kendali separatis etnis Armenia."
    )

    def item(page_url: str, text: str) -> ArticleItem:
        matches, words = analyse(matcher, "Perang", text, "id")
        return ArticleItem(
            source="warta",
            article=ExtractedArticle(
                url=page_url, text=text, title="Perang", canonical_url=own, language="id"
            ),
            fetched_at=datetime(2020, 11, 2, tzinfo=UTC),
            content_hash=fingerprints.content_hash(text),
            signature=fingerprints.minhash_signature(text),
            search_words=words,
            matches=tuple(matches),
        )

    amp_header = "Versi AMP halaman ini dimuat lebih cepat di ponsel Anda. "
    assert write([item(own.replace("/read/", "/amp/read/"), amp_header + body)])
    written = write([item(own, body)])
    assert written == [["store/duplicate", "flag/articles", "flag/kept"]]
    with Session(engine) as session:
        article = session.scalars(select(Article)).one()
        match = session.scalars(select(WatchMatch)).one()
        assert (article.text, article.revision) == (body, 1)
        (snippet,) = snippets_of(match, article)
        highlights = cast(list[tuple[int, int]], snippet["highlights"])
        assert [str(snippet["text"])[a:b] for a, b in highlights] == ["Aliyev"]
        # The search index holds the own page's words, not the copy's header.
        indexed = session.scalar(
            text("SELECT words FROM article_search WHERE rowid = :id"), {"id": article.id}
        )
        assert "aliyev" in indexed and "ponsel" not in indexed
    engine.dispose()
