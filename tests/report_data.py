"""Rows for the report and export tests: two sites, two audit runs, findings in every lifecycle state."""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import types
from pathlib import Path

from sqlalchemy.orm import Session

from govaudit.db import open_database
from govaudit.models import AuditRun, CrawlRun, FindingRecord, Site
from tests.conftest import audit_db_url

COUNTY = "xingguo-county"
EDU = "xingguo-edu"
HOME = "https://www.xingguo.gov.cn/"
FIRST_AS_OF = dt.date(2024, 6, 1)
AS_OF = dt.date(2024, 6, 30)

SOURCES = {
    "IND": "《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）",
    "PLAN": "政务公开工作要点",
    "GUIDE": "《政府网站发展指引》（国办发〔2017〕47号）",
}
CHECK_NAMES = {
    "AV01": ("网站无法访问", "veto", "IND"),
    "AV02": ("首页链接不可用", "major", "IND"),
    "AV03": ("其他页面链接不可用", "major", "IND"),
    "UP01": ("首页不更新", "veto", "IND"),
    "UP02": ("动态要闻类栏目不更新", "major", "IND"),
    "UP03": ("栏目长期未更新", "major", "IND"),
    "UP04": ("空白栏目", "major", "IND, PLAN"),
    "MD04": ("缺少必要公开要素", "minor", "GUIDE"),
}


def fake_registry() -> types.ModuleType:
    """A stand-in for checks.registry with the interface reports rely on (IN01 NM01 SC02 SC03 absent)."""
    module = types.ModuleType("checks.registry")
    checks = {
        code: type(code, (), {"code": code, "name": name, "severity": sev, "source": src, "family": code[:2]})
        for code, (name, sev, src) in CHECK_NAMES.items()
    }
    module.all_checks = lambda: dict(checks)
    module.SOURCES = SOURCES
    return module


def install_fake_registry(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "checks.registry", fake_registry())


def open_session(tmp_path: Path) -> Session:
    return open_database(audit_db_url(tmp_path))()


def fingerprint_of(check: str, url: str, column: str | None) -> str:
    """Stable per check, URL and column, and as long as the real ones (the column holds 40 characters:
    PostgreSQL refuses more, where SQLite would store anything)."""
    return hashlib.sha1(f"{check}-{url}-{column}".encode()).hexdigest()[:24]


def add_finding(session: Session, run: CrawlRun, check: str, severity: str, status: str, message: str,
                url: str = HOME, unit: str | None = None, column: str | None = None,
                evidence: dict | None = None, first_seen: dt.date | None = None,
                waived_until: dt.date | None = None) -> FindingRecord:
    seen = dt.datetime.combine(first_seen or run.as_of, dt.time(9, 30))
    rec = FindingRecord(
        crawl_run_id=run.id, site_id=run.site_id, check=check, severity=severity, unit=unit, column=column,
        url=url, message=message, evidence=evidence or {}, fingerprint=fingerprint_of(check, url, column),
        status=status, first_seen=seen, last_seen=dt.datetime.combine(run.as_of, dt.time(9, 30)),
        deadline=seen.date() + dt.timedelta(days=14),  # an open finding keeps its first deadline
        waived_until=waived_until, waiver_reason="栏目已撤销，待删除" if waived_until else None,
    )
    session.add(rec)
    session.flush()
    return rec


def add_run(session: Session, audit: AuditRun, site_id: str, status: str = "completed",
            stats: dict | None = None) -> CrawlRun:
    run = CrawlRun(audit_run_id=audit.id, site_id=site_id, as_of=audit.as_of, status=status, stats=stats,
                   started_at=dt.datetime.combine(audit.as_of, dt.time(9)))
    session.add(run)
    session.flush()
    return run


