"""The databases the tests run on: SQLite files, and a real PostgreSQL server on 127.0.0.1.

The server is the one named by ``$PRESSWATCH_TEST_POSTGRES_URL`` (a URL to a maintenance
database of a role that may create databases), or else one this module starts for the test
session with PostgreSQL's own ``initdb`` and ``pg_ctl`` (from ``$PATH`` or Debian's
``/usr/lib/postgresql/*/bin``; as root, through ``runuser -u postgres``) in a temporary
folder, and stops at the end. Each test gets a database of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage.engine import make_engine

URL_VAR = "PRESSWATCH_TEST_POSTGRES_URL"
REQUIRE_VAR = "PRESSWATCH_REQUIRE_POSTGRES"  # set by .ci/run: no server is a failure there
DRIVER = "postgresql+psycopg"


class NoPostgres(Exception):
    """No PostgreSQL server could be had; the message says why."""


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = 0
        self.admin_url = ""
        self._started = False
        self._as: list[str] = []

    def start(self) -> PostgresServer:
        given = os.environ.get(URL_VAR)
        if given:
            self.admin_url = given
            self._check()
            return self
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if not initdb or not pg_ctl:
            raise NoPostgres(
                "PostgreSQL's initdb and pg_ctl were not found (apt-get install postgresql, "
                f"or set ${URL_VAR})"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            if shutil.which("runuser") is None:
                raise NoPostgres(
                    "running as root without runuser to start PostgreSQL as another user"
                )
            try:
                shutil.chown(self.root, "postgres")
            except (LookupError, PermissionError) as exc:
                raise NoPostgres(
                    f"running as root and no 'postgres' user to run it ({exc})"
                ) from None
            self._as = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self._run(
            [
                initdb,
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "presswatch",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            [
                pg_ctl,
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "log"),
                "-w",
                "start",
            ]
        )
        self._started = True
        self.admin_url = f"{DRIVER}://presswatch@127.0.0.1:{self.port}/postgres"
        self._check()
        return self

    def _run(self, command: list[str]) -> None:
        result = subprocess.run([*self._as, *command], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise NoPostgres(f"{Path(command[0]).name} failed: {result.stderr.strip()[-500:]}")

    def _check(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                with self._admin() as engine, engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise NoPostgres(
                        f"PostgreSQL at {self.admin_url} does not answer: {exc}"
                    ) from None
                time.sleep(0.2)

    def _admin(self) -> _Disposing:
        return _Disposing(
            create_engine(self.admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        )

    def create_database(self, template: str | None = None) -> str:
        name = f"pw_{uuid.uuid4().hex[:12]}"
        with self._admin() as engine, engine.connect() as connection:
            if template:
                # A template must have no other connections.
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": template},
                )
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            else:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with self._admin() as engine, engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def stop(self) -> None:
        if self._started:
            pg_ctl = _binary("pg_ctl")
            assert pg_ctl is not None
            subprocess.run(
                [*self._as, pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
            self._started = False


class _Disposing:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Engine:
        return self.engine

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()


def reader(url: str) -> Engine:
    """An engine for a test to look into a database with: no pooled connections left open
    (a PostgreSQL database with open connections cannot be cloned or dropped)."""
    if url.startswith("sqlite"):
        return make_engine(url, write=False)
    return create_engine(url, poolclass=NullPool)


def clone(url: str, server: PostgresServer | None, sqlite_target: Path) -> str:
    """A private copy of the database at ``url``: for SQLite through its backup API (the
    write-ahead log included), for PostgreSQL as a new database from it as template."""
    if url.startswith("sqlite"):
        source = sqlite3.connect(make_url(url).database or "")
        target = sqlite3.connect(sqlite_target)
        source.backup(target)
        source.close()
        target.close()
        return f"sqlite:///{sqlite_target}"
    assert server is not None
    return server.create_database(template=make_url(url).database)
