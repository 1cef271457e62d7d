"""What the table groups share: an INSERT in the database's own dialect (for its upserts), and
lists cut into chunks that fit in one statement."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    pass


CHUNK = 500


def dialect_insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert
    if name == "postgresql":
        return postgresql.insert
    raise RuntimeError(f"unsupported database {name!r}: use SQLite or PostgreSQL")


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
