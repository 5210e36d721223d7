"""UP — updates and columns (信息更新): stale home page and columns, blank and unreachable columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import func, select

from checks.base import AuditContext, Check, Finding
from checks.common import fetched_ok, home_urls, outcome, same_url, url_key
from govaudit.models import Column, Listing

# Categories whose UP03 findings count together with UP02 towards the veto (CHECKS.md UP02).
ESCALATING_CATEGORIES = ("notice", "policy")
CATEGORY_LABELS = {
    "news": "动态要闻类", "notice": "通知公告类", "policy": "政策文件类", "personnel": "人事信息类",
    "plan": "规划计划类", "report": "报告类",
}


def column_unreachable(ctx: AuditContext, column: Column) -> str | None:
    """Why a column's first page is unusable (UP05), or None: an error, or a redirect to the home page."""
    if column.error or (column.status is not None and column.status >= 400):
        return outcome(column.status, column.error)
    home = ctx.site.url
    if column.final_url and not same_url(column.url, home) and same_url(column.final_url, home):
        return "跳转到首页"
    return None


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


class UP01(Check):
    """The home page carries nothing new in the last two weeks.

    Rule:
        Only when the home page was fetched: the newest date among the home page's own dated entries
        must be within ``days`` (default 14) before the run. A home page with no dated entry at all
        (a portal of links) is judged by the newest entry of the site's columns. No date found
        anywhere is reported too, with ``newest`` null.

    Source:
        IND 单项否决 — 首页栏目信息更新：监测时间点前 2 周内无更新.

    Bad:
        On 2025-06-30 the newest entry on the home page is dated 2025-06-10 (20 days).

    Good:
        The home page shows an entry dated 2025-06-25.

    Fix:
        Publish on the home page at least every two weeks; make sure its lists show dates.
    """

    code: ClassVar[str] = "UP01"
    name: ClassVar[str] = "首页不更新"
    family: ClassVar[str] = "UP"
    severity: ClassVar[str] = "veto"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {"days": 14}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        home = ctx.home_page()
        if home is None or not fetched_ok(home.status, home.error):
            return
        homes = {url_key(u) for u in home_urls(ctx)}
        own, others = [], []
        for listing in ctx.iter_listings(columns=("column_url", "date")):
            if listing.date is not None:
                (own if url_key(listing.column_url) in homes else others).append(listing.date)
        basis = "home" if own else "columns"
        dates = own or others
        days = ctx.threshold(UP01, "days")
        evidence: dict[str, Any] = {"as_of": ctx.as_of.isoformat(), "days": days, "basis": basis}
        if not dates:
            evidence["newest"] = None
            yield self.finding(ctx.site.url,
                               f"首页及各栏目均未找到带日期的信息，无法确认首页在 {days} 天内有更新", evidence=evidence)
            return
        newest = max(dates)
        age = (ctx.as_of - newest).days
        if age <= days:
            return
        evidence.update(newest=newest.isoformat(), age_days=age)
        where = "首页" if basis == "home" else "首页无带日期信息，其下各栏目"
        yield self.finding(
            ctx.site.url,
            f"{where}已 {age} 天未更新（最近一条 {newest.isoformat()}），首页应至少每 {days} 天更新",
            evidence=evidence,
        )


@dataclass(eq=False)
class _Stale:
    check: str
    column: Column
    newest: dt.date | None
    limit: int
    entries: int


def _stale_columns(ctx: AuditContext) -> list[_Stale]:
    """UP02 and UP03 candidates together: the veto escalation counts both checks' findings."""
    stale: list[_Stale] = []
    # Each column's newest entry, in one grouped query (not every listing of the site as a row).
    newest_of = dict(ctx.session.execute(
        select(Listing.column_url, func.max(Listing.date))
        .where(Listing.crawl_run_id == ctx.run.id, Listing.date.is_not(None)).group_by(Listing.column_url)).all())
    for column in ctx.columns():
        if column.entries <= 0 or column_unreachable(ctx, column):
            continue
        newest = newest_of.get(column.url)
        if column.category == "news":
            limit = ctx.threshold(UP02, "days", column)
            if newest is None or (ctx.as_of - newest).days > limit:
                stale.append(_Stale("UP02", column, newest, limit, column.entries))
        key = f"{column.category}_days"
        if key in UP03.defaults and newest is not None:
            limit = ctx.threshold(UP03, key, column)
            if (ctx.as_of - newest).days > limit:
                stale.append(_Stale("UP03", column, newest, limit, column.entries))
    return stale


