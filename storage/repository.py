"""Reads and writes. Functions take a ``Session``; only entry points open transactions.

Writes are upserts on unique keys (URL key, content hash), so two crawls writing at once cannot
create a duplicate article: the database, not a check made earlier, decides who was first.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import fingerprints, stories
from storage.models import (
    Article,
    ArticleRevision,
    ArticleSearch,
    ArticleUrl,
    CrawlRun,
    Listing,
    StoryKeys,
    WatchMatch,
)
from storage.urlkeys import clean_url, same_site, url_key

if TYPE_CHECKING:
    from sqlalchemy import Table

_CHUNK = 500


class Outcome(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """An extracted article as the storage edge takes it."""

    source: str
    url: str
    text: str
    fetched_at: datetime
    requested_url: str | None = None
    canonical_url: str | None = None
    title: str | None = None
    authors: Sequence[str] = ()
    published_at: datetime | None = None
    language: str | None = None
    description: str | None = None
    site_name: str | None = None
    tags: Sequence[str] = ()
    # Fingerprints computed already (by an extraction worker); taken from ``text`` if absent.
    content_hash: str | None = None
    signature: bytes | None = None

    def digest(self) -> str:
        return self.content_hash or fingerprints.content_hash(self.text)

    def minhash(self) -> bytes:
        return self.signature or fingerprints.minhash_signature(self.text)


@dataclass(frozen=True, slots=True)
class StoreResult:
    outcome: Outcome
    article_id: int
    story_id: int
    # The stored text was replaced in place (the article's own page after a copy of it): not a
    # revision, but what was derived from the text (search words, matches) must be again.
    replaced: bool = False


# pg_advisory_xact_lock key of the storing transactions ("presswatch store").
_STORE_LOCK = 0x7072_6573_7374_6F72


def dialect_insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert
    if name == "postgresql":
        return postgresql.insert
    raise RuntimeError(f"unsupported database {name!r}: use SQLite or PostgreSQL")


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def known_urls(session: Session, keys: Iterable[str]) -> dict[str, datetime]:
    """For each of ``keys`` already stored, when its article was last fetched."""
    wanted = sorted(set(keys))
    found: dict[str, datetime] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(
            select(ArticleUrl.url_key, Article.checked_at)
            .join(Article, Article.id == ArticleUrl.article_id)
            .where(ArticleUrl.url_key.in_(chunk))
        )
        found.update({key: checked for key, checked in rows})
    return found


def _page_keys(record: ArticleRecord) -> tuple[str, list[str], bool]:
    """The article's primary key, all keys the page answers to, and whether the fetched page is
    the canonical page itself (rather than an AMP, print or tracking-parameter copy)."""
    fetched = url_key(record.url)
    keys = [fetched]
    if record.requested_url:
        keys.append(url_key(record.requested_url))
    canonical = None
    if record.canonical_url and same_site(record.canonical_url, record.url):
        canonical = url_key(record.canonical_url)
        keys.append(canonical)
    primary = canonical or fetched
    is_canonical_page = canonical is None or canonical == fetched
    return primary, list(dict.fromkeys(keys)), is_canonical_page


def _own_key(article: Article) -> str:
    if article.canonical_url and same_site(article.canonical_url, article.url):
        return url_key(article.canonical_url)
    return url_key(article.url)


def _add_urls(session: Session, article_id: int, record: ArticleRecord, keys: list[str]) -> None:
    session.execute(
        dialect_insert(session)(ArticleUrl)
        .values(_url_rows(record, article_id, keys))
        .on_conflict_do_nothing()
    )


def _find_story(session: Session, article_id: int, signature: bytes, bands: list[int]) -> int:
    candidates = {
        other_id
        for holders in stories.index_of(session).candidates(session, bands).values()
        for other_id in holders
        if other_id != article_id
    }
    best_story, best_similarity = article_id, 0.0
    for other_id, story_id, other_signature in _signatures(session, candidates):
        score = fingerprints.similarity(signature, other_signature)
        if score >= fingerprints.SAME_STORY_SIMILARITY and score > best_similarity:
            best_story, best_similarity = story_id or other_id, score
    return best_story


def _signatures(
    session: Session, article_ids: Iterable[int]
) -> list[tuple[int, int | None, bytes]]:
    """(id, story id, signature) of those of ``article_ids`` that are stored."""
    rows: list[tuple[int, int | None, bytes]] = []
    for chunk in _chunks(sorted(article_ids)):  # type: ignore[arg-type]
        rows.extend(
            session.execute(
                select(Article.id, Article.story_id, Article.minhash).where(Article.id.in_(chunk))
            ).all()
        )
    return rows


def _add_story_keys(session: Session, keys: dict[int, list[int]]) -> None:
    """Append the band keys of articles whose text was stored now ({article id: keys})."""
    now = datetime.now(UTC)
    session.execute(
        insert(StoryKeys.__table__),  # type: ignore[arg-type]
        [stories.key_rows(article_id, bands, now) for article_id, bands in keys.items()],
    )


def one_writer_at_a_time(session: Session) -> None:
    """On PostgreSQL, wait for other crawls' storing transactions to end (an advisory lock held
    to this transaction's end), as SQLite's BEGIN IMMEDIATE does: an article's story is found
    among the articles already stored, so two crawls storing two copies of one wire story at the
    same moment would otherwise each miss the other's, and start two stories."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # Once per transaction: a batch stores its plainly new articles, then the rest one by one.
    transaction = session.get_transaction()
    if session.info.get("presswatch_store_lock") is not transaction:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _STORE_LOCK})
        session.info["presswatch_store_lock"] = transaction


