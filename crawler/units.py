"""Human units in config and arguments: durations (``15m``, ``7d``) and sizes (``10MB``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h30m"``, ``"7d"``, ``"2w"`` -> timedelta; ValueError otherwise."""
    cleaned = text.strip().replace(" ", "")
    parts = _DURATION_PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts).lower() != cleaned.lower():
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 2h, 7d or 1h30m")
    return timedelta(seconds=sum(float(n) * _DURATION_UNITS[u.lower()] for n, u in parts))


def parse_size(text: str | int) -> int:
    if isinstance(text, int):
        return text
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size like 500KB or 10MB")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A point in time for ``--since``: ISO date or datetime (UTC unless it says otherwise), or a
    duration meaning that long ago (``7d``)."""
    now = now or datetime.now(UTC)
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(
                f"{text!r} is not a date: use 2020-11-02, 2020-11-02T09:00:00+07:00 or 7d"
            ) from None
        parsed = datetime(day.year, day.month, day.day)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_datetime(value: str, zone: tzinfo) -> datetime | None:
    """An aware UTC datetime from ISO 8601 or RFC 822 text; a value without a zone is read in
    ``zone``; a bare date is midnight in ``zone``."""
    value = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            try:
                day = date.fromisoformat(value[:10])
            except ValueError:
                return None
            parsed = datetime(day.year, day.month, day.day)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)
