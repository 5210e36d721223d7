"""The HTML findings report: ``index.html`` (per site: scorecard, trend chart, findings) and
``changes.html`` (what changed since each site's previous completed run). Both are self-contained
(inline CSS and SVG, no scripts, no external assets).

Everything shown that came from a crawl (titles, URLs, messages, evidence) is untrusted: the Jinja2
environment escapes every expression, a URL becomes a link only when it is plain http(s), and
bidirectional and other control characters are shown as ``[U+202E]`` instead of being obeyed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from govaudit.findings import SEVERITY_ORDER, is_overdue, is_waived, previous_run, run_findings
from govaudit.models import AnnualReport, CrawlRun, FindingRecord, Site
from reports.common import (
    SEVERITY_LABELS,
    STATUS_LABELS,
    VETO_CHECKS,
    atomic_path,
    check_info,
    registered_codes,
    save_screenshots,
    unit_label,
)
from reports.trends import SEVERITIES, TREND_RUNS, Chart, RunCounts, severity_history, trend_chart

TEMPLATES = Path(__file__).with_name("templates")
EVIDENCE_LIST_LIMIT = 10
SITE_WIDE_COLUMN = "全站（不属于某一栏目）"
PAGES = {"changes.html": "changes.html", "index.html": "report.html"}  # file written -> its template

# Bidi overrides/isolates/marks and C0/C1 controls (tab, LF and CR are ordinary whitespace in HTML).
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL_RE = re.compile(f"[{_CONTROLS}]")
_WEB_URL_RE = re.compile(rf"https?://[^\s{_CONTROLS}]+", re.IGNORECASE)
_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")

EVIDENCE_LABELS = {
    "probes": "探测次数",
    "failed": "失败次数",
    "veto_ratio": "否决比例",
    "window": "统计区间",
    "first_failure": "首次失败",
    "last_failure": "最近失败",
    "failures": "失败记录",
    "anchor": "链接文字",
    "problem": "问题",
    "kind": "链接类型",
    "category": "栏目类别",
    "source": "栏目来源",
    "has_metadata": "有公开要素表",
    "found_on": "所在页面",
    "found_on_count": "所在页面数",
    "target": "目标地址",
    "status": "HTTP 状态码",
    "error": "错误",
    "final_url": "最终地址",
    "ratio": "比例",
    "broken": "失效数",
    "total": "总数",
    "examples": "示例",
    "newest": "最近一条日期",
    "days": "天数阈值",
    "age_days": "未更新天数",
    "placeholder": "占位文字",
    "escalated": "升级为单项否决的原因",
    "missing": "缺少项",
    "index_number": "索引号",
    "written_date": "成文日期",
    "published_date": "发布日期",
    "listing_date": "列表日期",
    "validity": "有效性",
    "doc_number": "文号",
    # SC — content safety, ID — site identity
    "count": "数量",
    "kinds": "类别",
    "errors": "错误表述",
    "context": "上下文",
    "hidden": "隐藏方式",
    "footer": "页面底部文字",
    "pages_checked": "检查页面数",
    "pages_lacking": "缺少元数据页面数",
    "by_tag": "按标签统计（页）",
    "by_page_kind": "按页面类型统计（页）",
    # NM — 政务新媒体
    "platform": "平台",
    "account_status": "账号页面状态",
    "title": "标题",
    "as_of": "检查日期",
    "posts_seen": "读到的发布日期数",
    "newest_text": "最近一条的日期原文",
    "notice": "页面提示",
    # IN — interaction
    "asked": "留言时间",
    "replied": "答复时间",
    "waited_days": "已等待天数",
    "months": "答复期限（月）",
    "message_status": "办理状态",
    "board": "留言栏目",
    "page_read": "已读取留言详情页",
    "working_days_taken": "答复用时（工作日）",
    "calendar_days": "答复用时（自然日）",
    "working_days": "答复期限（工作日）",
    "reply_unit": "答复单位",
    # AR — annual reports
    "year": "报告年度",
    "deadline": "公布时限",
    "site_kind": "网站类型",
    "years_found": "已发现的报告年度",
    "report_columns": "年报栏目",
    "file": "文件",
    "read_from": "读取自",
    "found": "已有部分",
    "table": "表格",
    "cell": "单元格",
    "equation": "勾稽关系",
    "left": "等式左边",
    "right": "等式右边",
    "last_year_report": "上年报告",
    "published": "发布日期",
    "date_from": "日期来源",
    "days_late": "逾期天数",
    "section": "部分",
    "similarity": "相似度",
    "threshold": "阈值",
    "this_year": "本年内容",
    "last_year": "上年内容",
    "found_elsewhere": "报表所在页面（非首页）",
}
REPORT_KIND_LABELS = {"information": "政府信息公开工作年度报告", "website": "政府网站工作年度报表"}

_STAT_KEYS = {
    "pages": ("pages", "pages_crawled", "page_count"),
    "errors": ("errors", "error_count", "pages_failed"),
    "duration": ("duration", "duration_s", "duration_seconds", "elapsed", "elapsed_s"),
}
_STAT_LABELS = {"pages": "抓取页面数", "errors": "出错页面数", "duration": "耗时"}
# The crawler's other statistics, as an auditor names them; row counts are for developers, not shown.
_OTHER_STAT_LABELS = {"columns": "栏目数", "probes": "探测的服务与外部链接数", "robots_blocked": "robots.txt 禁止抓取数",
                      "truncated": "达到抓取上限", "capped_paths": "查询变体过多、未抓完的路径", "close_reason": "抓取结束原因", "check_errors": "检查程序出错",
                      "rendered_pages": "浏览器渲染页面数", "render_seconds": "渲染耗时（秒）",
                      "render_errors": "渲染失败数", "screenshots": "截图数", "screenshot_errors": "截图失败数",
                      "bytes_received": "接收字节数", "not_modified": "未变化页面数（304）",
                      "not_probed": "未探测的私网或非 http 链接数", "rechecked": "复查的临时故障数",
                      "recovered": "复查后恢复数", "resumed": "中断后续抓次数",
                      "reused": "未变化页面复用解析结果数", "lists_reused": "未变化列表页复用解析结果数",
                      "lists_carried": "沿用上次结果、本次未重新请求的列表页数",
                      "carried": "沿用上次结果、本次未重新请求的页面数",
                      "copied": "沿用上次结果并直接复制其数据的页面数"}
_HIDDEN_STATS = {"rows", "audit_fingerprint"}  # for developers and the next run, not auditors
RUN_STATUS_LABELS = {"running": "进行中", "crawled": "已抓取", "completed": "已完成", "failed": "失败"}
VERDICT_LABELS = {"pass": "合格", "fail": "单项否决不合格", "incomplete": "检查未完成"}


def visible_controls(text: str) -> str:
    """Show control characters instead of letting them reorder or hide the text around them."""
    return _CONTROL_RE.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def is_web_url(value: Any) -> bool:
    """Only a plain http(s) URL may become a link (no javascript:, data:, spaces or controls)."""
    return isinstance(value, str) and _WEB_URL_RE.fullmatch(value) is not None


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible_controls(value)
    return value


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests["web_url"] = is_web_url
    env.globals.update(
        SEVERITY_LABELS=SEVERITY_LABELS,
        STATUS_LABELS=STATUS_LABELS,
        VERDICT_LABELS=VERDICT_LABELS,
        RUN_STATUS_LABELS=RUN_STATUS_LABELS,
        SEVERITIES=SEVERITIES,
        unit_label=unit_label,
        REPORT_KIND_LABELS=REPORT_KIND_LABELS,
        TREND_RUNS=TREND_RUNS,
    )
    env.filters["evidence_rows"] = evidence_rows
    return env


# --- view model --------------------------------------------------------------------------------


@dataclass
class EvidenceRow:
    label: str
    key: str
    value: str | None = None  # a single value
    items: list[str] = field(default_factory=list)  # or the first items of a list
    total: int = 0  # the list's full length


def _text(value: Any) -> str:
    if value is None:
        return "无"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def evidence_rows(evidence: Any) -> list[EvidenceRow]:
    """A finding's evidence as label/value rows; lists keep their first ten items."""
    if not evidence:
        return []
    if not isinstance(evidence, dict):
        evidence = {"evidence": evidence}
    rows = []
    for key, value in evidence.items():
        key = str(key)
        if key == "screenshot":  # shown as the picture itself
            continue
        label = EVIDENCE_LABELS.get(key, key)
        if isinstance(value, list | tuple):
            items = [_text(v) for v in value[:EVIDENCE_LIST_LIMIT]]
            rows.append(EvidenceRow(label, key, items=items, total=len(value)))
        else:
            rows.append(EvidenceRow(label, key, value=_text(value)))
    return rows