def store_article(session: Session, record: ArticleRecord) -> StoreResult:
    """Store one extracted article: new, an update of a known one, or a copy of a known one."""
    one_writer_at_a_time(session)
    primary, keys, is_canonical_page = _page_keys(record)
    digest = record.digest()

    by_url = dict(
        session.execute(
            select(ArticleUrl.url_key, ArticleUrl.article_id).where(ArticleUrl.url_key.in_(keys))
        ).all()
    )
    existing_id = by_url.get(primary) or next(iter(by_url.values()), None)
    if existing_id is not None:
        article = session.get_one(Article, existing_id)
        _add_urls(session, article.id, record, keys)
        if article.content_hash == digest:
            article.checked_at = record.fetched_at
            # A URL seen before is a re-check; a new one is another copy of the article.
            known = url_key(record.url) in by_url
            outcome = Outcome.UNCHANGED if known else Outcome.DUPLICATE
            return StoreResult(outcome, article.id, article.story_id or article.id)
        if not is_canonical_page or primary != _own_key(article):
            # An AMP/print/syndicated copy of a known article: the article's own page is the
            # authority on its text, so the copy adds a URL and nothing else.
            return StoreResult(Outcome.DUPLICATE, article.id, article.story_id or article.id)
        if _text_taken(session, article, digest):
            # The page now carries another stored article's text word for word; keep both.
            article.checked_at = record.fetched_at
            return StoreResult(Outcome.DUPLICATE, article.id, article.story_id or article.id)
        if url_key(article.url) != primary:
            # The stored text came from a copy (say the AMP page was met first): the article's
            # own page replaces it in place, as no revision of the story happened.
            _replace_text(session, article, record, digest)
            article.url = clean_url(record.url)
            return StoreResult(
                Outcome.DUPLICATE, article.id, article.story_id or article.id, replaced=True
            )
        return _update(session, article, record, digest)

    same_text = session.scalar(select(Article.id).where(Article.content_hash == digest))
    if same_text is None:
        signature = record.minhash()
        values = _article_values(record, digest, signature)
        new_id = session.scalar(
            dialect_insert(session)(Article)
            .values(values)
            .on_conflict_do_nothing(index_elements=["content_hash"])
            .returning(Article.id)
        )
        if new_id is not None:
            bands = fingerprints.band_keys(signature)
            story_id = _find_story(session, new_id, signature, bands)
            session.execute(update(Article).where(Article.id == new_id).values(story_id=story_id))
            _add_story_keys(session, {new_id: bands})
            _add_urls(session, new_id, record, keys)
            return StoreResult(Outcome.NEW, new_id, story_id)
        same_text = session.scalar(select(Article.id).where(Article.content_hash == digest))
        assert same_text is not None  # the conflicting row is committed and visible now

    article = session.get_one(Article, same_text)
    _add_urls(session, article.id, record, keys)
    if _published_earlier(record, article):
        # Syndicated copies come after the original: the earliest copy is the article's own
        # page, whichever the crawl met first.
        article.source = record.source
        article.url = clean_url(record.url)
        article.canonical_url = record.canonical_url
        article.published_at = record.published_at
        article.site_name = record.site_name
    return StoreResult(Outcome.DUPLICATE, article.id, article.story_id or article.id)


