"""Shared fixtures: the demo portal on loopback, the audit database of a test (SQLite, or a PostgreSQL
schema), and a PostgreSQL schema per test.

The audit database of the tests is SQLite in the test's tmp_path, unless ``--db postgresql`` or
``$GOVAUDIT_DB=postgresql+psycopg://…`` says PostgreSQL: then each test gets a fresh schema on that server
(``$GOVAUDIT_DB``'s, else ``$GOVAUDIT_TEST_PG``'s). Tests that open an audit database are marked ``db``
(automatically, by fixture or by module), so ``pytest -m db`` runs them again on the other database.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

# Pages' dates are relative to this day, and every check takes it as "now".
ANCHOR = dt.date(2026, 6, 15)
PG_SERVER = os.environ.get("GOVAUDIT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Modules whose tests write an audit database through helpers (module-scoped crawls included), marked
# ``db`` as a whole; tests elsewhere are marked when they use ``audit_db``. (Tests taking ``pg_url`` run
# on PostgreSQL in the first pass already.) Chosen for what differs between the databases: every check
# fixture, the migrations and batched writes, crawls of odd data (the fault matrix), the end-to-end runs,
# reports and exports, the findings lifecycle. test_crawler, test_resume and test_unseen_portals take
# ``audit_db_url`` too (the whole suite runs on PostgreSQL with $GOVAUDIT_DB) but are left out of the
# second pass: they test the crawler, signals and readers, not the database, and cost minutes.
DB_MODULES = {
    "test_checks", "test_db", "test_end_to_end", "test_export", "test_faults_markup", "test_faults_network",
    "test_lifecycle", "test_reports", "test_content_identity_report", "test_targets",
}
_BACKEND: list[str] = []


def pytest_addoption(parser):
    parser.addoption("--db", choices=("sqlite", "postgresql"), default=None,
                     help="the audit database of the tests (default: $GOVAUDIT_DB's kind, else sqlite)")


def pytest_configure(config):
    config.addinivalue_line("markers", "db: the test writes an audit database (run again with -m db on "
                                       "PostgreSQL by `make test`)")
    choice = config.getoption("--db")
    if choice is None:
        choice = "postgresql" if os.environ.get("GOVAUDIT_DB", "").startswith("postgresql") else "sqlite"
    _BACKEND[:] = [choice]


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in DB_MODULES or "audit_db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def on_postgresql() -> bool:
    return _BACKEND == ["postgresql"]


def _pg_server() -> str:
    """``$GOVAUDIT_DB`` when it names a PostgreSQL server (the whole suite run against it), else
    ``$GOVAUDIT_TEST_PG`` (``make test``'s second pass: ``--db postgresql``)."""
    url = os.environ.get("GOVAUDIT_DB", "")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url.split("?")[0] if url.startswith("postgresql") else PG_SERVER


_SCHEMAS: dict[str, str] = {}  # tmp_path -> the URL of its schema


def audit_db_url(tmp_path) -> str:
    """The audit database of the test owning ``tmp_path``: ``sqlite:///<tmp_path>/audit.db``, or on
    PostgreSQL a fresh schema (the same one for the same tmp_path; dropped at the end of the session)."""
    if not on_postgresql():
        return f"sqlite:///{tmp_path}/audit.db"
    key = str(tmp_path)
    if key not in _SCHEMAS:
        _SCHEMAS[key] = _create_schema(_pg_server())
    return _SCHEMAS[key]


def _create_schema(server: str) -> str:
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true" or on_postgresql():
            pytest.fail(f"PostgreSQL at {server} is required: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {server}: {exc}")
    finally:
        engine.dispose()
    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options=-csearch_path%3D{schema}"


def _drop_schema(url: str) -> None:
    from sqlalchemy import create_engine, text

    server, _, query = url.partition("?")
    schema = query.rsplit("%3D", 1)[-1]
    engine = create_engine(server)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def pytest_sessionfinish(session, exitstatus):
    for url in _SCHEMAS.values():
        try:
            _drop_schema(url)
        except Exception:  # noqa: BLE001 - a schema left behind is harmless; the run's result stands
            pass
    _SCHEMAS.clear()


@pytest.fixture
def audit_db(tmp_path) -> str:
    """The audit database URL of this test (see the module's docstring)."""
    return audit_db_url(tmp_path)


@pytest.fixture
def demo_portal():
    from demo.server import serve_demo

    with serve_demo(anchor=ANCHOR) as portal:
        yield portal


@pytest.fixture
def pg_url():
    """A fresh schema on the PostgreSQL server; in CI an unreachable server fails the test."""
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_SERVER)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        engine.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_SERVER} is required in CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}: {exc}")
    yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def chromium():
    """Debian's Chromium; in CI a missing browser fails the test (CI installs it)."""
    from govaudit.browser import chromium_path

    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI: .ci/run installs Debian's 'chromium'")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    return path
