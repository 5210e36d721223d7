"""NM — 政务新媒体: the site's configured accounts (公众号, 微博, 头条号 …), by their public pages.

The crawl fetches each account page of ``new_media`` once and stores what it showed
(``new_media_account``); these checks read that row. An account configured but with no row in the run
was not fetched (a crawl stored before accounts were read, or interrupted): NM02 says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from sqlalchemy import select

from checks.base import AuditContext, Check, Finding
from checks.common import outcome
from govaudit.config import NewMediaConfig
from govaudit.models import NewMediaAccount

NOT_HTML = "not an HTML page"  # the crawler's words for a page of another content type
PLATFORMS = {
    "wechat": "微信公众号", "weixin": "微信公众号", "weibo": "微博", "douyin": "抖音", "toutiao": "今日头条",
    "kuaishou": "快手", "bilibili": "哔哩哔哩", "channels": "微信视频号", "app": "移动客户端",
}


def account_label(account: NewMediaConfig) -> str:
    """政务新媒体账号“示范县发布”（微信公众号）"""
    return f"政务新媒体账号“{account.name}”（{PLATFORMS.get(account.platform.lower(), account.platform)}）"


def _rows(ctx: AuditContext) -> dict[str, NewMediaAccount]:
    rows = ctx.session.scalars(
        select(NewMediaAccount).where(NewMediaAccount.crawl_run_id == ctx.run.id).order_by(NewMediaAccount.id)
    )
    return {row.url: row for row in rows}


def _evidence(row: NewMediaAccount) -> dict[str, Any]:
    evidence: dict[str, Any] = {"platform": row.platform, "account_status": row.status}
    if row.final_url and row.final_url != row.url:
        evidence["final_url"] = row.final_url
    if row.title:
        evidence["title"] = row.title
    return evidence


class NM01(Check):
    """A 政务新媒体 account whose public page shows no post in the last two weeks.

    Rule:
        For each account configured under ``new_media``, the newest post date read from its public
        page (an account home or an archive list: the dates of its list items, the relative times of a
        feed — 3小时前, 昨天, 2天前 — counted back from the run's date, and publication times in the
        page's script data) must be within ``days`` (default 14) before the run: ``veto``. A page
        saying the account has published nothing (暂无文章) is a ``veto`` too.

        A page that opened but on which no post date could be recognised (a login wall, a page drawn
        entirely by scripts) is not judged: one ``info`` finding asks for the account to be checked by
        hand; no date is assumed. Accounts whose page failed or says the account is closed are NM02's.

    Source:
        IND 政务新媒体 — 单项否决: 近2周无更新 (an account with no new post in the two weeks before the
        inspection).

    Bad:
        On 2025-06-30 the 微博 account 示范县政务服务 shows its newest post dated 06-10 (20 days).

    Good:
        The 微信公众号 示范县发布 lists an article dated 2025-06-28, or its feed shows "昨天".

    Fix:
        Post at least every two weeks; an account that cannot be kept up should be closed (注销) and
        removed from the site's list of accounts.
    """

    code: ClassVar[str] = "NM01"
    name: ClassVar[str] = "政务新媒体不更新"
    family: ClassVar[str] = "NM"
    severity: ClassVar[str] = "veto"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {"days": 14}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        rows = _rows(ctx)
        days = ctx.threshold(NM01, "days")
        for account in ctx.site.new_media:
            row = rows.get(account.url)
            if row is None or row.status not in ("ok", "empty", "undated"):
                continue
            label = account_label(account)
            evidence = {**_evidence(row), "as_of": ctx.as_of.isoformat(), "days": days,
                        "posts_seen": row.posts_seen}
            unit = account.unit or ctx.site.unit
            if row.status == "empty":
                evidence["placeholder"] = row.closed_notice
                yield self.finding(account.url, f"{label}页面显示“{row.closed_notice}”，没有任何发布内容，"
                                   f"政务新媒体应至少每 {days} 天更新", evidence=evidence, unit=unit)
            elif row.status == "undated":
                if row.error:
                    evidence["error"] = row.error
                yield self.finding(account.url, f"{label}页面可以打开，但未能识别出发布日期，"
                                   f"无法判断 {days} 天内是否更新，请人工核查", severity="info",
                                   evidence=evidence, unit=unit)
            elif row.latest_post is not None:
                age = (ctx.as_of - row.latest_post).days
                if age <= days:
                    continue
                evidence.update(newest=row.latest_post.isoformat(), newest_text=row.latest_text, age_days=age)
                yield self.finding(account.url, f"{label}已 {age} 天未更新（最近一条 {row.latest_post.isoformat()}），"
                                   f"政务新媒体应至少每 {days} 天更新", evidence=evidence, unit=unit)


class NM02(Check):
    """A 政务新媒体 account whose public page cannot be opened, or says the account is closed or moved.

    Rule:
        For each account configured under ``new_media``: its page answered an HTTP error, gave no
        answer (DNS lookup failed, connection refused, timeout; a timeout or a 5xx is fetched once more
        after the crawl before it counts) or is not an HTML page; or a short text of the page's own (not
        a post's title or text) says the account is gone — 该账号已注销, 已停止服务, 账号已迁移,
        该公众号已迁移, 此帐号已被封禁 …; or the run did not fetch it at all. One ``major`` finding per
        account.

    Source:
        IND 政务新媒体 — accounts must be reachable; 关停整合 of an account must be done by 注销 and
        the public list of accounts updated (a closed or migrated account left listed is 僵尸账号).

    Bad:
        The page of 示范县应急管理 (今日头条) shows "该账号已注销"; the page of 示范县文旅 (抖音) answers
        ``HTTP 404``.

    Good:
        The page opens and shows the account's posts — even one titled "关于旧版系统已停止服务的公告".

    Fix:
        Restore the account or correct its address in the site's list; an account closed or merged
        into another must be removed from the list (and the new account listed).
    """

    code: ClassVar[str] = "NM02"
    name: ClassVar[str] = "政务新媒体无法访问"
    family: ClassVar[str] = "NM"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "IND"

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        rows = _rows(ctx)
        for account in ctx.site.new_media:
            label = account_label(account)
            unit = account.unit or ctx.site.unit
            row = rows.get(account.url)
            if row is None:
                yield self.finding(account.url, f"本次检查未取得{label}的页面，无法确认账号可以访问",
                                   evidence={"platform": account.platform, "account_status": None}, unit=unit)
            elif row.status == "failed":
                evidence = {**_evidence(row), "status": row.http_status, "error": row.error}
                why = outcome(row.http_status, row.error)
                if row.error and row.error.startswith(NOT_HTML):
                    why = "返回的不是网页" + row.error.removeprefix(NOT_HTML)
                yield self.finding(account.url, f"{label}页面无法访问（{why}），"
                                   f"政务新媒体账号应可正常访问", evidence=evidence, unit=unit)
            elif row.status == "closed":
                evidence = {**_evidence(row), "notice": row.closed_notice}
                yield self.finding(account.url, f"{label}页面显示“{row.closed_notice}”，账号已关停或迁移，"
                                   f"应从网站公布的政务新媒体名单中更新或撤下", evidence=evidence, unit=unit)


CHECKS = [NM01, NM02]
