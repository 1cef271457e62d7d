"""Storing articles. Functions take a ``Session``; only entry points open transactions.

Writes are upserts on unique keys (URL key, content hash), so two crawls writing at once cannot
create a duplicate article: the database, not a check made earlier, decides who was first. An
article met again under another URL, or with its text changed, is recognised and updated; the
same text on another site joins its story."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import fingerprints, stories
from storage.models import (
    Article,
    ArticleRevision,
    ArticleUrl,
    StoryKeys,
)
from storage.urlkeys import clean_url, same_site, url_key

if TYPE_CHECKING:
    from sqlalchemy import Table
from storage.sql import chunks, dialect_insert


class Outcome(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class ArticleFields:
    """What an article says of itself, as the extraction finds it on its page: the fields of an
    ``articles`` row that come from the page (``crawler.items.ExtractedArticle`` is this)."""

    url: str
    text: str
    title: str | None = None
    canonical_url: str | None = None
    authors: Sequence[str] = ()
    published_at: datetime | None = None
    language: str | None = None
    description: str | None = None
    site_name: str | None = None
    tags: Sequence[str] = ()


_PAGE_FIELDS = tuple(f.name for f in fields(ArticleFields))


def fields_of(article: ArticleFields) -> dict[str, Any]:
    """``article``'s page fields by name, to build a record from (once per stored article: the
    names are read off the dataclass once)."""
    return {name: getattr(article, name) for name in _PAGE_FIELDS}


@dataclass(frozen=True, slots=True)
class ArticleRecord(ArticleFields):
    """An extracted article as the storage edge takes it: its page's fields, and where and when
    it was fetched."""

    _: KW_ONLY
    source: str
    fetched_at: datetime
    requested_url: str | None = None
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


def known_urls(session: Session, keys: Iterable[str]) -> dict[str, datetime]:
    """For each of ``keys`` already stored, when its article was last fetched."""
    wanted = sorted(set(keys))
    found: dict[str, datetime] = {}
    for chunk in chunks(wanted):
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
    for chunk in chunks(sorted(article_ids)):  # type: ignore[arg-type]
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
    for chunk in chunks(list(dict.fromkeys(all_keys))):
        known_keys.update(
            session.scalars(select(ArticleUrl.url_key).where(ArticleUrl.url_key.in_(chunk)))
        )
    known_hashes: set[str] = set()
    for chunk in chunks(list(dict.fromkeys(digests))):
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