def _finding_order(rec: FindingRecord) -> tuple:
    return (rec.status == "resolved", SEVERITY_ORDER.get(rec.severity, 9), rec.check, rec.url, rec.id)


def _anchor(*parts: str) -> str:
    return "-".join(_ANCHOR_UNSAFE.sub("-", p).strip("-") or "x" for p in parts)


@dataclass
class Group:
    """Findings of one check, or of one column."""

    title: str
    anchor: str
    findings: list[FindingRecord]
    code: str = ""
    source: str = ""

    @property
    def active(self) -> int:
        return sum(1 for f in self.findings if f.status != "resolved")

    @property
    def counts(self) -> Counter:
        return Counter(f.status for f in self.findings)

    @property
    def worst(self) -> int:
        active = [SEVERITY_ORDER.get(f.severity, 9) for f in self.findings if f.status != "resolved"]
        return min(active, default=10)


@dataclass
class VetoItem:
    """One 单项否决 indicator on a site's scorecard."""

    code: str
    name: str
    result: str  # fail pass unchecked
    veto: int  # unresolved veto findings
    other: int  # unresolved findings of this check below veto
    note: str = ""  # why an item was not checked, when it is not for want of the check


@dataclass
class ChangeRow:
    """One line of a site's before/after table on the changes page."""

    label: str
    severity: str | None  # set on the pending-count lines
    before: Any  # None: no previous run, or not recorded
    now: Any
    rising_is_worse: bool = True  # more pending findings or errors is bad news; more pages is not

    @property
    def delta(self) -> int | None:
        numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in (self.before, self.now))
        return self.now - self.before if numbers else None