def _article_values(record: ArticleRecord, digest: str, signature: bytes) -> dict[str, Any]:
    return {
        "source": record.source,
        "url": clean_url(record.url),
        "canonical_url": record.canonical_url,
        "title": record.title,
        "authors": list(record.authors),
        "published_at": record.published_at,
        "language": record.language,
        "text": record.text,
        "description": record.description,
        "site_name": record.site_name,
        "tags": list(record.tags),
        "content_hash": digest,
        "minhash": signature,
        "fetched_at": record.fetched_at,
        "updated_at": record.fetched_at,
        "checked_at": record.fetched_at,
    }


def _url_rows(record: ArticleRecord, article_id: int, keys: list[str]) -> list[dict[str, Any]]:
    urls = {url_key(record.url): record.url}
    if record.requested_url:
        urls.setdefault(url_key(record.requested_url), record.requested_url)
    if record.canonical_url:
        urls.setdefault(url_key(record.canonical_url), record.canonical_url)
    return [
        {
            "url_key": key,
            "url": urls.get(key, key),
            "article_id": article_id,
            "first_seen_at": record.fetched_at,
        }
        for key in keys
    ]


def store_new_articles(
    session: Session, records: Sequence[ArticleRecord]
) -> dict[int, StoreResult]:
    """Insert, a handful of statements for the whole batch, the records that are plainly new:
    none of their URL keys or content hash is stored, and no other record of the batch shares
    one. Returns {index in ``records``: result} for those; the caller stores the others with
    ``store_article`` afterwards, so that they see these.

    The caller's write transaction makes the check and the insert one step: BEGIN IMMEDIATE on
    SQLite, the advisory lock of ``one_writer_at_a_time`` on PostgreSQL. (Should a writer that
    does not take it insert the same text in between, the unique constraint refuses the insert,
    this batch's part is rolled back, and nothing is taken here ({}), leaving every record to
    ``store_article``'s upserts.)
    """
    if not records:
        return {}
    one_writer_at_a_time(session)
    pages = [_page_keys(r) for r in records]
    digests = [r.digest() for r in records]
    all_keys = [k for _, keys, _ in pages for k in keys]
    known_keys: set[str] = set()
    for chunk in _chunks(list(dict.fromkeys(all_keys))):
        known_keys.update(
            session.scalars(select(ArticleUrl.url_key).where(ArticleUrl.url_key.in_(chunk)))
        )
    known_hashes: set[str] = set()
    for chunk in _chunks(list(dict.fromkeys(digests))):
        known_hashes.update(
            session.scalars(select(Article.content_hash).where(Article.content_hash.in_(chunk)))
        )
    key_uses: dict[str, int] = {}
    for _, keys, _ in pages:
        for key in set(keys):
            key_uses[key] = key_uses.get(key, 0) + 1
    hash_uses: dict[str, int] = {}
    for digest in digests:
        hash_uses[digest] = hash_uses.get(digest, 0) + 1
    fresh = [
        i
        for i, (_, keys, _) in enumerate(pages)
        if digests[i] not in known_hashes
        and hash_uses[digests[i]] == 1
        and all(k not in known_keys and key_uses[k] == 1 for k in keys)
    ]
    if not fresh:
        return {}
    signatures = {i: records[i].minhash() for i in fresh}
    try:
        with session.begin_nested():
            return _insert_new(session, records, fresh, pages, digests, signatures)
    except IntegrityError:
        return {}


