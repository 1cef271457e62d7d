"""``[[watchlists]]`` and ``[[watchers]]``: the queries articles are flagged by, and who reads
their digests, on which schedule, in which zone and on which channels (email, webhook, feed,
directory).
"""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import field_validator

from crawler.config.base import LANGUAGE, Section, check_name, check_url, check_zone


class WatchlistConfig(Section):
    name: str
    description: str = ""
    query: str
    priority: Literal["normal", "urgent"] = "normal"
    languages: list[str] = []

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name("watchlist", value)

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        from crawler.watch.evaluation import compile_query
        from crawler.watch.query import QueryError

        try:
            compile_query(value)
        except QueryError as exc:
            raise ValueError(f"invalid query at {exc}") from None
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, values: list[str]) -> list[str]:
        for value in values:
            if not LANGUAGE.match(value):
                raise ValueError(f"{value!r} is not a language code like 'id' or 'en'")
        return values


_SCHEDULE = re.compile(
    r"^(hourly|daily (\d{1,2}):(\d{2})|weekly (mon|tue|wed|thu|fri|sat|sun) (\d{1,2}):(\d{2}))$"
)


def check_schedule(value: str) -> str:
    """``hourly``, ``daily HH:MM``, ``weekly mon HH:MM`` or a five-field cron expression."""
    text = " ".join(value.split()).lower()
    match = _SCHEDULE.match(text)
    if match:
        hour, minute = (
            (match.group(2), match.group(3)) if match.group(2) else (match.group(5), match.group(6))
        )
        if hour is not None and (int(hour) > 23 or int(minute) > 59):
            raise ValueError(f"{value!r}: no such time of day")
        return text
    if len(text.split()) == 5:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(text)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid cron expression ({exc})") from None
        return text
    raise ValueError(
        f"{value!r} is not a schedule: use hourly, daily 07:00, weekly mon 07:00 "
        "or a cron expression like '0 7 * * 1-5'"
    )


class WatcherConfig(Section):
    name: str
    watchlists: list[str]
    schedule: str = "daily 07:00"
    timezone: str = "UTC"
    email: str | None = None
    webhook: str | None = None
    feed: str | None = None
    directory: str | None = None
    send_empty: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name("watcher", value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return check_schedule(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return check_url(value) if value is not None else None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        addresses = [a.strip() for a in value.split(",") if a.strip()]
        for address in addresses:
            if not _ADDRESS.match(address):
                raise ValueError(f"{address!r} is not an email address like analyst@example.org")
        return ", ".join(addresses)

    @field_validator("feed", "directory")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is empty: give a file or directory path, or leave the key out")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def channels(self) -> list[str]:
        """The outbox channels this watcher is delivered on, in delivery order."""
        wanted = (
            ("email", self.email),
            ("webhook", self.webhook),
            ("directory", self.directory),
            ("feed", self.feed),
        )
        return [channel for channel, target in wanted if target]


_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$")
