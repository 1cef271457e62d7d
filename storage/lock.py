"""One daemon per database: a lock that the kernel or the server releases when the daemon dies,
even by SIGKILL (``fcntl.flock`` on a file beside a SQLite database, an advisory lock on
PostgreSQL), who holds it, and the file where the running daemon says what its crawl engine is
doing. The daemon takes the lock; ``presswatch status`` and the web view read who holds it."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

_PG_LOCK_KEY = 0x70726573  # "pres"
_PG_HOLDER = "presswatch-daemon"


class DaemonRunning(Exception):
    """Another daemon holds the database."""


def state_path(database_url: str, config_path: str | Path) -> Path:
    """Where the running daemon says what its crawl engine is doing: beside a SQLite database
    (a folder the daemon writes to anyway), else beside its config file."""
    lock = lock_path(database_url)
    if lock is not None:
        return lock.with_name(lock.name.replace(".daemon-lock", ".daemon-state.json"))
    return Path(config_path).with_name(Path(config_path).stem + ".daemon-state.json")


def engine_state(database_url: str, config_path: str | Path) -> dict[str, Any] | None:
    """What the running daemon's crawl engine does now, as it last wrote it."""
    try:
        state = json.loads(state_path(database_url, config_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def lock_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(f"{url.database}.daemon-lock")


class DaemonLock:
    """Held while the daemon runs; released by the kernel (file) or the server (PostgreSQL) when
    the process ends, however it ends."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._file: IO[str] | None = None
        self._engine: Engine | None = None
        self._connection: Any = None

    def acquire(self) -> None:
        path = lock_path(self.database_url)
        if path is not None:
            self._acquire_file(path)
        elif make_url(self.database_url).get_backend_name() == "postgresql":
            self._acquire_advisory()

    def _acquire_file(self, path: Path) -> None:
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = describe_holder(handle.read())
            handle.close()
            raise DaemonRunning(
                f"another presswatch daemon ({holder}) is using {path.with_suffix('')}; "
                "stop it first (one daemon per database)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_holder_info()))
        handle.flush()
        self._file = handle

    def _acquire_advisory(self) -> None:
        # The lock's connection names its holder (pid, start, host) for `presswatch status`
        # and for a second daemon's refusal: it goes when the connection goes.
        info = _holder_info()
        started = int(datetime.fromisoformat(info["started_at"]).timestamp())
        name = f"{_PG_HOLDER} {info['pid']} {started} {info['host']}"[:63]
        self._engine = create_engine(
            self.database_url, poolclass=NullPool, connect_args={"application_name": name}
        )
        self._connection = self._engine.connect()
        taken = self._connection.scalar(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_LOCK_KEY}
        )
        self._connection.commit()
        if not taken:
            holder = _pg_holder(self._connection)
            self.release()
            where = (
                f"pid {holder['pid']} on {holder['host']}, running since {holder['started_at']}"
                if holder
                else "pid unknown"
            )
            raise DaemonRunning(
                f"another presswatch daemon ({where}) holds this PostgreSQL database "
                "(advisory lock); stop it first (one daemon per database)"
            )

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _holder_info() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def describe_holder(content: str) -> str:
    try:
        info = json.loads(content)
        return f"pid {info['pid']} on {info['host']}, running since {info['started_at']}"
    except (ValueError, KeyError, TypeError):
        return "pid unknown"


def _pg_holder(connection: Any) -> dict[str, Any] | None:
    """The daemon holding the advisory lock, from its connection's application_name."""
    name = connection.scalar(
        text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :k "
            "AND a.datname = current_database()"
        ),
        {"k": _PG_LOCK_KEY},
    )
    if name is None:
        return None
    parts = str(name).split(" ", 3)
    if len(parts) < 4 or parts[0] != _PG_HOLDER or not parts[1].isdigit():
        return {"pid": None, "host": None, "started_at": None}
    started = datetime.fromtimestamp(int(parts[2]), UTC).isoformat(timespec="seconds")
    return {"pid": int(parts[1]), "host": parts[3], "started_at": started}


def daemon_state(database_url: str) -> dict[str, Any] | None:
    """Who runs the daemon on this database, or None when none does."""
    if make_url(database_url).get_backend_name() == "postgresql":
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return _pg_holder(connection)
        except SQLAlchemyError:
            return None
        finally:
            engine.dispose()
    path = lock_path(database_url)
    if path is None or not path.exists():
        return None
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return dict(json.loads(handle.read()))
            except ValueError:
                return {"pid": None}
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