def _insert_new(
    session: Session,
    records: Sequence[ArticleRecord],
    fresh: list[int],
    pages: list[tuple[str, list[str], bool]],
    digests: list[str],
    signatures: dict[int, bytes],
) -> dict[int, StoreResult]:
    # Core statements on the tables, not the ORM's bulk paths: the same SQL, without the
    # ORM's per-row bookkeeping (a tenth of the crawl process's CPU in a profile).
    articles = cast("Table", Article.__table__)
    inserted = session.execute(
        insert(articles).returning(articles.c.id, articles.c.content_hash),
        [_article_values(records[i], digests[i], signatures[i]) for i in fresh],
    ).all()
    ids_by_hash = {digest: article_id for article_id, digest in inserted}
    ids = {i: ids_by_hash[digests[i]] for i in fresh}

    # Stories: candidates among stored articles sharing a band, then the batch's own earlier
    # articles (two outlets' versions of a wire story can arrive in one batch).
    bands = {i: fingerprints.band_keys(signatures[i]) for i in fresh}
    found = stories.index_of(session).candidates(session, {b for i in fresh for b in bands[i]})
    stored = {
        other_id: (story_id or other_id, other_signature)
        for other_id, story_id, other_signature in _signatures(
            session, {a for holders in found.values() for a in holders}
        )
    }
    by_band: dict[int, list[tuple[int, int, bytes]]] = {
        band: [(a, *stored[a]) for a in holders if a in stored] for band, holders in found.items()
    }
    story_of: dict[int, int] = {}
    for i in fresh:
        article_id = ids[i]
        best_story, best_similarity = article_id, 0.0
        seen: set[int] = set()
        for band in bands[i]:
            for other_id, story_id, other_signature in by_band.get(band, ()):
                if other_id == article_id or other_id in seen:
                    continue
                seen.add(other_id)
                score = fingerprints.similarity(signatures[i], other_signature)
                if score >= fingerprints.SAME_STORY_SIMILARITY and score > best_similarity:
                    best_story, best_similarity = story_id, score
        story_of[i] = best_story
        for band in bands[i]:
            by_band.setdefault(band, []).append((article_id, best_story, signatures[i]))
    session.execute(
        update(articles)
        .where(articles.c.id == bindparam("article_id"))
        .values(story_id=bindparam("story")),
        [{"article_id": ids[i], "story": story_of[i]} for i in fresh],
    )
    _add_story_keys(session, {ids[i]: bands[i] for i in fresh})
    session.execute(
        dialect_insert(session)(ArticleUrl.__table__).on_conflict_do_nothing(),
        [row for i in fresh for row in _url_rows(records[i], ids[i], pages[i][1])],
    )
    return {i: StoreResult(Outcome.NEW, ids[i], story_of[i]) for i in fresh}


def _published_earlier(record: ArticleRecord, article: Article) -> bool:
    return (
        record.published_at is not None
        and article.published_at is not None
        and record.published_at < article.published_at
    )


def _text_taken(session: Session, article: Article, digest: str) -> bool:
    other = session.scalar(
        select(Article.id).where(Article.content_hash == digest, Article.id != article.id)
    )
    return other is not None


def _update(session: Session, article: Article, record: ArticleRecord, digest: str) -> StoreResult:
    session.add(
        ArticleRevision(
            article_id=article.id,
            revision=article.revision,
            title=article.title,
            text=article.text,
            content_hash=article.content_hash,
            fetched_at=article.updated_at,
            replaced_at=record.fetched_at,
        )
    )
    article.revision += 1
    _replace_text(session, article, record, digest)
    return StoreResult(Outcome.UPDATED, article.id, article.story_id or article.id)


def _replace_text(session: Session, article: Article, record: ArticleRecord, digest: str) -> None:
    signature = record.minhash()
    article.text = record.text
    article.title = record.title
    article.content_hash = digest
    article.minhash = signature
    article.authors = list(record.authors)
    article.description = record.description
    article.tags = list(record.tags)
    if record.published_at is not None:
        article.published_at = record.published_at
    if record.language:
        article.language = record.language
    article.updated_at = record.fetched_at
    article.checked_at = record.fetched_at
    session.execute(delete(StoryKeys).where(StoryKeys.article_id == article.id))
    _add_story_keys(session, {article.id: fingerprints.band_keys(signature)})


# -- crawl runs -----------------------------------------------------------------------------


