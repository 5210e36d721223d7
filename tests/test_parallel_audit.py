"""A large run's audit shares its checks with a second process (checks.registry.run_checks with db_url):
the findings, their order and the check errors are those of the audit in one process."""

from __future__ import annotations

import logging

import pytest
import yaml

from checks import registry
from checks.registry import SECOND_PROCESS, run_checks
from govaudit.db import open_database
from govaudit.models import CrawlRun
from tests.conftest import audit_db_url
from tests.test_checks import FIXTURES, build_run

pytestmark = pytest.mark.db


def _failing_case(code: str) -> dict:
    """The first case of the check's fixture that expects findings."""
    cases = yaml.safe_load((FIXTURES / f"{code}.yml").read_text(encoding="utf-8"))["cases"]
    return next(case for case in cases if case["expect"])


def _as_rows(findings) -> list[tuple]:
    return [(f.check, f.url, f.key, f.severity, f.message, f.column, f.unit, f.evidence) for f in findings]


def _committed_run(tmp_path, name: str, case: dict):
    url = audit_db_url(tmp_path / name)
    factory = open_database(url)
    with factory.begin() as session:
        run, site = build_run(session, case)
        run_id = run.id
    return factory, url, run_id, site


@pytest.mark.parametrize("code", sorted(SECOND_PROCESS))
def test_a_second_process_finds_what_one_process_finds(tmp_path, monkeypatch, caplog, code):
    factory, url, run_id, site = _committed_run(tmp_path, code, _failing_case(code))
    with factory() as session, caplog.at_level(logging.WARNING, logger="checks.registry"):
        run = session.get(CrawlRun, run_id)
        alone, alone_errors = run_checks(session, run, site)
        monkeypatch.setattr(registry, "PARALLEL_PAGES", 0)
        shared, shared_errors = run_checks(session, run, site, db_url=url)

    assert any(f.check == code for f in alone)  # the case is one the check fails
    assert _as_rows(shared) == _as_rows(alone)
    assert shared_errors == alone_errors == []
    assert "second audit process" not in caplog.text  # its share was found there, not here again


def test_a_small_run_stays_in_one_process(tmp_path, monkeypatch):
    factory, url, run_id, site = _committed_run(tmp_path, "small", _failing_case("SC02"))

    def no_second_process(*args, **kwargs):
        raise AssertionError("a second process was started for a run of a few pages")

    monkeypatch.setattr(registry, "_run_in_second_process", no_second_process)
    with factory() as session:
        findings, errors = run_checks(session, session.get(CrawlRun, run_id), site, db_url=url)

    assert errors == [] and any(f.check == "SC02" for f in findings)


def test_when_the_second_process_fails_its_checks_run_here(tmp_path, monkeypatch, caplog):
    factory, url, run_id, site = _committed_run(tmp_path, "fails", _failing_case("SC02"))
    empty = audit_db_url(tmp_path / "empty")
    open_database(empty)  # a database without this run: the second process cannot find it
    monkeypatch.setattr(registry, "PARALLEL_PAGES", 0)
    with factory() as session, caplog.at_level(logging.WARNING, logger="checks.registry"):
        run = session.get(CrawlRun, run_id)
        findings, errors = run_checks(session, run, site, db_url=empty)
        alone, _ = run_checks(session, run, site)

    assert "the second audit process failed" in caplog.text and site.id in caplog.text
    assert _as_rows(findings) == _as_rows(alone) and errors == []
    assert any(f.check == "SC02" for f in findings)
