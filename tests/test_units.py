from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler.units import parse_duration, parse_since, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        ("500ms", timedelta(0, 0.5)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15", "15x", "m", "7 dd", "-3d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_sizes() -> None:
    assert parse_size("10MB") == 10_000_000
    assert parse_size("1MiB") == 1_048_576
    assert parse_size(123) == 123
    with pytest.raises(ValueError, match="not a size"):
        parse_size("ten megs")


def test_since_accepts_dates_datetimes_and_durations() -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert parse_since("2020-11-02", now) == datetime(2020, 11, 2, tzinfo=UTC)
    assert parse_since("2020-11-02T09:06:00+07:00", now) == datetime(2020, 11, 2, 2, 6, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    with pytest.raises(ValueError, match="not a date"):
        parse_since("last tuesday", now)