@dataclass(slots=True)
class RunCounts:
    pages_fetched: int = 0
    articles_fetched: int = 0
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    unchanged: int = 0
    empty: int = 0
    flagged: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    listed: int = 0  # entries of its feeds and sitemaps ...
    too_old: int = 0  # ... of which older than max_article_age

    def minus(self, earlier: RunCounts) -> RunCounts:
        """What was counted since ``earlier`` (a worker's share reported in parts)."""
        errors = {k: v - earlier.errors.get(k, 0) for k, v in self.errors.items()}
        return RunCounts(
            pages_fetched=self.pages_fetched - earlier.pages_fetched,
            articles_fetched=self.articles_fetched - earlier.articles_fetched,
            new=self.new - earlier.new,
            updated=self.updated - earlier.updated,
            duplicate=self.duplicate - earlier.duplicate,
            unchanged=self.unchanged - earlier.unchanged,
            empty=self.empty - earlier.empty,
            flagged=self.flagged - earlier.flagged,
            errors={k: v for k, v in errors.items() if v},
            listed=self.listed - earlier.listed,
            too_old=self.too_old - earlier.too_old,
        )

    def any(self) -> bool:
        return bool(
            self.pages_fetched
            or self.articles_fetched
            or self.new
            or self.updated
            or self.duplicate
            or self.unchanged
            or self.empty
            or self.flagged
            or self.errors
            or self.listed
            or self.too_old
        )


@dataclass(frozen=True, slots=True)
class ListingState:
    url: str
    etag: str | None
    last_modified: str | None
    children: list[str]


def listing_states_of(
    session: Session, sources: Sequence[str]
) -> dict[str, dict[str, ListingState]]:
    """Many sources' listings in one query (a crawl engine starting many runs at once)."""
    found: dict[str, dict[str, ListingState]] = {name: {} for name in sources}
    for chunk in _chunks(list(sources)):
        for row in session.scalars(select(Listing).where(Listing.source.in_(chunk))):
            found[row.source][row.url_key] = ListingState(
                row.url, row.etag, row.last_modified, list(row.children)
            )
    return found


def listing_states(session: Session, source: str) -> dict[str, ListingState]:
    """The source's feeds and sitemaps as last fetched, by URL key (one query per crawl)."""
    return {
        row.url_key: ListingState(row.url, row.etag, row.last_modified, list(row.children))
        for row in session.scalars(select(Listing).where(Listing.source == source))
    }


def save_listing_states(
    session: Session, source: str, states: dict[str, ListingState], now: datetime
) -> None:
    save_many_listing_states(session, [(source, states)], now)


def save_many_listing_states(
    session: Session, sources: Sequence[tuple[str, dict[str, ListingState]]], now: datetime
) -> None:
    """Several sources' listings in one statement."""
    rows = [
        {
            "url_key": key,
            "source": source,
            "url": state.url,
            "etag": state.etag,
            "last_modified": state.last_modified,
            "children": state.children,
            "checked_at": now,
        }
        for source, states in sources
        for key, state in states.items()
    ]
    if not rows:
        return
    statement = dialect_insert(session)(Listing)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["url_key"],
            set_={
                "url": statement.excluded.url,
                "source": statement.excluded.source,
                "etag": statement.excluded.etag,
                "last_modified": statement.excluded.last_modified,
                "children": statement.excluded.children,
                "checked_at": statement.excluded.checked_at,
            },
        ),
        rows,
    )


def start_run(session: Session, source: str, started_at: datetime, pid: int | None) -> int:
    run = CrawlRun(source=source, started_at=started_at, pid=pid, status="running", errors={})
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    *,
    finished_at: datetime,
    status: str,
    finish_reason: str,
    counts: RunCounts,
) -> None:
    session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id)
        .values(
            finished_at=finished_at,
            status=status,
            finish_reason=finish_reason,
            pages_fetched=counts.pages_fetched,
            articles_fetched=counts.articles_fetched,
            new=counts.new,
            updated=counts.updated,
            duplicate=counts.duplicate,
            unchanged=counts.unchanged,
            empty=counts.empty,
            flagged=counts.flagged,
            errors=dict(counts.errors),
            listed=counts.listed,
            too_old=counts.too_old,
        )
    )


def start_runs(session: Session, runs: Sequence[tuple[str, datetime, int | None]]) -> list[int]:
    """Open many runs ``(source, started_at, pid)`` in one statement; their ids in order."""
    if not runs:
        return []
    ids = session.scalars(
        insert(CrawlRun).returning(CrawlRun.id, sort_by_parameter_order=True),
        [
            {"source": source, "started_at": started, "pid": pid, "status": "running", "errors": {}}
            for source, started, pid in runs
        ],
    )
    return list(ids)


@dataclass(frozen=True, slots=True)
class RunEnd:
    run_id: int
    finished_at: datetime
    status: str
    finish_reason: str
    counts: RunCounts


