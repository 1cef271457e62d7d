"""``presswatch serve``: the checks made before listening, and the uvicorn server.

Off a loopback address the web view starts only with authentication configured. The database
is opened read only: SQLite connections are ``query_only`` (and begin deferred transactions,
which never take the write lock the crawl's writer wants), PostgreSQL sessions read only.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from crawler.config import Config, ConfigError
from crawler.web.security import Access

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def access_of(config: Config, host: str) -> Access:
    """The authentication configured, refused as none off a loopback address."""
    web = config.web
    access = Access(password=web.password(), proxy_header=web.trusted_proxy_header)
    if not is_loopback(host) and not access.required:
        raise ConfigError(
            f"refusing to serve on {host}, which is not a loopback address, without "
            f"authentication: set [web] password_env (the environment variable holding a "
            f"password) or [web] trusted_proxy_header in {config.path}, or serve on 127.0.0.1"
        )
    return access


def read_only_engine(config: Config) -> Engine:
    """An engine that cannot write, on a database that exists at the current schema."""
    from storage.engine import make_engine
    from storage.migrate import current_revision, head_revision

    url = config.database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise ConfigError(
                f"no database at {path} yet: run `presswatch crawl` to fill it (config "
                f"{config.path})"
            )
    engine = make_engine(url, write=False)
    sqlite = make_url(url).get_backend_name() == "sqlite"

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if sqlite:
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()

    current, head = current_revision(engine), head_revision()
    if current != head:
        engine.dispose()
        raise ConfigError(
            f"the database {make_url(url).render_as_string(hide_password=True)} is at schema "
            f"revision {current or 'none'}, this presswatch needs {head}: run `presswatch db "
            "upgrade` (the web view does not write)"
        )
    return engine


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family, backlog=128)
    except OSError as error:
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror}") from None


# How `serve` hands its config, address and session key to the worker processes uvicorn
# starts (they import the app by name: crawler.web.server:app_from_environment).
_CONFIG_VAR = "PRESSWATCH_WEB_CONFIG"
_HOST_VAR = "PRESSWATCH_WEB_HOST"
_SECRET_VAR = "PRESSWATCH_WEB_SESSION_KEY"


def app_from_environment() -> Any:
    """The app of one worker process (uvicorn's factory)."""
    from crawler.config import load_config
    from crawler.web.app import create_app

    config = load_config(os.environ[_CONFIG_VAR])
    access = access_of(config, os.environ[_HOST_VAR])
    return create_app(config, read_only_engine(config), access, os.environ[_SECRET_VAR])


def serve(config: Config, host: str, port: int, workers: int = 1) -> int:
    """Serve until SIGTERM or SIGINT, in ``workers`` processes (pages are rendered by Python
    under its global lock: one process per core serves that many pages at once)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    access_of(config, host)
    read_only_engine(config).dispose()  # a missing or outdated database: said here, once
    listener = bind(host, port)
    actual = listener.getsockname()[1]
    # Sessions are signed with a key made at start, shared by the workers: a restart logs
    # everyone out.
    os.environ.update(
        {
            _CONFIG_VAR: str(config.path),
            _HOST_VAR: host,
            _SECRET_VAR: secrets.token_urlsafe(32),
        }
    )
    settings = uvicorn.Config(
        "crawler.web.server:app_from_environment",
        factory=True,
        workers=workers,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        lifespan="off",
    )
    shown = f"[{host}]" if ":" in host else host
    print(f"presswatch: web view on http://{shown}:{actual}/", file=sys.stderr, flush=True)
    if workers > 1:
        Multiprocess(settings, sockets=[listener]).run()
    else:
        uvicorn.Server(settings).run(sockets=[listener])
    return 0