def _stale_findings(ctx: AuditContext, check: Check) -> Iterator[Finding]:
    stale = _stale_columns(ctx)
    combined = [s for s in stale if s.check == "UP02" or s.column.category in ESCALATING_CATEGORIES]
    up03 = [s for s in stale if s.check == "UP03"]
    combined_veto = ctx.threshold(UP02, "veto_count")
    up03_veto = ctx.threshold(UP03, "veto_count")
    for item in stale:
        if item.check != check.code:
            continue
        reasons = []
        if len(combined) >= combined_veto and item in combined:
            reasons.append(f"动态要闻类和通知公告、政策文件类栏目长期未更新共 {len(combined)} 个（≥{combined_veto}）")
        if item.check == "UP03" and len(up03) >= up03_veto:
            reasons.append(f"应更新而长期未更新的栏目共 {len(up03)} 个（≥{up03_veto}）")
        column = item.column
        evidence: dict[str, Any] = {
            "category": column.category, "newest": _iso(item.newest), "days": item.limit,
            "entries": item.entries, "as_of": ctx.as_of.isoformat(),
        }
        if item.newest is None:
            message = (f"栏目“{column.name}”有 {item.entries} 条信息但均无日期，"
                       f"无法确认 {item.limit} 天内有更新")
        else:
            age = (ctx.as_of - item.newest).days
            evidence["age_days"] = age
            message = (f"栏目“{column.name}”已 {age} 天未更新（最近一条 {item.newest.isoformat()}），"
                       f"应至少每 {item.limit} 天更新")
        severity = check.severity
        if reasons:
            evidence["escalated"] = "；".join(reasons)
            severity = "veto"
            message += f"（单项否决：{evidence['escalated']}）"
        yield check.finding(column.url, message, severity=severity, evidence=evidence,
                            column=column.name, unit=ctx.unit_for(column))


class UP02(Check):
    """A news column (动态、要闻) has no new entry in the last two weeks.

    Rule:
        A column of category ``news`` with entries whose newest dated entry is more than ``days``
        (default 14) before the run, or none of whose entries carries a date (an undated entry
        counts as no update). When the UP02 findings plus the UP03 findings on notice/policy columns
        reach ``veto_count`` (default 5) on a site, they all become ``veto``. Columns that fail or
        redirect to the home page are left to UP05.

    Source:
        IND 动态、要闻类栏目 2 周内无更新 deducts points; with 通知公告、政策文件类 columns not updated
        in 6 months, 5 or more such columns are a 单项否决 item.

    Bad:
        On 2025-06-30 the column “工作动态” shows 2025-06-01 as its newest entry.

    Good:
        “工作动态” shows an entry dated 2025-06-26.

    Fix:
        Publish news at least every two weeks, with a date on every entry; merge or close a column
        that has nothing to say.
    """

    code: ClassVar[str] = "UP02"
    name: ClassVar[str] = "动态要闻栏目不更新"
    family: ClassVar[str] = "UP"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {"days": 14, "veto_count": 5}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        yield from _stale_findings(ctx, self)


class UP03(Check):
    """A column that should be kept up to date has not been updated for months.

    Rule:
        A column with entries whose newest dated entry is older than its category's limit:
        ``notice_days`` and ``policy_days`` 180, ``personnel_days``, ``plan_days`` and
        ``report_days`` 365; other categories are not checked, nor columns none of whose entries
        carries a date. Escalation to ``veto``: when UP02 plus the notice/policy UP03 findings reach
        UP02's ``veto_count`` (5), those findings; when the UP03 findings reach ``veto_count`` (10),
        all of them. Columns that fail or redirect to the home page are left to UP05.

    Source:
        IND 应更新但长期未更新的栏目: 通知公告、政策文件类 6 个月, 人事、规划计划类 12 个月 deduct
        points; 10 or more such columns are a 单项否决 item.

    Bad:
        On 2025-06-30 “通知公告” shows 2024-11-20 as its newest entry (222 days).

    Good:
        “通知公告” shows an entry dated 2025-05-06.

    Fix:
        Update the column, or close it and remove it from the navigation if it is no longer used.
    """

    code: ClassVar[str] = "UP03"
    name: ClassVar[str] = "栏目长期未更新"
    family: ClassVar[str] = "UP"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {
        "notice_days": 180, "policy_days": 180, "personnel_days": 365, "plan_days": 365,
        "report_days": 365, "veto_count": 10,
    }

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        yield from _stale_findings(ctx, self)