def finish_runs(session: Session, ends: Sequence[RunEnd]) -> None:
    """Complete many runs in one statement (by primary key, executemany)."""
    if not ends:
        return
    session.execute(
        update(CrawlRun),
        [
            {
                "id": end.run_id,
                "finished_at": end.finished_at,
                "status": end.status,
                "finish_reason": end.finish_reason,
                "pages_fetched": end.counts.pages_fetched,
                "articles_fetched": end.counts.articles_fetched,
                "new": end.counts.new,
                "updated": end.counts.updated,
                "duplicate": end.counts.duplicate,
                "unchanged": end.counts.unchanged,
                "empty": end.counts.empty,
                "flagged": end.counts.flagged,
                "errors": dict(end.counts.errors),
                "listed": end.counts.listed,
                "too_old": end.counts.too_old,
            }
            for end in ends
        ],
    )


def close_run(
    session: Session, run_id: int, *, finished_at: datetime, status: str, finish_reason: str
) -> None:
    """End a run whose counts were added as it went (a distributed crawl's)."""
    session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id, CrawlRun.status == "running")
        .values(finished_at=finished_at, status=status, finish_reason=finish_reason)
    )


def add_run_counts(session: Session, run_id: int, counts: RunCounts) -> None:
    """Add one worker's share of a distributed crawl to its run (locked while read and
    written, so that workers finishing together each add theirs)."""
    run = session.scalars(
        select(CrawlRun).where(CrawlRun.id == run_id).with_for_update()
    ).one_or_none()
    if run is None:
        return
    run.pages_fetched += counts.pages_fetched
    run.articles_fetched += counts.articles_fetched
    run.new += counts.new
    run.updated += counts.updated
    run.duplicate += counts.duplicate
    run.unchanged += counts.unchanged
    run.empty += counts.empty
    run.flagged += counts.flagged
    run.listed += counts.listed
    run.too_old += counts.too_old
    errors = dict(run.errors)
    for kind, count in counts.errors.items():
        errors[kind] = errors.get(kind, 0) + count
    run.errors = errors


def get_runs(session: Session, run_ids: Sequence[int]) -> list[CrawlRun]:
    return list(session.scalars(select(CrawlRun).where(CrawlRun.id.in_(run_ids))))


# -- reading articles -----------------------------------------------------------------------


def articles_query(
    since: datetime | None = None,
    source: str | None = None,
    *,
    flagged: bool = False,
    watchlist: str | None = None,
) -> Select[Any]:
    query = select(Article).order_by(Article.id)
    if since is not None:
        query = query.where(func.coalesce(Article.published_at, Article.fetched_at) >= since)
    if source is not None:
        query = query.where(Article.source == source)
    if flagged or watchlist is not None:
        matched = select(WatchMatch.article_id)
        if watchlist is not None:
            matched = matched.where(WatchMatch.watchlist == watchlist)
        query = query.where(Article.id.in_(matched))
    return query


def urls_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    rows = session.execute(
        select(ArticleUrl.article_id, ArticleUrl.url)
        .where(ArticleUrl.article_id.in_(article_ids))
        .order_by(ArticleUrl.article_id, ArticleUrl.first_seen_at, ArticleUrl.url)
    )
    for article_id, url in rows:
        result.setdefault(article_id, []).append(url)
    return result


@dataclass(frozen=True, slots=True)
class ArticleView:
    """An article with every URL it was seen at and its watchlist matches."""

    article: Article
    urls: list[str]
    matches: list[WatchMatch]


def iter_articles(
    session: Session,
    since: datetime | None = None,
    source: str | None = None,
    *,
    flagged: bool = False,
    watchlist: str | None = None,
    batch: int = 500,
) -> Iterator[ArticleView]:
    """Stored articles in id order, read in batches (keyset pagination)."""
    last_id = 0
    base = articles_query(since, source, flagged=flagged, watchlist=watchlist)
    while True:
        page = list(session.scalars(base.where(Article.id > last_id).limit(batch)))
        if not page:
            return
        ids = [a.id for a in page]
        urls = urls_of(session, ids)
        matches = matches_of(session, ids)
        for article in page:
            yield ArticleView(
                article, urls.get(article.id, [article.url]), matches.get(article.id, [])
            )
        last_id = page[-1].id