@dataclass
class SiteReport:
    anchor: str
    run: CrawlRun
    site: Site
    previous: CrawlRun | None
    findings: list[FindingRecord]
    scorecard: list[VetoItem]
    waived: list[FindingRecord]
    by_check: list[Group]
    by_column: list[Group]
    stats: list[tuple[str, str]]
    history: list[RunCounts]  # pending findings by severity, last completed runs up to this one
    chart: Chart
    # The annual reports the crawl found (AR checks), newest year first.
    annual_reports: list[AnnualReport] = field(default_factory=list)

    @property
    def first_time(self) -> list[FindingRecord]:
        """Seen for the first time in this run (``new`` excludes ``reopened``)."""
        return [f for f in self.findings if f.status == "new"]

    @property
    def reopened(self) -> list[FindingRecord]:
        return [f for f in self.findings if f.status == "reopened"]

    @property
    def newly_overdue(self) -> list[FindingRecord]:
        """逾期 now, but not yet on the previous run's date: the deadline fell in between."""
        if self.previous is None:
            return self.overdue
        return [f for f in self.overdue if not is_overdue(f, self.previous.as_of)]

    @property
    def previous_counts(self) -> Counter | None:
        """The previous run's pending findings by severity (from the trend's query), if any."""
        if self.previous is None:
            return None
        entry = next((r for r in self.history if r.run_id == self.previous.id), None)
        return entry.counts if entry is not None else None

    @property
    def change_rows(self) -> list[ChangeRow]:
        """The site as a whole, previous run -> this run: crawl status, pages, pending counts by severity."""
        before = self.previous
        rows = [ChangeRow("抓取状态", None, RUN_STATUS_LABELS.get(before.status, before.status) if before else None,
                          RUN_STATUS_LABELS.get(self.run.status, self.run.status))]
        rows.append(ChangeRow(_STAT_LABELS["pages"], None, _stat(before, "pages"), _stat(self.run, "pages"), False))
        rows.append(ChangeRow(_STAT_LABELS["errors"], None, _stat(before, "errors"), _stat(self.run, "errors")))
        counts, now = self.previous_counts, self.severity_counts
        rows += [ChangeRow("待整改", sev, None if counts is None else counts[sev], now[sev]) for sev in SEVERITIES]
        rows.append(ChangeRow("待整改合计", None, None if counts is None else sum(counts.values()), len(self.active)))
        return rows

    @property
    def active(self) -> list[FindingRecord]:
        return [f for f in self.findings if f.status != "resolved"]

    @property
    def new(self) -> list[FindingRecord]:
        """New since the last run, including findings that were resolved once and are back."""
        return [f for f in self.findings if f.status in ("new", "reopened")]

    @property
    def overdue(self) -> list[FindingRecord]:
        return [f for f in self.findings if is_overdue(f, self.run.as_of)]

    @property
    def resolved(self) -> list[FindingRecord]:
        return [f for f in self.findings if f.status == "resolved"]

    @property
    def severity_counts(self) -> Counter:
        return Counter(f.severity for f in self.active)

    @property
    def unchecked(self) -> list[VetoItem]:
        return [item for item in self.scorecard if item.result == "unchecked"]

    @property
    def verdict(self) -> str:
        # A site whose home page failed could not be looked at: that is no pass.
        if self.run.status != "completed" or any(f.check == "AV01" for f in self.active):
            return "incomplete"
        return "fail" if any(item.result == "fail" for item in self.scorecard) else "pass"


