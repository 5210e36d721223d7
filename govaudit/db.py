"""Engine and sessions for the audit database; the schema is always brought to Alembic's head."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_SQLITE = Path("var/govaudit.db")


class DatabaseError(Exception):
    """The audit database could not be opened or migrated."""


def database_url(url: str | None = None) -> str:
    """``--db``, else ``$GOVAUDIT_DB``, else a SQLite file under ./var/."""
    url = url or os.environ.get("GOVAUDIT_DB")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the report read while a crawl writes; the busy timeout rides out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def masked_url(url: str) -> str:
    """The URL as it may be printed or logged: a password in it becomes ***."""
    if "@" not in url:  # nearly every URL and anchor: no password to hide
        return url
    return _PASSWORD_IN_URL.sub(r"\1***@", url)


# The password runs to the last "@" before the path (an unescaped "@" in it is still a password).
_PASSWORD_IN_URL = re.compile(r"(://[^/:@?#\s]*:)[^/?#\s]*@")


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    try:
        parsed = make_url(url)
        parsed.get_dialect()  # an unknown driver is refused here, with the others
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseError(f"not a database URL: {masked_url(url)!r} ({masked_url(str(exc))})") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database.removeprefix("file:")).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the folder of the audit database {parsed.database}: "
                                    f"{exc.strerror or exc}") from None
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or migrate the schema to the newest revision."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except Exception as exc:  # noqa: BLE001 - any driver error means the same to the user
        raise DatabaseError(f"cannot open the audit database {engine.url.render_as_string()}: {exc}") from exc


def open_database(url: str | None = None) -> sessionmaker[Session]:
    engine = make_engine(url)
    upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
