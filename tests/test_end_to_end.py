"""The whole pipeline on the demo portal served on loopback, through the command line a user types."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import ANCHOR, on_postgresql

CONTRACT_KEYS = {"check", "severity", "site", "unit", "column", "url", "message", "evidence", "fingerprint",
                 "status", "first_seen", "last_seen"}


def govaudit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govaudit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def run_demo(portal, tmp_path: Path, db: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    config = portal.write_config(tmp_path / "sites.yml")
    done = govaudit("run", "--config", str(config), "--db", db, "--out", str(tmp_path / "out"),
                    "--as-of", ANCHOR.isoformat(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    listed = govaudit("findings", "--db", db, "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr[-3000:]
    return done, json.loads(listed.stdout)


def as_keys(rows) -> Counter:
    return Counter((r["check"], r["site"], r["url"]) for r in rows)


def assert_matches_ground_truth(portal, findings: list[dict]) -> None:
    expected = as_keys(portal.ground_truth())
    found = as_keys(f for f in findings if f["status"] != "resolved")
    missed = expected - found
    extra = found - expected
    assert not missed and not extra, f"missed: {sorted(missed)}\nextra: {sorted(extra)}"


def test_run_finds_exactly_the_planted_defects(demo_portal, tmp_path, chromium, audit_db):
    db = audit_db
    done, findings = run_demo(demo_portal, tmp_path, db)
    assert_matches_ground_truth(demo_portal, findings)
    severities = {(g["check"], g["url"]): g["severity"] for g in demo_portal.ground_truth() if g.get("severity")}
    for f in findings:
        if (f["check"], f["url"]) in severities:
            assert f["severity"] == severities[(f["check"], f["url"])], f

    # The findings JSON contract.
    assert findings and all(CONTRACT_KEYS <= set(f) for f in findings)
    for f in findings:
        assert f["severity"] in {"veto", "major", "minor", "info"}
        assert f["status"] == "new"
        assert isinstance(f["evidence"], dict) and f["message"] and "\n" not in f["message"]
        assert f["first_seen"].endswith("Z") and f["last_seen"].endswith("Z")

    # Blank and unreachable columns and broken service links carry a screenshot as evidence.
    for f in findings:
        if f["check"] in ("UP04", "UP05", "LK01"):
            assert isinstance(f["evidence"].get("screenshot"), int), f

    # The report and one rectification list per responsible unit, in both formats.
    out = tmp_path / "out"
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "UP04" in html and "demo-county" in html
    units = {f["unit"] or "未指定责任单位" for f in findings}
    xlsx = sorted((out / "rectification").glob("*.xlsx"))
    csvs = sorted((out / "rectification").glob("*.csv"))
    assert len(xlsx) == len(units) == len(csvs)
    sheet = openpyxl.load_workbook(xlsx[0]).active
    assert [c.value for c in sheet[1]] == ["序号", "网站", "栏目", "问题类型", "问题描述", "页面地址", "依据",
                                           "发现时间", "整改期限", "状态", "截图"]
    assert "report:" in done.stdout
    shots = sorted((out / "screenshots").glob("*.png"))
    assert shots and all(p.read_bytes().startswith(b"\x89PNG") for p in shots)


def test_a_second_run_keeps_fingerprints_and_marks_findings_open(demo_portal, tmp_path, audit_db):
    if on_postgresql():
        # Two demo runs cost the PostgreSQL pass 40 % of its time; test_lifecycle follows fingerprints
        # from night to night on PostgreSQL already, and test_run_finds_exactly… runs the demo there.
        pytest.skip("the lifecycle across runs is test_lifecycle's on PostgreSQL")
    db = audit_db
    _, first = run_demo(demo_portal, tmp_path, db)
    _, second = run_demo(demo_portal, tmp_path, db)
    assert {f["fingerprint"] for f in first} == {f["fingerprint"] for f in second}
    assert {f["status"] for f in second} == {"open"}


@pytest.mark.timeout(600)
def test_run_on_postgresql(demo_portal, tmp_path, pg_url):
    if on_postgresql():
        pytest.skip("the whole run is on PostgreSQL in this pass already")
    _, findings = run_demo(demo_portal, tmp_path, pg_url)
    assert_matches_ground_truth(demo_portal, findings)


def test_run_refuses_a_broken_config_and_names_the_line(tmp_path):
    bad = tmp_path / "sites.yml"
    bad.write_text("sites:\n  - id: x\n    name: y\n    url: not-a-url\n", encoding="utf-8")
    done = govaudit("run", "--config", str(bad), "--db", f"sqlite:///{tmp_path}/a.db", cwd=tmp_path)
    assert done.returncode == 1
    assert f"{bad}:4: sites[0].url: not an http(s) URL" in done.stderr
    validate = govaudit("sites", "validate", "--config", str(bad), cwd=tmp_path)
    assert validate.returncode == 1 and f"{bad}:4: sites[0].url" in validate.stderr


def test_findings_before_any_run_say_what_to_do(tmp_path):
    done = govaudit("findings", "--db", f"sqlite:///{tmp_path}/a.db", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1 and "govaudit run" in done.stderr
