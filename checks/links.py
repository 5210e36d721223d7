"""LK — links to services and outside (阅办联动)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

from sqlalchemy import and_, select, union

from checks.base import STREAM_BATCH, AuditContext, Check, Finding, is_broken
from checks.common import outcome
from govaudit.models import Document, Link, Page, Probe

# Where a service portal sends a visitor it cannot serve: a search page or an error page.
ERROR_URL = re.compile(r"search|sousuo|error|404|notfound", re.IGNORECASE)
ERROR_TEXT = ("页面不存在", "找不到", "404", "出错", "错误页面", "已下线", "不存在或已删除")


def landing_problem(status: int | None, error: str | None, final_url: str | None,
                    title: str | None, text: str | None) -> str | None:
    """Why a service link does not lead to the service, or None when it does."""
    if is_broken(status, error):
        return f"无法访问（{outcome(status, error)}）"
    if final_url:
        parts = urlsplit(final_url)
        if ERROR_URL.search(f"{parts.path}?{parts.query}"):
            return f"跳转到错误页或搜索页（{final_url}）"
    page_text = f"{title or ''} {text or ''}"
    for marker in ERROR_TEXT:
        if marker in page_text:
            return f"打开的是错误页（页面含“{marker}”）"
    return None


class LK01(Check):
    """A policy document's link to the online service (一网通办) is broken.

    Rule:
        A link to a configured service host (``service_hosts``) found on a policy document (a
        document of a ``policy`` column) or on an interpretation page (title containing 解读) fails
        (400 or more, no response), or lands on an error or search page: the final URL's path or
        query contains search/sousuo/error/404/notfound, or the landing page's title or first text
        says 页面不存在, 找不到, 404, 出错, 错误页面, 已下线 or 不存在或已删除. One finding per document
        and target.

    Source:
        PLAN (e.g. 上海: 政策文件与办事服务阅办联动，确保跳转链接不断链).

    Bad:
        The policy “关于企业开办的若干措施” links ``https://zwfw.example.gov.cn/item/123`` which now
        redirects to ``/search?q=``.

    Good:
        The link opens the matter's service guide on the 政务服务网.

    Fix:
        Update the link to the matter's current address in the service portal.
    """

    code: ClassVar[str] = "LK01"
    name: ClassVar[str] = "政策与服务链接失效"
    family: ClassVar[str] = "LK"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "PLAN"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        columns = {column.url: column for column in ctx.columns()}
        sources: dict[str, tuple[str, Any]] = {}  # page URL -> (label, column)
        run = ctx.run.id
        # Only the columns needed, a row at a time: a large site has 100,000 documents and pages.
        policy = [url for url, column in columns.items() if column.category == "policy"]
        docs = select(Document.url, Document.title, Document.column_url).where(
            Document.crawl_run_id == run, Document.column_url.in_(policy))
        for url, title, column_url in ctx.session.execute(docs.order_by(Document.id)).yield_per(STREAM_BATCH):
            sources[url] = (f"政策文件《{title}》" if title else f"政策文件 {url}", columns[column_url])
        # Pages whose <title> says 解读, with their document's own title when there is one (<title> often
        # carries the site name).
        interpretations = (
            select(Page.url, Page.title, Page.column_url, Document.title)
            .outerjoin(Document, and_(Document.crawl_run_id == run, Document.url == Page.url))
            .where(Page.crawl_run_id == run, Page.title.contains("解读"))
            .order_by(Page.id)
        )
        for url, page_title, column_url, doc_title in ctx.session.execute(interpretations).yield_per(STREAM_BATCH):
            if page_title and "解读" in page_title and url not in sources:
                sources[url] = (f"解读《{doc_title or page_title}》", columns.get(column_url or ""))
        seen: set[tuple[str, str]] = set()
        # Each service link of those pages with its target's probe, joined by the database (a query per link
        # was most of this check's time at 100,000 pages). The links are found by the index of links by page
        # (every service link of the run read was 0.9 s of 1.4 at 100,000 pages).
        from_sources = union(
            select(Document.url).where(Document.crawl_run_id == run, Document.column_url.in_(policy)),
            select(Page.url).where(Page.crawl_run_id == run, Page.title.contains("解读")),
        )
        links = (
            select(Link.from_url, Link.to_url, Link.anchor, Link.status, Link.error, Link.final_url,
                   Probe.id.label("probe"), Probe.status.label("probe_status"), Probe.error.label("probe_error"),
                   Probe.final_url.label("probe_final_url"), Probe.title, Probe.text)
            .outerjoin(Probe, and_(Probe.crawl_run_id == run, Probe.url == Link.to_url))
            .where(Link.crawl_run_id == run, Link.kind == "service", Link.from_url.in_(from_sources))
            .order_by(Link.id)
        )
        for link in ctx.session.execute(links).yield_per(STREAM_BATCH):
            if link.from_url not in sources or (link.from_url, link.to_url) in seen:
                continue
            seen.add((link.from_url, link.to_url))
            if link.probe is not None:
                status, error, final_url = link.probe_status, link.probe_error, link.probe_final_url
                title, text = link.title, link.text
            else:
                status, error, final_url, title, text = link.status, link.error, link.final_url, None, None
            problem = landing_problem(status, error, final_url, title, text)
            if problem is None:
                continue
            label, column = sources[link.from_url]
            anchor = f"“{link.anchor.strip()}”" if link.anchor and link.anchor.strip() else ""
            yield self.finding(
                link.from_url,
                f"{label}中的办事链接{anchor}{problem}：{link.to_url}",
                key=link.to_url,
                column=column.name if column is not None else None,
                unit=ctx.unit_for(column),
                evidence={"target": link.to_url, "status": status, "error": error, "final_url": final_url,
                          "anchor": link.anchor, "problem": problem},
            )


CHECKS = [LK01]
