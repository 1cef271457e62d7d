"""Storage and dedup rules, on a real SQLite file."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from storage import articles, reading, search
from storage.articles import ArticleRecord, Outcome
from storage.engine import make_engine, make_sessionmaker
from storage.migrate import SchemaError, current_revision, ensure_schema, head_revision
from storage.models import Article, ArticleRevision, ArticleUrl, WatchMatch

T0 = datetime(2020, 11, 2, 3, 0, tzinfo=UTC)
WAR = (
    "Presiden Ilham Aliyev menjanjikan bahwa Azerbaijan akan berperang sampai akhir demi "
    "merebut kembali wilayah Nagorno-Karabakh dari kendali separatis etnis Armenia. Dia "
    "mengatakan negaranya siap untuk menggunakan segala cara untuk merebut wilayah tersebut "
    "jika pembicaraan damai gagal. Aliyev mengatakan pembicaraan damai dimaksudkan menghasilkan "
    "kesepakatan mundurnya pasukan etnis Armenia dari Nagorno-Karabakh dan tujuh wilayah "
    "sekitarnya. Konflik telah menjadi fokus tajam pada peningkatan pengaruh Turki."
)
OTHER = (
    "Bank Indonesia mempertahankan suku bunga acuan pada rapat dewan gubernur bulan ini, "
    "dengan alasan inflasi yang tetap rendah dan nilai tukar rupiah yang stabil. Para ekonom "
    "memperkirakan kebijakan longgar akan berlanjut hingga tahun depan."
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def record(url: str, text: str = WAR, **kw: object) -> ArticleRecord:
    return ArticleRecord(source="warta", url=url, text=text, fetched_at=kw.pop("at", T0), **kw)  # type: ignore[arg-type]


def store(engine: Engine, rec: ArticleRecord) -> articles.StoreResult:
    with make_sessionmaker(engine).begin() as session:
        return articles.store_article(session, rec)


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_schema_is_created_on_first_use_and_is_at_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    ensure_schema(engine)  # idempotent


def test_database_with_foreign_tables_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(SchemaError, match="not presswatch's"):
        ensure_schema(engine)


def test_new_then_unchanged(engine: Engine) -> None:
    first = store(engine, record("http://n.example/read/1/a"))
    again = store(engine, record("http://n.example/read/1/a", at=T0 + timedelta(hours=1)))
    assert first.outcome is Outcome.NEW
    assert again.outcome is Outcome.UNCHANGED and again.article_id == first.article_id
    assert count(engine, Article) == 1


def amp_copy() -> ArticleRecord:
    """The AMP copy of http://n.example/read/1/a, naming it canonical, with a footer of its own."""
    return record(
        "http://n.example/amp/read/1/a",
        text=WAR + " AMP footer.",
        canonical_url="http://n.example/read/1/a",
    )


def test_tracking_parameters_and_amp_copy_are_the_same_article(engine: Engine) -> None:
    main = store(engine, record("http://n.example/read/1/a"))
    tracked = store(engine, record("http://n.example/read/1/a?utm_source=rss&fbclid=x"))
    amp = store(engine, amp_copy())
    assert tracked.outcome is Outcome.UNCHANGED
    assert amp.outcome is Outcome.DUPLICATE and amp.article_id == main.article_id
    assert count(engine, Article) == 1
    with Session(engine) as session:
        urls = reading.urls_of(session, [main.article_id])[main.article_id]
        article = session.get_one(Article, main.article_id)
    assert "http://n.example/amp/read/1/a" in urls
    assert article.text == WAR  # the canonical page's text, not the copy's


def test_amp_met_first_is_replaced_by_the_canonical_page_without_a_revision(engine: Engine) -> None:
    amp = store(engine, amp_copy())
    main = store(engine, record("http://n.example/read/1/a"))
    assert amp.outcome is Outcome.NEW and main.article_id == amp.article_id
    # Not a revision, but the text changed: what derives from it must be made again.
    assert main.replaced and not amp.replaced
    with Session(engine) as session:
        article = session.get_one(Article, amp.article_id)
        assert (article.text, article.url, article.revision) == (
            WAR,
            "http://n.example/read/1/a",
            1,
        )
    assert count(engine, ArticleRevision) == 0


