"""Shared fixtures: the demo portal on loopback, and a PostgreSQL schema per test."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

# Pages' dates are relative to this day, and every check takes it as "now".
ANCHOR = dt.date(2026, 6, 15)
PG_SERVER = os.environ.get("GOVAUDIT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


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
