"""Findings of the content safety (SC) and site identity (ID) checks in the HTML report and the
rectification lists, with the real check registry: grouped by check, evidence labelled, crawled text
escaped, SC02/SC03 judged on the 单项否决 scorecard."""

from __future__ import annotations

import re

from openpyxl import load_workbook

from govaudit.findings import select_runs
from govaudit.models import AuditRun, Site
from reports.export import export_rectification
from reports.html import render_report
from tests.report_data import AS_OF, COUNTY, HOME, add_finding, add_run, open_session


def build(tmp_path):
    session = open_session(tmp_path)
    session.add(Site(id=COUNTY, name="兴国县人民政府", url=HOME, unit="县政府办公室", kind="government"))
    audit = AuditRun(as_of=AS_OF, status="completed")
    session.add(audit)
    session.flush()
    run = add_run(session, audit, COUNTY, stats={"pages": 40})
    add_finding(session, run, "SC01", "major", "new", "页面公开了未脱敏的个人信息（身份证号1个），应作去标识化处理",
                url=f"{HOME}rsxx/1.html", unit="县人社局", column="人事信息",
                evidence={"count": 1, "kinds": {"身份证号": 1}, "examples": ["身份证号 3607**********3410"]})
    add_finding(session, run, "SC03", "veto", "new",
                "页面存在隐藏的外部链接（暗链）“<script>alert(1)</script>”：http://bet.example/",
                evidence={"target": "http://bet.example/", "anchor": "<script>alert(1)</script>",
                          "hidden": "position:absolute;left:-9999px on div", "found_on": [HOME], "found_on_count": 1})
    add_finding(session, run, "ID02", "minor", "new", "40个页面中有14个缺少规定的页面元数据：PubDate（14页）",
                evidence={"pages_checked": 40, "pages_lacking": 14, "by_tag": {"PubDate": 14},
                          "examples": [f"{HOME}art/1.html 缺少 PubDate"]})
    session.commit()
    return session


def test_report_groups_sc_and_id_findings_by_check_with_labelled_evidence_and_escaped_text(tmp_path):
    session = build(tmp_path)
    page = render_report(session, select_runs(session), tmp_path / "out").read_text(encoding="utf-8")

    for title in ("泄露个人信息（SC01）", "暗链（SC03）", "页面元数据缺失（ID02）"):
        assert title in page
    assert "3607**********3410" in page and "360721199605123410" not in page
    assert "隐藏方式" in page and "缺少元数据页面数" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # SC03 is a 单项否决 item the registry now runs: its veto finding fails the site; SC02 passes.
    scorecard = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "SC02 严重表述错误 通过 未发现问题" in scorecard
    assert "SC03 暗链 不合格 单项否决问题 1 项" in scorecard
    assert "结论： 单项否决不合格" in scorecard
    session.close()


def test_rectification_lists_carry_sc_and_id_findings_with_their_check_and_source(tmp_path):
    session = build(tmp_path)
    paths = export_rectification(session, select_runs(session), tmp_path / "lists", "xlsx")

    rows = {}
    for path in paths:
        for row in list(load_workbook(path).active.iter_rows(values_only=True))[1:]:
            rows[row[3]] = row
    assert set(rows) == {"泄露个人信息（SC01）", "暗链（SC03）", "页面元数据缺失（ID02）"}
    assert rows["泄露个人信息（SC01）"][2] == "人事信息"
    assert "政务公开" in rows["泄露个人信息（SC01）"][6]
    assert "政府网站与政务新媒体检查指标" in rows["暗链（SC03）"][6]
    assert "政府网站发展指引" in rows["页面元数据缺失（ID02）"][6]
    session.close()
