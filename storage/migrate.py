"""Schema migrations (Alembic), run programmatically: no alembic.ini to find."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError

if TYPE_CHECKING:
    from alembic.config import Config

_SCRIPTS = Path(__file__).parent / "migrations"
# The newest migration's revision (a test checks it against Alembic's own head). Every crawl
# checks the schema; comparing with this constant spares each crawl process importing Alembic.
HEAD = "0011"


_MIGRATION_LOCK = 0x70776D67  # "pwmg"


class SchemaError(Exception):
    """The database's schema is not the one this presswatch needs."""


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> None:
    """Bring the schema to ``target``. Safe to run while another process does the same: on
    SQLite the migration holds the write lock for its whole transaction."""
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # PostgreSQL has no database-wide write lock: two processes migrating one empty
            # database at once (two crawls' first run) would both create the tables. This lock
            # queues the second until the first commits; Alembic then finds the schema current.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, target)


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty database; refuse a database that needs an upgrade."""
    try:
        with engine.connect() as connection:
            if connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD:
                return
    except (OperationalError, ProgrammingError):
        pass  # no version table: an empty database, or not ours; decided below
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        if tables and "articles" not in tables:
            raise SchemaError(
                f"{engine.url.render_as_string(hide_password=True)} holds tables that are not "
                "presswatch's; point [storage] url at an empty or presswatch database"
            )
        upgrade(engine)
        return
    raise SchemaError(
        f"the database {engine.url.render_as_string(hide_password=True)} is at schema revision "
        f"{current}, this presswatch needs {head}: run `presswatch db upgrade`"
    )