# -- watchlist matches ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchRecord:
    watchlist: str
    terms: list[dict[str, Any]]
    score: float
    # Where the snippets are cut: {"field", "starts", "widths"} in word indexes of the text.
    hits: dict[str, Any]


def _term_names(terms: Sequence[dict[str, Any]]) -> set[str]:
    return {str(t["term"]) for t in terms}


def save_matches(
    session: Session,
    article: Article,
    found: Sequence[MatchRecord],
    scope: Iterable[str],
    now: datetime,
) -> dict[str, str]:
    """Record the watchlists ``article`` matches among ``scope`` and forget those it no longer
    matches. Idempotent. Returns watchlist -> "new", "updated", "kept" or "removed".

    A match is "updated" when a later revision of the article newly matches the watchlist or
    matches terms it did not before, so digests can say so.
    """
    scope = set(scope)
    previous = {
        m.watchlist: m
        for m in session.scalars(select(WatchMatch).where(WatchMatch.article_id == article.id))
        if m.watchlist in scope
    }
    outcome: dict[str, str] = {}
    for match in found:
        prev = previous.pop(match.watchlist, None)
        if prev is None:
            status = "updated" if article.revision > 1 else "new"
            session.execute(
                dialect_insert(session)(WatchMatch)
                .values(
                    article_id=article.id,
                    watchlist=match.watchlist,
                    terms=match.terms,
                    score=match.score,
                    snippets=[],
                    hits=match.hits,
                    status=status,
                    article_revision=article.revision,
                    matched_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["article_id", "watchlist"])
            )
            outcome[match.watchlist] = status
            continue
        newer = article.revision > prev.article_revision
        gained = _term_names(match.terms) - _term_names(prev.terms)
        if newer and gained:
            prev.status = "updated"
            prev.updated_at = now
            outcome[match.watchlist] = "updated"
        else:
            outcome[match.watchlist] = "kept"
        if (prev.terms, prev.hits, prev.score) != (match.terms, match.hits, match.score):
            prev.terms, prev.hits, prev.score = match.terms, match.hits, match.score
            prev.snippets = []  # a match stored with its snippets: they are cut anew
        prev.article_revision = article.revision
    for stale in previous.values():
        session.delete(stale)
        outcome[stale.watchlist] = "removed"
    return outcome


def add_new_matches(session: Session, rows: Sequence[tuple[int, MatchRecord, datetime]]) -> None:
    """Record the matches of articles just inserted (first revision), in bulk; each is "new".
    Rows are ``(article_id, match, when)``."""
    if not rows:
        return
    session.execute(
        dialect_insert(session)(WatchMatch.__table__).on_conflict_do_nothing(),
        [
            {
                "article_id": article_id,
                "watchlist": match.watchlist,
                "terms": match.terms,
                "score": match.score,
                "snippets": [],
                "hits": match.hits,
                "status": "new",
                "article_revision": 1,
                "matched_at": now,
                "updated_at": now,
            }
            for article_id, match, now in rows
        ],
    )


def matches_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[WatchMatch]]:
    result: dict[int, list[WatchMatch]] = {}
    for match in session.scalars(
        select(WatchMatch)
        .where(WatchMatch.article_id.in_(article_ids))
        .order_by(WatchMatch.article_id, WatchMatch.score.desc())
    ):
        result.setdefault(match.article_id, []).append(match)
    return result


# -- search index ---------------------------------------------------------------------------

# A prefilter is a tree of substrings every matching article's normalised words must contain:
# a string, ("AND", [...]), ("OR", [...]), or None for "no constraint".
Prefilter = str | tuple[str, list[Any]] | None


