"""What every group of settings is built from: the error a user must fix, the frozen section
model that refuses unknown keys, durations and sizes written as text (``30s``, ``10MB``), and
the checks shared by several groups (names, time zones, language codes, http(s) URLs).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict

from crawler.units import parse_duration, parse_size


class ConfigError(Exception):
    """A config the user must fix; the message is one sentence saying where and how."""


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    return value


def _size(value: Any) -> Any:
    return parse_size(value) if isinstance(value, str | int) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Size = Annotated[int, BeforeValidator(_size)]


class Section(BaseModel):
    """A group of settings: frozen once loaded, and an unknown key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_name(kind: str, value: str) -> str:
    if not _SOURCE_NAME.match(value):
        raise ValueError(f"{value!r} is not a {kind} name: use letters, digits, '-', '_' or '.'")
    return value


def check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a time zone name like 'Asia/Jakarta' or 'UTC'"
        ) from None
    return value


_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value