def _scorecard(findings: Sequence[FindingRecord], known: set[str] | None,
               run: CrawlRun | None = None) -> list[VetoItem]:
    config = run.site_config if run is not None and isinstance(run.site_config, dict) else None
    items = []
    for code in VETO_CHECKS:
        active = [f for f in findings if f.check == code and f.status != "resolved"]
        veto = sum(1 for f in active if f.severity == "veto")
        note = ""
        if veto:
            result = "fail"
        elif known is not None and code not in known and not active:
            result = "unchecked"  # the registry does not run this check yet: not a pass
        elif code == "NM01" and config is not None and not config.get("new_media") and not active:
            # No account configured: nothing was looked at, which is no pass.
            result, note = "unchecked", "本站未配置政务新媒体账号（sites.yml 的 new_media），未检查"
        else:
            result = "pass"
        name = check_info(code)[0]
        items.append(VetoItem(code, VETO_CHECKS[code] if name == code else name, result, veto, len(active) - veto,
                              note))
    return items


def _by_check(anchor: str, findings: Sequence[FindingRecord]) -> list[Group]:
    groups: dict[str, list[FindingRecord]] = {}
    for rec in findings:
        groups.setdefault(rec.check, []).append(rec)
    result = []
    for code, recs in groups.items():
        name, source = check_info(code)
        title = code if name == code else f"{name}（{code}）"
        result.append(Group(title, _anchor(anchor, "check", code), sorted(recs, key=_finding_order), code, source))
    return sorted(result, key=lambda g: (g.worst, g.code))


def _by_column(anchor: str, findings: Sequence[FindingRecord]) -> list[Group]:
    groups: dict[str | None, list[FindingRecord]] = {}
    for rec in findings:
        groups.setdefault(rec.column or None, []).append(rec)
    # Site-wide findings first, then the columns by name.
    ordered = sorted(groups.items(), key=lambda item: (item[0] is not None, item[0] or ""))
    return [
        Group(column or SITE_WIDE_COLUMN, _anchor(anchor, "column", str(i)), sorted(recs, key=_finding_order))
        for i, (column, recs) in enumerate(ordered)
    ]


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return _text(seconds)
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} 小时 {minutes} 分 {secs} 秒"
    if minutes:
        return f"{minutes} 分 {secs} 秒"
    return f"{secs} 秒"


def _stat(run: CrawlRun | None, what: str) -> Any:
    """One of the crawl's statistics (``pages``, ``errors``), None when not recorded."""
    stats = run.stats if run is not None and isinstance(run.stats, dict) else {}
    key = next((k for k in _STAT_KEYS[what] if k in stats), None)
    return None if key is None else stats[key]


