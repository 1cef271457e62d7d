"""The presswatch config: one TOML file, validated once into typed objects.

Found as ``--config FILE``, else ``$PRESSWATCH_CONFIG``, else ``./presswatch.toml``. Every error a
user can make ends in one ``ConfigError`` sentence naming the file, the key and the fix.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cssselect import GenericTranslator, SelectorError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from crawler.items import PageSelectors
from crawler.units import parse_duration, parse_size

ENV_VAR = "PRESSWATCH_CONFIG"
DEFAULT_NAME = "presswatch.toml"
DEFAULT_USER_AGENT = "presswatch/0.1 (+https://github.com/presswatch/presswatch)"


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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(_Section):
    url: str = "sqlite:///presswatch.db"
    # Near-copies join a story among the articles stored within this window (storage.stories).
    story_window: Duration = timedelta(days=7)

    @field_validator("url")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                f"{value!r} is not a database URL like sqlite:///presswatch.db or "
                "postgresql+psycopg://user@host/db"
            ) from None
        return value

    @field_validator("story_window")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value < timedelta(hours=1):
            raise ValueError(
                "must be at least 1h: copies of a story are published over hours and days"
            )
        return value


class CrawlConfig(_Section):
    user_agent: str = DEFAULT_USER_AGENT
    obey_robots: bool = True
    max_article_age: Duration = timedelta(days=7)
    concurrency: int = Field(16, ge=1, le=512)
    concurrency_per_domain: int = Field(4, ge=1, le=64)
    download_delay: Duration = timedelta(0)
    autothrottle: bool = True
    timeout: Duration = timedelta(seconds=30)
    retries: int = Field(2, ge=0, le=10)
    max_page_size: Size = 10_000_000
    page_depth: int = Field(1, ge=1, le=5)
    workers: Literal["auto"] | Annotated[int, Field(ge=0, le=64)] = "auto"
    extract_timeout: Duration = timedelta(seconds=60)
    # Sources crawled at once in the one engine; the others wait their turn (in order).
    sources_at_once: int = Field(1000, ge=1, le=100_000)
    # How long a site's robots.txt is trusted before the engine reads it again.
    robots_ttl: Duration = timedelta(hours=24)


class DaemonConfig(_Section):
    max_parallel_crawls: int = Field(2, ge=1, le=64)
    crawl_time_limit: Duration = timedelta(minutes=30)
    stop_grace: Duration = timedelta(seconds=30)
    misfire_grace: Duration = timedelta(minutes=5)
    log_file: str | None = None
    log_max_size: Size = 10_000_000
    log_backups: int = Field(5, ge=0, le=100)
    adaptive: bool = True
    keep_runs: Duration | None = timedelta(days=180)
    keep_revisions: Duration | None = None
    maintenance_every: Duration = timedelta(hours=24)
    # Failed crawls in a row before a source is failing; also the crawls in a row a problem
    # (pages without text, shrunk texts, only old articles listed) must show before the
    # source is reported broken or stale.
    unhealthy_after_failures: int = Field(3, ge=1, le=1000)
    quiet_after: Duration = timedelta(hours=24)
    # The crawl engine's supervision: no heartbeat for this long and it is replaced ...
    engine_stall: Duration = timedelta(seconds=60)
    # ... and it is recycled (drained, a fresh one started) past this much memory or age
    # (0: never for that reason).
    engine_max_memory: Size = 2_000_000_000
    engine_recycle: Duration = timedelta(hours=24)


class ClusterConfig(_Section):
    """Distributed crawling: crawl requests go through a shared frontier in Redis, taken by
    any number of `presswatch worker` processes on any machines."""

    redis_url: str
    key_prefix: str = "presswatch"
    heartbeat: Duration = timedelta(seconds=5)
    # A worker silent this long is dead: what it held goes back to the frontier.
    dead_after: Duration = timedelta(seconds=20)
    max_parallel_crawls: int = Field(4, ge=1, le=64)  # per worker

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"{value!r} is not a Redis URL like redis://127.0.0.1:6379/0")
        return value

    @model_validator(mode="after")
    def _timing(self) -> ClusterConfig:
        if self.dead_after < self.heartbeat * 2:
            raise ValueError("dead_after must be at least twice heartbeat")
        return self


def _check_name(kind: str, value: str) -> str:
    if not _SOURCE_NAME.match(value):
        raise ValueError(f"{value!r} is not a {kind} name: use letters, digits, '-', '_' or '.'")
    return value


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a time zone name like 'Asia/Jakarta' or 'UTC'"
        ) from None
    return value


_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


class SourceConfig(_Section):
    name: str
    feeds: list[str] = []
    sitemaps: list[str] = []
    pages: list[str] = []
    article_pattern: str | None = None
    allowed_domains: list[str] = []
    language: str | None = None
    timezone: str = "UTC"
    every: Duration = timedelta(minutes=15)
    # Bounds of the daemon's adaptive interval; default a quarter and four times `every`.
    min_every: Duration | None = None
    max_every: Duration | None = None
    # CSS selectors for the few sites where the general extraction rules fail.
    body_selector: str | None = None
    title_selector: str | None = None
    date_selector: str | None = None

    @property
    def interval_bounds(self) -> tuple[timedelta, timedelta]:
        return (self.min_every or self.every / 4, self.max_every or self.every * 4)

    @property
    def selectors(self) -> PageSelectors | None:
        if not (self.body_selector or self.title_selector or self.date_selector):
            return None
        return PageSelectors(self.body_selector, self.title_selector, self.date_selector)

    @field_validator("body_selector", "title_selector", "date_selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                GenericTranslator().css_to_xpath(value)
            except SelectorError as exc:
                raise ValueError(f"{value!r} is not a CSS selector ({exc})") from None
        return value

    @model_validator(mode="after")
    def _bounds(self) -> SourceConfig:
        low, high = self.interval_bounds
        if not low <= self.every <= high:
            raise ValueError(
                "min_every <= every <= max_every must hold: "
                f"{low.total_seconds():g}s, {self.every.total_seconds():g}s, "
                f"{high.total_seconds():g}s"
            )
        return self

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name("source", value)

    @field_validator("feeds", "sitemaps", "pages")
    @classmethod
    def _urls(cls, values: list[str]) -> list[str]:
        return [_check_url(v) for v in values]

    @field_validator("article_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression ({exc})") from None
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not _LANGUAGE.match(value):
            raise ValueError(f"{value!r} is not a language code like 'id' or 'en'")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("every")
    @classmethod
    def _every(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return value

    @model_validator(mode="after")
    def _has_entry_points(self) -> SourceConfig:
        if not (self.feeds or self.sitemaps or self.pages):
            raise ValueError("needs at least one of feeds, sitemaps or pages")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start_urls(self) -> list[str]:
        return [*self.feeds, *self.sitemaps, *self.pages]

    @property
    def domains(self) -> list[str]:
        """Hosts (and their subdomains) the crawl may fetch from."""
        if self.allowed_domains:
            return list(self.allowed_domains)
        hosts = {urlsplit(u).hostname or "" for u in self.start_urls}
        return sorted(h for h in hosts if h)


class WatchlistConfig(_Section):
    name: str
    description: str = ""
    query: str
    priority: Literal["normal", "urgent"] = "normal"
    languages: list[str] = []

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name("watchlist", value)

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
            if not _LANGUAGE.match(value):
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


class WatcherConfig(_Section):
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
        return _check_name("watcher", value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return check_schedule(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return _check_url(value) if value is not None else None

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


class SmtpConfig(_Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    # SMTPS (implicit TLS, usually port 465) rather than STARTTLS.
    ssl: bool = False
    username: str | None = None
    # The name of the environment variable holding the password: secrets stay out of configs.
    password_env: str | None = None
    from_: str = Field(default="presswatch <presswatch@localhost>", alias="from")
    timeout: Duration = timedelta(seconds=30)

    @model_validator(mode="after")
    def _tls(self) -> SmtpConfig:
        if self.ssl and self.starttls:
            raise ValueError("ssl and starttls are exclusive: set starttls = false with ssl = true")
        return self

    def password(self) -> str | None:
        """The password from the environment; a ConfigError when the variable is unset."""
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(
                f"[delivery.smtp] password_env names ${self.password_env}, which is not set: "
                "export it in the environment presswatch runs in"
            )
        return value


class WebhookConfig(_Section):
    timeout: Duration = timedelta(seconds=20)


class DeliveryConfig(_Section):
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    # Stories kept in Atom feeds (newest first), and how far back they reach.
    feed_entries: int = Field(default=100, ge=1, le=10_000)
    feed_days: Duration = timedelta(days=30)


_HEADER = re.compile(r"^[A-Za-z0-9-]{1,100}$")


class WebConfig(_Section):
    """`presswatch serve`, and the daemon's web view when ``enabled``."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Processes serving pages (Python renders one page at a time per process).
    workers: int = Field(default=2, ge=1, le=64)
    # The name of the environment variable holding the password the login page asks for.
    password_env: str | None = None
    # A reverse proxy that authenticates its users and names them in this request header; only
    # the proxy may reach the web view then (bind it to an address only the proxy reaches).
    trusted_proxy_header: str | None = None

    @field_validator("trusted_proxy_header")
    @classmethod
    def _header(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER.match(value):
            raise ValueError(f"{value!r} is not an HTTP header name like X-Forwarded-User")
        return value

    def password(self) -> str | None:
        """The password from the environment; a ConfigError when the variable is unset."""
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if not value:
            raise ConfigError(
                f"[web] password_env names ${self.password_env}, which is not set or empty: "
                "export it in the environment presswatch runs in"
            )
        return value


class Config(_Section):
    path: Path
    storage: StorageConfig = Field(default_factory=StorageConfig)
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    sources: list[SourceConfig] = []
    watchlists: list[WatchlistConfig] = []
    watchers: list[WatcherConfig] = []
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    cluster: ClusterConfig | None = None
    web: WebConfig = Field(default_factory=WebConfig)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        kinds: tuple[tuple[str, list[Any]], ...] = (
            ("source", self.sources),
            ("watchlist", self.watchlists),
            ("watcher", self.watchers),
        )
        for kind, items in kinds:
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(
                        f"{kind} name {item.name!r} is used twice; names must be unique"
                    )
                seen.add(item.name)
        known = {w.name for w in self.watchlists}
        for watcher in self.watchers:
            for name in watcher.watchlists:
                if name not in known:
                    raise ValueError(
                        f"watcher {watcher.name!r} follows watchlist {name!r}, which is not "
                        f"configured (watchlists: {', '.join(sorted(known)) or 'none'})"
                    )
        return self

    def watcher(self, name: str) -> WatcherConfig:
        for watcher in self.watchers:
            if watcher.name == name:
                return watcher
        known = ", ".join(w.name for w in self.watchers) or "none"
        raise ConfigError(f"{self.path}: no watcher named {name!r} (configured: {known})")

    def watchlist(self, name: str) -> WatchlistConfig:
        for watchlist in self.watchlists:
            if watchlist.name == name:
                return watchlist
        known = ", ".join(w.name for w in self.watchlists) or "none"
        raise ConfigError(f"{self.path}: no watchlist named {name!r} (configured: {known})")

    def source(self, name: str) -> SourceConfig:
        found = self._sources_by_name.get(name)
        if found is not None:
            return found
        known = ", ".join(s.name for s in self.sources[:20]) or "none"
        more = f" and {len(self.sources) - 20} more" if len(self.sources) > 20 else ""
        raise ConfigError(f"{self.path}: no source named {name!r} (configured: {known}{more})")

    @cached_property
    def _sources_by_name(self) -> dict[str, SourceConfig]:
        # Looked up per page and per request in an engine carrying thousands of sources.
        return {s.name: s for s in self.sources}

    @property
    def database_url(self) -> str:
        """The storage URL with a relative SQLite path made relative to the config file."""
        url = make_url(self.storage.url)
        database = url.database
        if url.get_backend_name() == "sqlite" and _relative_file(database):
            assert database is not None
            url = url.set(database=str((self.path.parent / database).resolve()))
        return url.render_as_string(hide_password=False)


def _relative_file(database: str | None) -> bool:
    return bool(database) and database != ":memory:" and not Path(str(database)).is_absolute()


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        path = Path(explicit)
        origin = "--config"
    elif os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR])
        origin = f"${ENV_VAR}"
    else:
        path = Path(DEFAULT_NAME)
        if not path.exists():
            raise ConfigError(
                f"no config found: pass --config FILE, set ${ENV_VAR}, or run `presswatch init` "
                f"to write ./{DEFAULT_NAME}"
            )
        origin = "default"
    if not path.is_file():
        raise ConfigError(f"{path} (from {origin}) does not exist or is not a file")
    return path.resolve()


def _where(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    """``('sources', 0, 'every')`` -> ``sources[0] ("sindonews").every``."""
    out = ""
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            try:
                node = node[part]
                if isinstance(node, dict) and "name" in node:
                    out += f" ({node['name']!r})"
            except (IndexError, KeyError, TypeError):
                node = None
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _message(error: dict[str, Any]) -> str:
    msg = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "is not a known setting (check its spelling against `presswatch init`'s example)"
    if error["type"] == "missing":
        return "is required"
    return msg.removeprefix("Value error, ")


def load_config(path: str | os.PathLike[str]) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: is not valid TOML: {exc}") from None
    if "path" in data:
        raise ConfigError(f"{path}: path: is not a known setting")
    try:
        return Config.model_validate({**data, "path": path.resolve()})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _where(tuple(first["loc"]), data)
        count = exc.error_count()
        more = (
            f" ({count - 1} more problem{'s' if count > 2 else ''} after this one)"
            if count > 1
            else ""
        )
        key = f" {where}:" if where else ""
        raise ConfigError(f"{path}:{key} {_message(dict(first))}{more}") from None