def test_same_text_on_another_site_is_one_article_with_both_urls(engine: Engine) -> None:
    original = store(engine, record("http://n.example/read/1/a"))
    copy = store(
        engine,
        ArticleRecord(source="wire", url="http://w.example/story/a", text=WAR, fetched_at=T0),
    )
    assert copy.outcome is Outcome.DUPLICATE and copy.article_id == original.article_id
    with Session(engine) as session:
        urls = reading.urls_of(session, [original.article_id])[original.article_id]
    assert set(urls) == {"http://n.example/read/1/a", "http://w.example/story/a"}


def test_near_copy_is_a_new_article_in_the_same_story(engine: Engine) -> None:
    original = store(engine, record("http://n.example/read/1/a"))
    edited = WAR.replace("Presiden Ilham Aliyev menjanjikan", "Ilham Aliyev, presiden, berjanji")
    edited += " Dia menambahkan bahwa Turki mendukung penuh."
    near = store(engine, record("http://w.example/story/b", text=edited))
    unrelated = store(engine, record("http://n.example/read/2/b", text=OTHER))
    assert near.outcome is Outcome.NEW and near.article_id != original.article_id
    assert near.story_id == original.story_id == original.article_id
    assert unrelated.story_id == unrelated.article_id


def test_changed_text_is_an_update_that_keeps_the_earlier_revision(engine: Engine) -> None:
    first = store(engine, record("http://n.example/read/1/a", title="Judul"))
    changed = store(
        engine,
        record(
            "http://n.example/read/1/a",
            text=WAR + " Pembaruan: gencatan senjata diumumkan.",
            title="Judul (diperbarui)",
            at=T0 + timedelta(hours=2),
        ),
    )
    assert changed.outcome is Outcome.UPDATED and changed.article_id == first.article_id
    with Session(engine) as session:
        article = session.get_one(Article, first.article_id)
        (old,) = session.scalars(select(ArticleRevision))
    assert article.revision == 2 and article.title == "Judul (diperbarui)"
    assert "gencatan senjata" in article.text
    assert (old.revision, old.text, old.title) == (1, WAR, "Judul")
    assert article.updated_at == T0 + timedelta(hours=2)


def test_known_urls_reports_when_each_was_checked(engine: Engine) -> None:
    store(engine, record("http://n.example/read/1/a"))
    with Session(engine) as session:
        known = articles.known_urls(
            session, ["http://n.example/read/1/a", "http://n.example/read/9/z"]
        )
    assert known == {"http://n.example/read/1/a": T0}


def _store_many(db: str, texts: list[str]) -> None:
    engine = make_engine(db)
    sessions = make_sessionmaker(engine)
    for i, text in enumerate(texts):
        with sessions.begin() as session:
            articles.store_article(session, record(f"http://n.example/read/{i}/x", text=text))
    engine.dispose()


def test_two_writers_at_once_store_each_article_once(engine: Engine) -> None:
    texts = [f"{WAR} Laporan nomor {i} dari medan perang, hari ke-{i}." for i in range(40)]
    db = engine.url.render_as_string()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_store_many, args=(db, texts)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert count(engine, Article) == 40
    assert count(engine, ArticleUrl) == 40