class UP04(Check):
    """A column that has never carried any information (空白栏目).

    Rule:
        A column whose first page opens (status below 400, not redirected to the home page), that is
        neither a pure navigation node nor a single page of text (机构职能, 公开指南), and that has no
        entry over all its list pages. A "暂无信息"-like
        placeholder is quoted in the evidence. ``veto_count`` (default 5) or more on a site make all
        of them ``veto``.

    Source:
        IND 空白栏目 deducts points, 5 or more are a 单项否决 item; the yearly 工作要点 ask to clear them.

    Bad:
        The column “政策解读” opens but its list is empty and shows “暂无信息”.

    Good:
        “政策解读” lists its documents; a column with nothing to publish is removed from the site.

    Fix:
        Publish the column's information, or remove the column and its navigation entries.
    """

    code: ClassVar[str] = "UP04"
    name: ClassVar[str] = "空白栏目"
    family: ClassVar[str] = "UP"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "IND, PLAN"
    defaults: ClassVar[dict[str, Any]] = {"veto_count": 5}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        blank = [
            column for column in ctx.columns()
            if fetched_ok(column.status, column.error) and not column_unreachable(ctx, column)
            and not column.nav_only and not column.single_page and column.entries == 0
        ]
        veto_count = ctx.threshold(UP04, "veto_count")
        escalate = len(blank) >= veto_count
        for column in blank:
            evidence: dict[str, Any] = {"placeholder": column.placeholder, "list_pages": column.list_pages}
            shown = f"，页面显示“{column.placeholder}”" if column.placeholder else ""
            message = f"栏目“{column.name}”为空白栏目（无任何信息{shown}），栏目应有内容或予以撤销"
            severity = self.severity
            if escalate:
                evidence["escalated"] = f"空白栏目共 {len(blank)} 个（≥{veto_count}）"
                severity = "veto"
                message += f"（单项否决：{evidence['escalated']}）"
            yield self.finding(column.url, message, severity=severity, evidence=evidence,
                               column=column.name, unit=ctx.unit_for(column))


class UP05(Check):
    """A column's page fails or sends the visitor back to the home page.

    Rule:
        A configured or navigation column whose first page answers 400 or more, gives no response,
        or is redirected to the site's home page (compared with a trailing slash ignored). UP02,
        UP03 and UP04 never report such a column.

    Source:
        IND 栏目不可用 — a column that cannot be opened counts as unusable.

    Bad:
        The navigation entry “信息公开” leads to ``/xxgk/`` which answers ``HTTP 404``, or redirects
        to ``/``.

    Good:
        ``/xxgk/`` opens the column's list.

    Fix:
        Restore the column's page, or remove the navigation entry that leads to it.
    """

    code: ClassVar[str] = "UP05"
    name: ClassVar[str] = "栏目不可访问"
    family: ClassVar[str] = "UP"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        for column in ctx.columns():
            reason = column_unreachable(ctx, column)
            if reason is None:
                continue
            if reason == "跳转到首页":
                message = f"栏目“{column.name}”打开后跳转到首页（{column.final_url}），栏目应可正常访问"
            else:
                message = f"栏目“{column.name}”无法访问（{reason}），栏目应可正常访问"
            yield self.finding(
                column.url, message, column=column.name, unit=ctx.unit_for(column),
                evidence={"status": column.status, "error": column.error, "final_url": column.final_url,
                          "source": column.source},
            )


CHECKS = [UP01, UP02, UP03, UP04, UP05]
