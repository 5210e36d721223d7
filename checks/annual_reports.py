"""AR — 政府信息公开工作年度报告 (annual report): missing, incomplete, wrong sums, late, copied, and the
政府网站工作年度报表 missing from the home page.

The crawler stores every report it found (``annual_report``: pages and attachments, with their text and
tables). A report is one page with its attachments: the rows are grouped here, and the text that reads
best (the most of the six sections) stands for the report. The analysis of the text and tables is
``govaudit.annual_report`` (sections, table arithmetic, similarity).

Y is the run's year (as_of); the report every check looks at is the one for Y−1, published in Y.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import select

from checks.base import AuditContext, Check, Finding
from checks.common import fetched_ok
from govaudit.models import AnnualReport, Column, CrawlRun, Link

# The report for year Y−1 is due in Y by these dates (条例 第五十条: 每年1月31日前 for departments;
# 第四十九条/第五十条: 本级人民政府 by 3月31日).
DEPARTMENT_DEADLINE = (1, 31)
GOVERNMENT_DEADLINE = (3, 31)
MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


def month_day(value: str) -> tuple[int, int] | None:
    """``"01-20"`` -> (1, 20); None for anything that is not a real month and day (29 Feb is refused:
    the deadline must exist every year)."""
    match = MONTH_DAY.match(value or "")
    if not match:
        return None
    month, day = int(match.group(1)), int(match.group(2))
    try:
        dt.date(2023, month, day)
    except ValueError:
        return None
    return month, day


def report_deadline(ctx: AuditContext, year: int) -> dt.date:
    """When the report for ``year`` is due: 31 January (department) or 31 March (site kind government) of
    the next year, or the configured ``AR01: {deadline: "MM-DD"}`` when that is earlier."""
    rule = dt.date(year + 1, *(GOVERNMENT_DEADLINE if ctx.site.kind == "government" else DEPARTMENT_DEADLINE))
    configured = month_day(ctx.threshold(AR01, "deadline"))
    if configured is not None:
        return min(rule, dt.date(year + 1, *configured))
    return rule


@dataclass
class Report:
    """One report: a page and the attachments it links (or an attachment linked directly)."""

    url: str
    title: str | None
    year: int | None
    published: dt.date | None
    first_seen: dt.date | None
    rows: list[AnnualReport] = field(default_factory=list)
    text: str | None = None
    tables: list = field(default_factory=list)
    source: str | None = None  # the row whose text stands for the report
    sections: dict[str, str | None] = field(default_factory=dict)
    readable: bool = True
    error: str | None = None

    @property
    def found(self) -> int:
        return sum(1 for value in self.sections.values() if value is not None)


def _reports(ctx: AuditContext, kind: str = "information") -> list[Report]:
    from govaudit.annual_report import find_sections

    rows = [r for r in ctx.session.scalars(select(AnnualReport).where(
        AnnualReport.crawl_run_id == ctx.run.id, AnnualReport.kind == kind).order_by(AnnualReport.id))]
    pages = {r.url for r in rows if r.format == "html"}
    groups: dict[str, Report] = {}
    for row in rows:
        key = row.page_url if row.format != "html" and row.page_url in pages else row.url
        report = groups.get(key)
        if report is None:
            report = groups[key] = Report(url=key, title=row.title, year=row.year, published=row.published,
                                          first_seen=row.first_seen)
        if row.format == "html":  # the page's own title and date stand for the report
            report.title, report.published = row.title or report.title, row.published or report.published
            report.year = row.year or report.year
        report.year = report.year or row.year
        report.published = report.published or row.published
        report.rows.append(row)
    for report in groups.values():
        best: tuple[int, int] | None = None
        for row in report.rows:
            if not row.readable or not row.text:
                continue
            sections = find_sections(row.text)
            score = (sum(1 for value in sections.values() if value is not None), len(row.text))
            if best is None or score > best:
                best = score
                report.text, report.source, report.sections = row.text, row.url, sections
                report.tables = row.tables or []
        if not report.tables:
            report.tables = next((row.tables for row in report.rows if row.readable and row.tables), [])
        unreadable = [row for row in report.rows if not row.readable]
        if best is None or (best[0] == 0 and unreadable):
            # Nothing to read, or only the page that links a file that could not be read.
            report.readable = False
            report.error = (unreadable[0].error if unreadable else None) or "没有可读取的正文"
            report.source = unreadable[0].url if unreadable else report.url
    return list(groups.values())


def _of_year(reports: list[Report], year: int) -> Report | None:
    """The report for ``year`` (the one that reads best when the site has it twice)."""
    candidates = [r for r in reports if r.year == year]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.readable, r.found, len(r.text or "")))


def _report_column(ctx: AuditContext) -> Column | None:
    columns = [c for c in ctx.columns() if c.category == "report"]
    for column in columns:
        if any(word in column.name for word in ("信息公开", "年报", "年度报告")) and "财政" not in column.name:
            return column
    return columns[0] if columns else None


def _site_readable(ctx: AuditContext) -> bool:
    """The AR checks judge a site whose home page was fetched (an unreachable site is AV01's)."""
    home = ctx.home_page()
    return home is not None and fetched_ok(home.status, home.error)


def _where(ctx: AuditContext, report: Report) -> dict[str, Any]:
    column = None
    for listing_url in {r.page_url for r in report.rows} | {report.url}:
        page = ctx.page(listing_url) if listing_url else None
        if page is not None and page.column_url:
            column = ctx.column_by_url(page.column_url)
            break
    if column is None:
        column = _report_column(ctx)
    return {"column": column.name if column else None, "unit": ctx.unit_for(column)}


def _cn(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


class AR01(Check):
    """No 政府信息公开工作年度报告 for last year after its deadline.

    Rule:
        On a run in year Y after the deadline, the site must carry the report for Y−1: a page or an
        attachment whose title is "…Y−1年…政府信息公开工作年度报告", anywhere on the site (report columns
        first). The deadline is 31 January of Y for a department's site and 31 March for the 本级政府
        (site ``kind: government``); ``deadline: "MM-DD"`` sets an earlier local one (a later one is
        ignored). A report that could not be read (a scan) is not missing: AR02 says so. Not judged when
        the home page could not be fetched.

    Source:
        REG 第四十九条、第五十条 — 每年1月31日前向本级政府信息公开工作主管部门提交并向社会公布；县级以上
        人民政府于每年3月31日前向社会公布本级政府上一年度政府信息公开工作年度报告.

    Bad:
        On 2026-06-15 the 信息公开年报 column of a department lists reports for 2023 and 2024 only.

    Good:
        It lists "示范局2025年政府信息公开工作年度报告", published 2026-01-20.

    Fix:
        Publish the report for last year in the 政府信息公开年报 column.
    """

    code: ClassVar[str] = "AR01"
    name: ClassVar[str] = "年度报告未发布"
    family: ClassVar[str] = "AR"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "REG"
    defaults: ClassVar[dict[str, Any]] = {"deadline": ""}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        if not _site_readable(ctx):
            return
        year = ctx.as_of.year - 1
        deadline = report_deadline(ctx, year)
        if ctx.as_of <= deadline:
            return
        reports = _reports(ctx)
        if _of_year(reports, year) is not None:
            return
        column = _report_column(ctx)
        url = column.url if column is not None else ctx.site.url
        yield self.finding(
            url, f"截至{_cn(ctx.as_of)}未发现{year}年政府信息公开工作年度报告（应于"
                 f"{_cn(deadline)}前公布）",
            column=column.name if column else None, unit=ctx.unit_for(column), key=str(year),
            evidence={"year": year, "deadline": deadline.isoformat(), "site_kind": ctx.site.kind,
                      "years_found": sorted({r.year for r in reports if r.year}),
                      "report_columns": [c.url for c in ctx.columns() if c.category == "report"]},
        )


class AR02(Check):
    """The report lacks one of the six sections of the 2021 format, or could not be read at all.

    Rule:
        The report for Y−1 must have the six parts of the 2021 format: 总体情况; 主动公开政府信息情况;
        收到和处理政府信息公开申请情况; 政府信息公开行政复议、行政诉讼情况; 存在的主要问题及改进情况;
        其他需要报告的事项 (headings numbered 一、/（一）/1./第一部分, minor wording variants accepted).
        One finding lists the missing parts. A report with no readable text (a scanned PDF with no text
        layer, a legacy DOC, a file that failed to download) is reported as unreadable, severity info,
        not as missing.

    Source:
        AR 《中华人民共和国政府信息公开工作年度报告格式》（国办公开办函〔2021〕30号）.

    Bad:
        The report ends with 五、存在的主要问题及改进情况; 六、其他需要报告的事项 is missing.

    Good:
        All six headings are present, 六、其他需要报告的事项 with the 信息处理费 line.

    Fix:
        Write the report on the 2021 template; publish it as text (HTML or a PDF with text), not a scan.
    """

    code: ClassVar[str] = "AR02"
    name: ClassVar[str] = "年度报告内容不完整"
    family: ClassVar[str] = "AR"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "AR"

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        from govaudit.annual_report import SECTIONS

        if not _site_readable(ctx):
            return
        year = ctx.as_of.year - 1
        report = _of_year(_reports(ctx), year)
        if report is None:
            return
        where = _where(ctx, report)
        if not report.readable:
            yield self.finding(
                report.url, f"{year}年政府信息公开工作年度报告无法读取（{report.error}），未能核对其内容",
                severity="info", key="unreadable", **where,
                evidence={"year": year, "title": report.title, "file": report.source, "error": report.error},
            )
            return
        missing = [name for name in SECTIONS if report.sections.get(name) is None]
        if missing:
            yield self.finding(
                report.url, f"{year}年政府信息公开工作年度报告缺少：{'、'.join(missing)}", key="sections", **where,
                evidence={"year": year, "title": report.title, "read_from": report.source, "missing": missing,
                          "found": [name for name in SECTIONS if report.sections.get(name) is not None]},
            )


class AR03(Check):
    """A table of the report disagrees with its own totals, or with last year's carry-over.

    Rule:
        The tables of the report for Y−1 are recognised by their headings (收到和处理政府信息公开申请情况,
        行政复议/行政诉讼, 主动公开) and their arithmetic verified: for every applicant column 本年新收 +
        上年结转 = 办理结果总计 + 结转下年度继续办理; the 办理结果 sub-items sum to their 总计; the
        sub-columns to their 小计 and the row totals; the 行政复议/行政诉讼 groups to their 总计. When the
        report for Y−2 is on the site too, this year's 上年结转 must equal last year's 结转下年度继续办理.
        One finding per disagreeing cell, naming the table, the cell, the equation and both sides.

    Source:
        AR 国办公开办函〔2021〕30号 附件 表格及其勾稽关系.

    Bad:
        自然人: 本年新收 12 + 上年结转 1 = 13, but 办理结果总计 10 + 结转下年度 2 = 12.

    Good:
        Both sides 13.

    Fix:
        Recount the applications and correct the table (and last year's, when the carry-over differs).
    """

    code: ClassVar[str] = "AR03"
    name: ClassVar[str] = "年度报告表格数据不一致"
    family: ClassVar[str] = "AR"
    severity: ClassVar[str] = "minor"
    source: ClassVar[str] = "AR"

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        from govaudit.annual_report import carry_over, check_arithmetic

        if not _site_readable(ctx):
            return
        year = ctx.as_of.year - 1
        reports = _reports(ctx)
        report = _of_year(reports, year)
        if report is None or not report.readable or not report.tables:
            return
        where = _where(ctx, report)
        found = [(d, False) for d in check_arithmetic(report.tables, report.text or "")]
        last = _of_year(reports, year - 1)
        if last is not None and last.readable and last.tables:
            found += [(d, True) for d in carry_over(report.tables, last.tables)]
        seen: set[str] = set()
        for disagreement, across in found:
            key = f"{disagreement.table}|{disagreement.cell}|{disagreement.equation}"
            if key in seen:
                continue
            seen.add(key)
            evidence = {"year": year, "title": report.title, "read_from": report.source,
                        "table": disagreement.table, "cell": disagreement.cell,
                        "equation": disagreement.equation, "left": disagreement.left, "right": disagreement.right}
            if across:
                evidence["last_year_report"] = last.url
            yield self.finding(
                report.url,
                f"{year}年年度报告表格“{disagreement.table}”{disagreement.cell}：{disagreement.equation}，"
                f"左边 {disagreement.left}，右边 {disagreement.right}", key=key, evidence=evidence, **where,
            )


class AR04(Check):
    """The report for last year was published after its deadline.

    Rule:
        The report for Y−1 carries a date after its deadline (AR01's: 31 January for a department,
        31 March for the 本级政府, or the configured earlier one): the 发布日期 the page shows, else the
        date its list gives. A report without any date counts as published on the day govaudit first
        saw it, but only when an earlier run after the deadline looked and did not find it.

    Source:
        REG 第四十九条、第五十条 (公布时限).

    Bad:
        A department's report for 2025 dated 2026-02-05.

    Good:
        Dated 2026-01-20; a 本级政府 report dated 2026-03-07.

    Fix:
        Publish next year's report by the deadline; do not re-date this one.
    """

    code: ClassVar[str] = "AR04"
    name: ClassVar[str] = "年度报告逾期发布"
    family: ClassVar[str] = "AR"
    severity: ClassVar[str] = "minor"
    source: ClassVar[str] = "REG"

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        if not _site_readable(ctx):
            return
        year = ctx.as_of.year - 1
        report = _of_year(_reports(ctx), year)
        if report is None:
            return
        deadline = report_deadline(ctx, year)
        published, basis = report.published, "published"
        if published is None and report.first_seen is not None:
            looked = ctx.session.scalar(select(CrawlRun.id).where(
                CrawlRun.site_id == ctx.run.site_id, CrawlRun.status == "completed",
                CrawlRun.as_of > deadline, CrawlRun.as_of < report.first_seen).limit(1))
            if looked is not None:
                published, basis = report.first_seen, "first_seen"
        if published is None or published <= deadline:
            return
        yield self.finding(
            report.url, f"{year}年政府信息公开工作年度报告于{_cn(published)}发布，晚于"
                        f"{_cn(deadline)}的时限{(published - deadline).days}天",
            key=str(year), **_where(ctx, report),
            evidence={"year": year, "title": report.title, "published": published.isoformat(), "date_from": basis,
                      "deadline": deadline.isoformat(), "days_late": (published - deadline).days},
        )


class AR05(Check):
    """Sections 一 or 五 of the report nearly copy last year's (雷同).

    Rule:
        When the reports for Y−1 and Y−2 are both on the site and readable, 一、总体情况 and
        五、存在的主要问题及改进情况 of the newer are compared with the older's; a similarity of
        ``similarity`` (default 0.9) or more, ignoring whitespace, punctuation and the years, is a finding
        per section.

    Source:
        AR 国办公开办函〔2021〕30号; REG 第四十七条 (年度报告应真实反映工作情况). Inspection notices cite
        年报内容与上年雷同.

    Bad:
        五、存在的主要问题及改进情况 of the 2025 report is the 2024 one with 2024 changed to 2025.

    Good:
        It names this year's problems and what was done about last year's.

    Fix:
        Describe this year's work and problems; say how last year's problems were addressed.
    """

    code: ClassVar[str] = "AR05"
    name: ClassVar[str] = "年度报告内容雷同"
    family: ClassVar[str] = "AR"
    severity: ClassVar[str] = "info"
    source: ClassVar[str] = "AR, REG"
    defaults: ClassVar[dict[str, Any]] = {"similarity": 0.9}
    COMPARED: ClassVar[tuple[tuple[str, str], ...]] = (("一", "总体情况"), ("五", "存在的主要问题及改进情况"))

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        from govaudit.annual_report import similarity

        if not _site_readable(ctx):
            return
        year = ctx.as_of.year - 1
        reports = _reports(ctx)
        this, last = _of_year(reports, year), _of_year(reports, year - 1)
        if this is None or last is None or not this.readable or not last.readable:
            return
        limit = float(ctx.threshold(self, "similarity"))
        for number, section in self.COMPARED:
            new, old = this.sections.get(section), last.sections.get(section)
            if not new or not old:
                continue
            score = similarity(new, old)
            if score >= limit:
                yield self.finding(
                    this.url, f"{year}年年度报告“{number}、{section}”与{year - 1}年报告雷同（相似度{score:.0%}）",
                    key=section, **_where(ctx, this),
                    evidence={"year": year, "section": section, "similarity": round(score, 3), "threshold": limit,
                              "last_year_report": last.url, "this_year": new[:300], "last_year": old[:300]},
                )


_WEBSITE_REPORT = re.compile(r"网站.{0,16}?年度(?:工作)?报表")


def mentions_website_report(text: str, year: int) -> bool:
    """Whether a text names the 政府网站工作年度报表 for ``year`` ("2025年度政府网站工作年度报表",
    "政府网站工作年度报表（2025年）")."""
    for match in _WEBSITE_REPORT.finditer(text or ""):
        around = text[max(0, match.start() - 30):match.end() + 12]
        if str(year) in around:
            return True
    return False


class AR06(Check):
    """The home page does not show last year's 政府网站工作年度报表.

    Rule:
        After ``deadline`` (default 01-31) of year Y, the home page must link or show the
        政府网站工作年度报表 for Y−1: a link whose text names it, a link to a page or file stored as that
        report, or its title in the home page's text. Not judged when the home page could not be fetched.

    Source:
        WEBREPORT 国办函〔2018〕12号 — 政府网站工作年度报表每年1月31日前通过门户网站向社会公开 (as
        《政府网站发展指引》 asks too).

    Bad:
        On 2026-06-15 the home page has no link to the 政府网站工作年度报表（2025年度）.

    Good:
        Its footer or a 公开 block links "示范县人民政府网站2025年度工作报表".

    Fix:
        Publish the 报表 and link it from the home page (e.g. in the footer).
    """

    code: ClassVar[str] = "AR06"
    name: ClassVar[str] = "网站工作年度报表未在首页公开"
    family: ClassVar[str] = "AR"
    severity: ClassVar[str] = "minor"
    source: ClassVar[str] = "WEBREPORT"
    defaults: ClassVar[dict[str, Any]] = {"deadline": "01-31"}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        home = ctx.home_page()
        if home is None or not fetched_ok(home.status, home.error):
            return
        year = ctx.as_of.year - 1
        configured = month_day(ctx.threshold(self, "deadline")) or (1, 31)
        deadline = dt.date(ctx.as_of.year, *configured)
        if ctx.as_of <= deadline:
            return
        stored = {r.url: r for r in ctx.session.scalars(select(AnnualReport).where(
            AnnualReport.crawl_run_id == ctx.run.id, AnnualReport.kind == "website"))}
        for link in ctx.links(Link.from_url == home.url):
            report = stored.get(link.to_url)
            if (report is not None and report.year == year) or mentions_website_report(link.anchor or "", year):
                return
        if mentions_website_report(home.text or "", year):
            return
        elsewhere = sorted(url for url, r in stored.items() if r.year == year)
        yield self.finding(
            home.url, f"首页未公开{year}年度政府网站工作年度报表" + ("（报表在其他页面，首页无链接）" if elsewhere else ""),
            key=str(year),
            evidence={"year": year, "deadline": deadline.isoformat(), "found_elsewhere": elsewhere[:10]},
        )


CHECKS = [AR01, AR02, AR03, AR04, AR05, AR06]