def test_two_crawls_storing_copies_of_one_story_at_once_join_one_story(engine: Engine) -> None:
    edited = WAR.replace("Presiden Ilham Aliyev menjanjikan", "Ilham Aliyev, presiden, berjanji")
    copies = [record("http://n.example/read/1/a"), record("http://w.example/story/b", text=edited)]
    sessions = make_sessionmaker(engine)
    start = threading.Barrier(2)
    stored: list[articles.StoreResult] = []

    def crawl(copy: ArticleRecord) -> None:
        with sessions.begin() as session:
            start.wait()
            stored.extend(articles.store_new_articles(session, [copy]).values())
            time.sleep(0.5)  # still uncommitted while the other crawl looks for its story

    threads = [threading.Thread(target=crawl, args=(copy,)) for copy in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(stored) == 2 and stored[0].article_id != stored[1].article_id
    assert stored[0].story_id == stored[1].story_id


EDITED = WAR.replace("Presiden Ilham Aliyev menjanjikan", "Ilham Aliyev, presiden, berjanji")


def test_a_near_copy_stored_after_the_story_window_starts_a_story_of_its_own(
    database_url: str,
) -> None:
    from sqlalchemy import update

    from storage import stories
    from storage.models import StoryKeys

    first = make_engine(database_url)
    ensure_schema(first)
    original = store(first, record("http://n.example/read/1/a"))
    with first.begin() as connection:
        connection.execute(
            update(StoryKeys).values(stored_at=datetime.now(UTC) - timedelta(days=8))
        )
    first.dispose()
    # A process started since loads the 7-day window: the original is not in it.
    later = make_engine(database_url)
    near = store(later, record("http://w.example/story/b", text=EDITED))
    assert near.outcome is Outcome.NEW and near.story_id == near.article_id
    later.dispose()
    # With a 30-day window it is.
    wider = make_engine(database_url)
    stories.set_window(wider, timedelta(days=30))
    again = store(wider, record("http://w.example/story/c", text=WAR + " Tambahan."))
    assert again.story_id == original.story_id
    wider.dispose()


def test_a_process_finds_the_stories_other_processes_stored_since_it_started(
    database_url: str,
) -> None:
    # Two engines: two processes' story indexes, each loaded by its first store.
    mine, theirs = make_engine(database_url), make_engine(database_url)
    ensure_schema(mine)
    store(mine, record("http://n.example/read/9/z", text=OTHER))
    original = store(theirs, record("http://n.example/read/1/a"))
    near = store(mine, record("http://w.example/story/b", text=EDITED))
    assert near.story_id == original.story_id != near.article_id
    mine.dispose()
    theirs.dispose()


def test_the_story_index_finds_every_stored_article_by_each_of_its_keys(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Merged often (every 3 articles' keys), the index passes through both of its merges
    # (sorting all, and copying between places); a second process loads all at once into its
    # array, a third into its recent keys. Each article is found by every one of its keys,
    # and the two copies by the keys they share.
    from storage import fingerprints, stories
    from storage.models import StoryKeys

    monkeypatch.setattr(stories, "_MERGE_AT", 48)
    texts = [f"{OTHER} Laporan nomor {i}, hari ke-{i * 7}." for i in range(30)]
    texts += [WAR, WAR + " Tambahan."]
    for i, body in enumerate(texts):
        store(engine, record(f"http://n.example/read/{i}/x", text=body))
    url = engine.url.render_as_string(hide_password=False)
    for current, merge_at in ((engine, 48), (make_engine(url), 48), (make_engine(url), 10_000)):
        monkeypatch.setattr(stories, "_MERGE_AT", merge_at)
        with make_sessionmaker(current).begin() as session:
            index = stories.index_of(session)
            index.candidates(session, [])
            assert len(index) == len(texts) * fingerprints.BANDS
            rows = session.execute(select(StoryKeys.article_id, StoryKeys.band_keys)).all()
            for article_id, packed in rows:
                found = index.candidates(session, stories.unpack(packed))
                assert all(article_id in found[key] for key in stories.unpack(packed))
            copies = [a for a, _ in rows[-2:]]
            shared = set(stories.unpack(rows[-1][1])) & set(stories.unpack(rows[-2][1]))
            assert shared
            assert all(sorted(index.candidates(session, [k])[k]) == copies for k in shared)
        if current is not engine:
            current.dispose()


def test_a_rolled_back_store_hides_no_story_stored_after_it(engine: Engine) -> None:
    # The rolled-back transaction read its own story keys; the ids it took are given again
    # to the next transaction's rows, which the story index must still read.
    sessions = make_sessionmaker(engine)
    store(engine, record("http://n.example/read/9/z", text=OTHER))
    with pytest.raises(RuntimeError), sessions.begin() as session:
        articles.store_new_articles(session, [record("http://x.example/1", text=OTHER + " Satu.")])
        articles.store_article(session, record("http://x.example/2", text=OTHER + " Dua."))
        raise RuntimeError("the batch failed")
    original = store(engine, record("http://n.example/read/1/a"))
    near = store(engine, record("http://w.example/story/b", text=EDITED))
    assert near.story_id == original.story_id != near.article_id


def test_matches_are_marked_updated_when_a_new_revision_matches_new_terms(engine: Engine) -> None:
    from crawler.watch.flagging import Flagger
    from crawler.watch.matcher import WatchlistQuery

    flagger = Flagger(
        [
            WatchlistQuery("karabakh", "Karabakh AND (perang OR gencatan*)"),
            WatchlistQuery("turki", "Turki AND Azerbaijan"),
        ]
    )
    sessions = make_sessionmaker(engine)
    first = store(engine, record("http://n.example/read/1/a", title="Perang di Karabakh"))
    with sessions.begin() as session:
        article = session.get_one(Article, first.article_id)
        assert flagger.flag(session, article, T0) == {"karabakh": "new", "turki": "new"}
        # Idempotent: the same article again changes nothing.
        assert flagger.flag(session, article, T0) == {"karabakh": "kept", "turki": "kept"}
    changed = WAR.replace(
        "Konflik telah menjadi fokus tajam pada peningkatan pengaruh Turki.",
        "Gencatan senjata diumumkan.",
    )
    store(
        engine,
        record(
            "http://n.example/read/1/a",
            text=changed,
            title="Perang di Karabakh",
            at=T0 + timedelta(hours=1),
        ),
    )
    with sessions.begin() as session:
        article = session.get_one(Article, first.article_id)
        outcome = flagger.flag(session, article, T0 + timedelta(hours=1))
        # New terms in the new revision: updated; no longer about Turkey: removed.
        assert outcome == {"karabakh": "updated", "turki": "removed"}
        (match,) = session.scalars(select(WatchMatch))
        assert match.status == "updated" and match.article_revision == 2
        assert {t["term"] for t in match.terms} >= {"Karabakh", "gencatan*"}


def test_schema_head_constant_is_alembics_head() -> None:
    # ensure_schema compares against HEAD without importing Alembic; a new migration must move it.
    from storage.migrate import HEAD

    assert head_revision() == HEAD


def test_maintenance_deletes_only_what_is_past_retention(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.maintenance import maintain
    from storage.models import ArticleRevision, CrawlRun, Delivery, DeliveryItem

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    ensure_schema(engine)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        article_id = articles.store_article(
            session,
            articles.ArticleRecord(
                source="s", url="https://a.example/1", text="text " * 40, fetched_at=now
            ),
        ).article_id
        for days, status in (
            (400, "finished"),
            (100, "finished"),
            (1, "finished"),
            (400, "running"),
        ):
            session.add(
                CrawlRun(
                    source="s", started_at=now - timedelta(days=days), status=status, errors={}
                )
            )
        for revision, days in ((1, 800), (2, 10)):
            session.add(
                ArticleRevision(
                    article_id=article_id,
                    revision=revision,
                    text="old",
                    content_hash=f"h{revision}",
                    fetched_at=now - timedelta(days=days + 1),
                    replaced_at=now - timedelta(days=days),
                )
            )
        # Sent deliveries past retention go with their items; a pending one stays, however old,
        # and so does the channel's latest digest (the next digest starts where it ended).
        for days, status in ((400, "sent"), (400, "pending"), (2, "sent")):
            delivery = Delivery(
                watcher="w",
                channel="email",
                kind="digest",
                status=status,
                message_id=f"<{days}{status}@x>",
                period_start=now - timedelta(days=days + 1),
                period_end=now - timedelta(days=days),
                created_at=now - timedelta(days=days),
                sent_at=now - timedelta(days=days) if status == "sent" else None,
            )
            session.add(delivery)
            session.flush()
            session.add(
                DeliveryItem(
                    delivery_id=delivery.id,
                    watcher="w",
                    channel="email",
                    watchlist=f"{days}{status}",
                    article_id=article_id,
                    story_id=article_id,
                    match_updated_at=now,
                )
            )
    done = maintain(engine, keep_runs=timedelta(days=180), keep_revisions=timedelta(days=365))
    assert (done.runs_deleted, done.revisions_deleted, done.optimised) == (1, 1, True)
    assert done.deliveries_deleted == 1
    with Session(engine) as session:
        kept = sorted(session.scalars(select(DeliveryItem.watchlist)))
        assert kept == ["2sent", "400pending"]
    with Session(engine) as session:
        runs = sorted(
            (r.status, (now - r.started_at).days) for r in session.scalars(select(CrawlRun))
        )
        revisions = [r.revision for r in session.scalars(select(ArticleRevision))]
    assert runs == [("finished", 1), ("finished", 100), ("running", 400)]
    assert revisions == [2]
    # Keeping everything deletes nothing.
    again = maintain(engine, keep_runs=None, keep_revisions=None)
    assert (again.runs_deleted, again.revisions_deleted) == (0, 0)


@pytest.mark.parametrize("count", [50, 12000])
def test_search_candidates_come_newest_first_however_many(tmp_path: Path, count: int) -> None:
    # Few candidates are sorted; many are walked along the recency index (the plan that stays
    # fast at a million articles). Both give the same order, and every candidate.
    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    ensure_schema(engine)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    for i in range(count):
        when = start + timedelta(minutes=(i * 7919) % count)  # shuffled times
        rows.append(
            {
                "id": i + 1,
                "source": "s",
                "url": f"https://a.example/{i}",
                "title": f"t{i}",
                "authors": [],
                "tags": [],
                "published_at": when if i % 3 else None,
                "language": "en",
                "text": "the army said",
                "content_hash": f"h{i}",
                "minhash": b"\0" * 256,
                "fetched_at": when,
                "updated_at": when,
                "checked_at": when,
            }
        )
    with engine.begin() as connection:
        connection.execute(insert(Article), rows)
        connection.execute(
            text("INSERT INTO article_search (rowid, words) VALUES (:id, :w)"),
            [{"id": r["id"], "w": "the army said" if r["id"] % 2 else "other words"} for r in rows],
        )
    with Session(engine) as session:
        query = search.search_candidates(session, ("AND", ["said"]))
        walked = "+articles.id" in str(query.compile(engine))
        found = [(a.published_at or a.fetched_at, a.id) for a in session.scalars(query)]
    assert walked == (count // 2 >= 5000)
    expected = sorted(
        ((r["published_at"] or r["fetched_at"], r["id"]) for r in rows if r["id"] % 2),
        reverse=True,
    )
    assert found == expected


def test_a_search_within_one_source_walks_that_sources_articles_newest_first(
    tmp_path: Path,
) -> None:
    # Migration 0010: one source's candidates come from its own articles in recency order, not
    # from every article of a language sorted afterwards (157 ms against 5 ms a page at a
    # million articles).
    from sqlalchemy import insert, text

    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    ensure_schema(engine)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = [
        {
            "id": i + 1,
            "source": f"s{i % 10}",
            "url": f"https://a.example/{i}",
            "title": f"t{i}",
            "authors": [],
            "tags": [],
            "published_at": start + timedelta(minutes=(i * 7919) % 3000),
            "language": "en" if i % 3 else "fr",
            "text": "the army said",
            "content_hash": f"h{i}",
            "minhash": b"\0" * 256,
            "fetched_at": start,
            "updated_at": start,
            "checked_at": start,
        }
        for i in range(3000)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Article), rows)
        connection.execute(
            text("INSERT INTO article_search (rowid, words) VALUES (:id, 'the army said')"),
            [{"id": r["id"]} for r in rows],
        )
    with Session(engine) as session:
        query = search.search_candidates(session, ("AND", ["army"]), None, "s3").where(
            Article.language == "en"
        )
        compiled = query.with_only_columns(Article.id).compile(
            engine, compile_kwargs={"literal_binds": True}
        )
        plan = " ".join(
            str(row[-1])
            for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
        )
        found = [a.id for a in session.scalars(query)]
    assert "ix_articles_source_recency" in plan and "TEMP B-TREE" not in plan, plan
    expected = sorted(
        (r for r in rows if r["source"] == "s3" and r["language"] == "en"),
        key=lambda r: (r["published_at"], r["id"]),
        reverse=True,
    )
    assert found == [r["id"] for r in expected] and len(found) == 200


def stored_before_0008(engine: Engine, rec: ArticleRecord) -> int:
    """Store ``rec`` as presswatch did before schema 0008: an article row, its URL, and one
    ``story_bands`` row per band. Returns the article's id."""
    from sqlalchemy import insert, text

    from storage import fingerprints
    from storage.urlkeys import url_key

    signature = fingerprints.minhash_signature(rec.text)
    with engine.begin() as connection:
        article_id = connection.scalar(
            insert(Article.__table__)  # type: ignore[arg-type]
            .values(
                source=rec.source,
                url=rec.url,
                title=rec.title,
                authors=[],
                tags=[],
                text=rec.text,
                content_hash=fingerprints.content_hash(rec.text),
                minhash=signature,
                revision=1,
                fetched_at=rec.fetched_at,
                updated_at=rec.fetched_at,
                checked_at=rec.fetched_at,
            )
            .returning(Article.__table__.c.id)
        )
        connection.execute(
            insert(ArticleUrl.__table__),  # type: ignore[arg-type]
            [
                {
                    "url_key": url_key(rec.url),
                    "url": rec.url,
                    "article_id": article_id,
                    "first_seen_at": rec.fetched_at,
                }
            ],
        )
        connection.execute(
            text("UPDATE articles SET story_id = id WHERE id = :id"), {"id": article_id}
        )
        connection.execute(
            text("INSERT INTO story_bands (band_key, article_id) VALUES (:band, :id)"),
            [{"band": b, "id": article_id} for b in fingerprints.band_keys(signature)],
        )
    assert article_id is not None
    return int(article_id)


def test_stories_stored_before_the_band_keys_moved_are_found_after_the_upgrade(
    tmp_path: Path,
) -> None:
    # Before schema 0008 each band was an index row of story_bands; since, an article's keys
    # are one story_keys row. An upgraded database finds its old articles' stories, and a
    # downgrade gives the band rows back.
    from alembic import command
    from sqlalchemy import text

    from storage import fingerprints, stories
    from storage.migrate import _config, upgrade
    from storage.models import StoryKeys

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0007")
    old_id = stored_before_0008(engine, record("http://n.example/read/1/a"))
    with engine.connect() as connection:
        bands_before = set(connection.execute(text("SELECT band_key, article_id FROM story_bands")))
    upgrade(engine)
    with Session(engine) as session:
        (keys,) = session.scalars(select(StoryKeys))
        article = session.get_one(Article, old_id)
    assert keys.article_id == old_id and keys.stored_at == T0
    assert list(stories.unpack(keys.band_keys)) == fingerprints.band_keys(article.minhash)
    # The window is counted back from now; the old article was fetched in 2020.
    stories.set_window(engine, datetime.now(UTC) - T0 + timedelta(days=1))
    edited = WAR.replace("Presiden Ilham Aliyev menjanjikan", "Ilham Aliyev, presiden, berjanji")
    near = store(engine, record("http://w.example/story/b", text=edited))
    assert near.outcome is Outcome.NEW and near.story_id == old_id

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
    with engine.connect() as connection:
        bands_after = set(connection.execute(text("SELECT band_key, article_id FROM story_bands")))
    assert bands_before < bands_after and len(bands_after) == 2 * fingerprints.BANDS
    engine.dispose()


def test_matches_stored_with_their_snippets_keep_them_after_the_upgrade(tmp_path: Path) -> None:
    # Before schema 0007 a match stored its snippets; since, it stores its hits and the
    # snippets are cut when shown. An upgraded database shows the old ones as stored.
    from sqlalchemy import text

    from crawler.watch.flagging import Flagger
    from crawler.watch.matcher import WatchlistQuery
    from crawler.watch.snippets import snippets_of
    from storage.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0006")
    old_id = stored_before_0008(
        engine, record("http://n.example/read/1/a", title="Perang di Karabakh")
    )
    stored = [{"text": "…wilayah Nagorno-Karabakh dari…", "highlights": [[9, 25]]}]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO matches (article_id, watchlist, terms, score, snippets, status, "
                "article_revision, matched_at, updated_at) VALUES (:id, 'karabakh', :terms, 1.0, "
                ":snippets, 'new', 1, :at, :at)"
            ),
            {
                "id": old_id,
                "terms": json.dumps([{"term": "Karabakh", "count": 2, "where": ["body"]}]),
                "snippets": json.dumps(stored),
                "at": T0.isoformat(),
            },
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    flagger = Flagger([WatchlistQuery("karabakh", "Karabakh"), WatchlistQuery("aliyev", "Aliyev")])
    with make_sessionmaker(engine).begin() as session:
        article = session.get_one(Article, old_id)
        (kept,) = session.scalars(select(WatchMatch))
        assert kept.hits is None and snippets_of(kept, article) == stored
        # Flagged again: both matches now keep hits, and their snippets come from the text.
        assert flagger.flag(session, article, T0) == {"karabakh": "kept", "aliyev": "new"}
    with make_sessionmaker(engine).begin() as session:
        article = session.get_one(Article, old_id)
        for match in session.scalars(select(WatchMatch)):
            assert match.hits is not None and match.snippets == []
            snippets = snippets_of(match, article)
            marked = {str(s["text"])[a:b] for s in snippets for a, b in s["highlights"]}  # type: ignore[attr-defined]
            assert marked == ({"Aliyev"} if match.watchlist == "aliyev" else {"Karabakh"})
    engine.dispose()