def build_two_runs(session: Session) -> dict[str, CrawlRun]:
    """The county fails on a veto item (blank column); the education bureau passes."""
    session.add_all([
        Site(id=COUNTY, name="兴国县人民政府", url=HOME, unit="县政府办公室", kind="government"),
        Site(id=EDU, name="兴国县教育局", url="https://jyj.xingguo.gov.cn/", unit="县教育局"),
    ])
    first = AuditRun(as_of=FIRST_AS_OF, status="completed")
    second = AuditRun(as_of=AS_OF, status="completed")
    session.add_all([first, second])
    session.flush()

    old_county = add_run(session, first, COUNTY)
    add_finding(session, old_county, "AV02", "major", "new", "首页链接不可用：https://www.xingguo.gov.cn/old.html",
                url="https://www.xingguo.gov.cn/old.html", unit="县政府办公室")
    add_finding(session, old_county, "MD04", "minor", "new", "文件缺少成文日期", unit="县政府办公室",
                url="https://www.xingguo.gov.cn/zc/1.html", column="政策文件")
    add_run(session, first, EDU)

    county = add_run(session, second, COUNTY, stats={"pages": 120, "errors": 3, "duration": 75.2})
    add_finding(session, county, "UP04", "veto", "new", "栏目“通知公告”没有任何信息（空白栏目），应发布信息或撤销栏目",
                url="https://www.xingguo.gov.cn/tzgg/", unit="县政府办公室", column="通知公告",
                evidence={"placeholder": "暂无信息", "escalated": "空白栏目 5 个，达到单项否决",
                          "found_on": [f"https://www.xingguo.gov.cn/p{i}.html" for i in range(15)]})
    add_finding(session, county, "MD04", "minor", "open", "文件缺少成文日期", unit="县政府办公室",
                url="https://www.xingguo.gov.cn/zc/1.html", column="政策文件", first_seen=FIRST_AS_OF)
    add_finding(session, county, "AV02", "major", "resolved", "首页链接不可用：https://www.xingguo.gov.cn/old.html",
                url="https://www.xingguo.gov.cn/old.html", unit="县政府办公室", first_seen=FIRST_AS_OF)
    add_finding(session, county, "AV03", "minor", "new", "链接不可用：https://www.xingguo.gov.cn/gone.html",
                url="https://www.xingguo.gov.cn/gone.html")
    edu = add_run(session, second, EDU)
    add_finding(session, edu, "UP02", "major", "new", "栏目“教育动态”已 30 天未更新，应至少每 14 天更新",
                url="https://jyj.xingguo.gov.cn/jydt/", unit="县教育局/办公室", column="教育动态")
    session.commit()
    return {"county": county, "edu": edu, "old_county": old_county}


def night_counts(night: int) -> dict[str, int]:
    """The pending findings planted on night ``night`` (1-based) by ``build_nights``, by severity."""
    return {"veto": night % 3, "major": night % 4 + 1, "minor": 2, "info": night % 2}


def build_nights(session: Session, nights: int, start: dt.date = FIRST_AS_OF) -> list[CrawlRun]:
    """The county crawled every night from ``start``: ``night_counts`` pending findings a night, plus
    one resolved and one waived finding (never pending) and one whose waiver has lapsed (pending, minor).
    A failed crawl on the 3rd night is not a completed run. Returns the completed runs, oldest first."""
    session.add(Site(id=COUNTY, name="兴国县人民政府", url=HOME, unit="县政府办公室", kind="government"))
    runs = []
    for night in range(1, nights + 1):
        audit = AuditRun(as_of=start + dt.timedelta(days=night - 1), status="completed")
        session.add(audit)
        session.flush()
        if night == 3:
            failed = add_run(session, audit, COUNTY, status="failed")
            add_finding(session, failed, "AV01", "veto", "new", "首页无法访问")
        run = add_run(session, audit, COUNTY, stats={"pages": 100 + night})
        for severity, count in night_counts(night).items():
            for k in range(count - (severity == "minor")):  # the lapsed waiver is one of the minor ones
                add_finding(session, run, "UP03", severity, "open", f"栏目未更新 {k}", url=f"{HOME}{severity}/{k}/")
        add_finding(session, run, "MD04", "minor", "open", "文件缺少成文日期（豁免已过期）", url=f"{HOME}lapsed/",
                    waived_until=run.as_of - dt.timedelta(days=1))
        add_finding(session, run, "AV02", "major", "resolved", "首页链接不可用", url=f"{HOME}old.html")
        add_finding(session, run, "UP04", "veto", "open", "空白栏目（已豁免）", url=f"{HOME}waived/",
                    waived_until=run.as_of)
        runs.append(run)
    session.commit()
    return runs
