"""Time as presswatch keeps it: aware UTC everywhere inside. The column type that stores it so,
and the two helpers every part uses to read a value that may come back naive (a raw SQL read
of SQLite, a value built by hand) and to write one out as ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite stores no zone, so values are converted to UTC on the way in and marked UTC on the
    way out; PostgreSQL gets ``timestamptz`` and behaves the same.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


@overload
def utc(value: datetime) -> datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: datetime | None) -> datetime | None:
    """``value`` as aware UTC: a naive one is taken to be UTC (how presswatch stores time)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@overload
def iso(value: datetime, *, precise: bool = ..., zulu: bool = ...) -> str: ...
@overload
def iso(value: None, *, precise: bool = ..., zulu: bool = ...) -> None: ...
def iso(value: datetime | None, *, precise: bool = False, zulu: bool = True) -> str | None:
    """``value`` in UTC as ISO 8601: ``2026-12-04T21:30:00Z``, to the second unless ``precise``,
    with ``+00:00`` instead of ``Z`` when not ``zulu``; None for None."""
    if value is None:
        return None
    text = utc(value).astimezone(UTC).isoformat(timespec="auto" if precise else "seconds")
    return text.replace("+00:00", "Z") if zulu else text
