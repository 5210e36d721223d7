"""The whole pipeline on two portals it was not built on: a TRS WCM-style county portal and a Hanweb
JCMS-style department site (GBK, charset only in <meta>), with planted defects and clean pages beside
them. The findings must be exactly tests/fixtures/portals/ground_truth.yml."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ANCHOR, audit_db_url
from tests.portal_server import UnseenPortals


@pytest.fixture(scope="module")
def portals():
    with UnseenPortals(ANCHOR) as served:
        yield served


def govaudit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govaudit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def findings(portals, tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("unseen")
    db = audit_db_url(tmp)
    config = portals.write_config(tmp / "sites.yml")
    done = govaudit("run", "--config", str(config), "--db", db, "--out", str(tmp / "out"),
                    "--as-of", ANCHOR.isoformat(), cwd=tmp)
    assert done.returncode == 0, done.stderr[-3000:]
    listed = govaudit("findings", "--db", db, "--format", "json", cwd=tmp)
    assert listed.returncode == 0, listed.stderr[-3000:]
    return json.loads(listed.stdout)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback fixture)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_fixture_serves_what_the_ground_truth_says(portals):
    truth = portals.ground_truth()
    # Documents at fault exist; the column and links reported broken are 404.
    for entry in truth:
        if entry["check"].startswith(("MD", "LK")):
            assert status_of(entry["url"]) == 200, entry
        if entry["check"] in ("UP05", "AV03") or (entry["check"] == "AV02" and portals.hosts["trs"] in entry["url"]):
            assert status_of(entry["url"]) == 404, entry
    # The department site is GBK with no charset in its Content-Type, only in a <meta http-equiv>.
    with urllib.request.urlopen(portals.url("hanweb", "/")) as response:  # noqa: S310
        assert response.headers["Content-Type"] == "text/html"
        body = response.read()
    assert b'charset=gbk"' in body and "青岚县教育体育局".encode("gbk") in body
    # TRS article URLs carry the anchor-relative publication date.
    published = ANCHOR - dt.timedelta(days=3)
    assert status_of(portals.url("trs", f"/xxgk/tzgg/{published:%Y%m}/t{published:%Y%m%d}_2011.html")) == 200


def test_run_finds_exactly_the_planted_defects(portals, findings):
    expected = Counter((g["check"], g["site"], g["url"]) for g in portals.ground_truth())
    found = Counter((f["check"], f["site"], f["url"]) for f in findings if f["status"] != "resolved")
    missed, extra = expected - found, found - expected
    assert not missed and not extra, f"missed: {sorted(missed)}\nextra: {sorted(extra)}"


def test_findings_have_the_ground_truth_severities(portals, findings):
    severities = {(g["check"], g["site"], g["url"]): g["severity"] for g in portals.ground_truth()}
    wrong = [(f["check"], f["url"], f["severity"], severities[(f["check"], f["site"], f["url"])])
             for f in findings if (f["check"], f["site"], f["url"]) in severities
             and f["severity"] != severities[(f["check"], f["site"], f["url"])]]
    assert not wrong, wrong
