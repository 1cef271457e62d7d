"""The presswatch config: one TOML file, validated once into typed objects.

Found as ``--config FILE``, else ``$PRESSWATCH_CONFIG``, else ``./presswatch.toml``. Every error a
user can make ends in one ``ConfigError`` sentence naming the file, the key and the fix.

Each group of settings is a module of this package; ``Config`` holds them all, and the
package's names are its public API: ``from crawler.config import X`` for any of them.
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from sqlalchemy.engine import make_url

from crawler.config.base import ConfigError, Duration, Section, Size
from crawler.config.cluster import ClusterConfig
from crawler.config.crawl import DEFAULT_USER_AGENT, CrawlConfig
from crawler.config.daemon import DaemonConfig
from crawler.config.delivery import DeliveryConfig, SmtpConfig, WebhookConfig
from crawler.config.sources import SourceConfig
from crawler.config.storage import StorageConfig
from crawler.config.watching import WatcherConfig, WatchlistConfig, check_schedule
from crawler.config.web import WebConfig

__all__ = [
    "DEFAULT_NAME",
    "DEFAULT_USER_AGENT",
    "ENV_VAR",
    "ClusterConfig",
    "Config",
    "ConfigError",
    "CrawlConfig",
    "DaemonConfig",
    "DeliveryConfig",
    "Duration",
    "Size",
    "SmtpConfig",
    "SourceConfig",
    "StorageConfig",
    "WatcherConfig",
    "WatchlistConfig",
    "WebConfig",
    "WebhookConfig",
    "check_schedule",
    "find_config",
    "load_config",
]


ENV_VAR = "PRESSWATCH_CONFIG"
DEFAULT_NAME = "presswatch.toml"


class Config(Section):
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