def set_search_words(session: Session, article_id: int, words: str) -> None:
    """Index an article's normalised words (built by the caller) for search prefiltering."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DELETE FROM article_search WHERE rowid = :id"), {"id": article_id})
        session.execute(
            text("INSERT INTO article_search (rowid, words) VALUES (:id, :words)"),
            {"id": article_id, "words": words},
        )
    else:
        session.execute(
            postgresql.insert(ArticleSearch)
            .values(article_id=article_id, words=words)
            .on_conflict_do_update(index_elements=["article_id"], set_={"words": words})
        )


def add_search_words(session: Session, rows: Sequence[tuple[int, str]]) -> None:
    """Index the words of articles just inserted (``(article_id, words)`` pairs), in bulk."""
    if not rows:
        return
    if session.get_bind().dialect.name == "sqlite":
        # A rowid freed by a deleted article may come back: clear what it left.
        session.execute(
            text("DELETE FROM article_search WHERE rowid IN (SELECT value FROM json_each(:ids))"),
            {"ids": json.dumps([article_id for article_id, _ in rows])},
        )
        session.execute(
            text("INSERT INTO article_search (rowid, words) VALUES (:id, :words)"),
            [{"id": article_id, "words": words} for article_id, words in rows],
        )
    else:
        statement = postgresql.insert(ArticleSearch)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["article_id"], set_={"words": statement.excluded.words}
            ),
            [{"article_id": article_id, "words": words} for article_id, words in rows],
        )


def _fts5(node: Prefilter) -> str | None:
    if node is None:
        return None
    if isinstance(node, str):
        return '"' + node.replace('"', '""') + '"' if len(node) >= 3 else None
    op, children = node
    parts = [_fts5(c) for c in children]
    if op == "AND":
        kept = [p for p in parts if p]
        return "(" + " AND ".join(kept) + ")" if kept else None
    if any(p is None for p in parts):
        return None
    return "(" + " OR ".join(p for p in parts if p) + ")"


def _like(node: Prefilter) -> Any:
    if node is None:
        return None
    if isinstance(node, str):
        escaped = node.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return ArticleSearch.words.like(f"%{escaped}%")
    op, children = node
    parts = [_like(c) for c in children]
    if op == "AND":
        kept = [p for p in parts if p is not None]
        return and_(*kept) if kept else None
    if any(p is None for p in parts):
        return None
    return or_(*parts)


def languages(session: Session) -> list[str]:
    """The distinct languages of stored articles, in a few index probes (a loose index scan:
    each step asks the language index for the next value), not a scan of every article."""
    rows = session.execute(
        text(
            "WITH RECURSIVE seen(language) AS ("
            " SELECT min(language) FROM articles"
            " UNION ALL"
            " SELECT (SELECT min(language) FROM articles WHERE language > seen.language)"
            " FROM seen WHERE seen.language IS NOT NULL"
            ") SELECT language FROM seen WHERE language IS NOT NULL"
        )
    )
    return [row[0] for row in rows]


_WALK_THRESHOLD = 5000
# The results a search shows at once: walking the recency index finds them after about
# _WALK_PAGE * articles / candidates entries, where fetching and sorting costs a row per
# candidate.
_WALK_PAGE = 25


def search_candidates(
    session: Session,
    prefilter: Prefilter,
    since: datetime | None = None,
    source: str | None = None,
) -> Select[Any]:
    """A query for the articles that can match, newest first, before exact matching."""
    query = (
        articles_query(since, source)
        .order_by(None)
        .order_by(func.coalesce(Article.published_at, Article.fetched_at).desc(), Article.id.desc())
    )
    if session.get_bind().dialect.name == "sqlite":
        expression = _fts5(prefilter)
        if expression:
            ids = text("SELECT rowid FROM article_search WHERE article_search MATCH :q")
            many = session.scalar(
                text(
                    "SELECT count(*) FROM (SELECT rowid FROM article_search"
                    " WHERE article_search MATCH :q LIMIT :n)"
                ),
                {"q": expression, "n": _WALK_THRESHOLD},
            )
            # Few candidates: fetch them by id and sort them. Many, or dense enough among the
            # articles that a page of them is met early (candidates² >= _WALK_PAGE x articles:
            # 1,600 of 100,000, 5,000 of a million): walk the articles newest first along the
            # recency index, keeping the candidates, and stop when the caller has enough,
            # rather than sort every candidate (which SQLite's planner would do, at seconds a
            # query with a million articles; 56 ms for 4,500 of 100,000, against 7 walking);
            # the unary + keeps the planner off the id lookup.
            articles = session.scalar(select(func.max(Article.id))) or 0
            walk = many >= _WALK_THRESHOLD or many * many >= _WALK_PAGE * articles
            column = literal_column("+articles.id") if walk else Article.id
            query = query.where(column.in_(ids.bindparams(q=expression)))
    else:
        condition = _like(prefilter)
        if condition is not None:
            query = query.where(Article.id.in_(select(ArticleSearch.article_id).where(condition)))
    return query