def _stats(run: CrawlRun) -> list[tuple[str, str]]:
    """The crawl's statistics worth showing: pages, errors, duration, then whatever else it recorded."""
    stats = dict(run.stats or {}) if isinstance(run.stats, dict) else {}
    rows = []
    for what, keys in _STAT_KEYS.items():
        key = next((k for k in keys if k in stats), None)
        if key is not None:
            value = stats.pop(key)
            rows.append((_STAT_LABELS[what], _duration(value) if what == "duration" else _text(value)))
        elif what == "duration" and run.finished_at and run.started_at:
            rows.append((_STAT_LABELS[what], _duration((run.finished_at - run.started_at).total_seconds())))
    if stats.get("close_reason") == "finished":
        stats.pop("close_reason")
    rows.extend((_OTHER_STAT_LABELS.get(str(key), str(key)), _text(value))
                for key, value in sorted(stats.items(), key=lambda kv: str(kv[0])) if key not in _HIDDEN_STATS)
    return rows


def _site_report(session: Session, index: int, run: CrawlRun, known: set[str] | None) -> SiteReport:
    every = sorted(run_findings(session, [run]), key=_finding_order)
    # A waiver in force sets its finding aside: listed, but neither counted nor sent to the unit.
    waived = [f for f in every if f.status != "resolved" and is_waived(f, run.as_of)]
    findings = [f for f in every if f not in waived]
    anchor = _anchor("site", str(index), run.site_id)
    history = severity_history(session, run)
    return SiteReport(
        anchor=anchor,
        run=run,
        site=run.site,
        previous=previous_run(session, run),
        findings=findings,
        waived=waived,
        scorecard=_scorecard(findings, known, run),
        by_check=_by_check(anchor, findings),
        by_column=_by_column(anchor, findings),
        stats=_stats(run),
        history=history,
        chart=trend_chart(history),
        annual_reports=list(session.scalars(
            select(AnnualReport).where(AnnualReport.crawl_run_id == run.id)
            .order_by(AnnualReport.kind, AnnualReport.year.desc(), AnnualReport.id))),
    )


def report_context(session: Session, runs: Sequence[CrawlRun]) -> dict[str, Any]:
    """Everything the template shows, computed once."""
    known = registered_codes()
    sites = [_site_report(session, i, run, known) for i, run in enumerate(runs, start=1)]
    active = [f for s in sites for f in s.active]
    dates: list[dt.date] = sorted({run.as_of for run in runs})
    return {
        "sites": sites,
        "dates": dates,
        "audit_runs": sorted({run.audit_run_id for run in runs}),
        "severity_totals": Counter(f.severity for f in active),
        "active_total": len(active),
        "new_total": sum(len(s.new) for s in sites),
        "resolved_total": sum(len(s.resolved) for s in sites),
        "change_totals": {
            "new": sum(len(s.first_time) for s in sites),
            "reopened": sum(len(s.reopened) for s in sites),
            "resolved": sum(len(s.resolved) for s in sites),
            "overdue": sum(len(s.newly_overdue) for s in sites),
        },
        "verdicts": Counter(s.verdict for s in sites),
        "severities": list(SEVERITY_ORDER),
    }


def render_report(session: Session, runs: list[CrawlRun], out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` and ``out_dir/changes.html`` for these crawl runs; return the
    index's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Render fully before touching the disk: a failing template never replaces an older report.
    context = report_context(session, runs)
    shots = save_screenshots(session, [f for site in context["sites"] for f in site.findings], out_dir)
    env = _environment()
    env.filters["screenshot"] = lambda evidence: shots.get((evidence or {}).get("screenshot"))
    as_of = {run.id: run.as_of for run in runs}
    env.tests["overdue"] = lambda finding: is_overdue(finding, as_of[finding.crawl_run_id])
    pages = {name: env.get_template(template).render(**context) for name, template in PAGES.items()}
    # changes.html first: index.html links to it, so it must never point at a page not yet there.
    for name in sorted(pages, key=lambda n: n == "index.html"):
        with atomic_path(out_dir / name) as tmp:
            tmp.write_text(pages[name], encoding="utf-8")
    return out_dir / "index.html"
