"""AV — availability (可用性): the home page and the links a visitor follows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any, ClassVar

from checks.base import AuditContext, Check, Finding, is_broken
from checks.common import found_on, home_urls, outcome
from govaudit.models import Link

EXAMPLES_MAX = 20


class AV01(Check):
    """The home page could not be opened in this run.

    Rule:
        The configured home page fails in the crawl: no response (DNS lookup failed, connection
        refused, timeout) or an HTTP status of 500 or more, or the crawl stored no home page at all.
        One finding per site, on the home URL.

    Source:
        IND 可用性 — 首页无法访问 is counted against the site; repeated failures in the probe history
        are a 单项否决 item.

    Bad:
        ``http://www.example.gov.cn/`` answers ``HTTP 502`` or times out after 15 seconds.

    Good:
        The home page answers ``HTTP 200`` (after any redirects).

    Fix:
        Check the server, the DNS records and the firewall; keep the site up around the clock.
    """

    code: ClassVar[str] = "AV01"
    name: ClassVar[str] = "首页无法访问"
    family: ClassVar[str] = "AV"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        home = ctx.home_page()
        if home is None:
            yield self.finding(ctx.site.url, "本次检查未能取得网站首页，首页应可正常访问",
                               evidence={"status": None, "error": "no home page fetched"})
            return
        if home.error or (home.status is not None and home.status >= 500):
            yield self.finding(
                ctx.site.url,
                f"网站首页无法访问（{outcome(home.status, home.error)}），首页应可正常访问",
                evidence={"status": home.status, "error": home.error, "final_url": home.final_url},
            )


def _broken_targets(links: list[Link]) -> dict[str, dict[str, Any]]:
    """Broken link targets, each with its outcome, first anchor and the pages linking to it."""
    targets: dict[str, dict[str, Any]] = {}
    sources: dict[str, set[str]] = defaultdict(set)
    for link in links:
        if not is_broken(link.status, link.error):
            continue
        sources[link.to_url].add(link.from_url)
        targets.setdefault(link.to_url, {
            "target": link.to_url, "status": link.status, "error": link.error,
            "final_url": link.final_url, "anchor": (link.anchor or "").strip(), "kind": link.kind,
        })
    for target, info in targets.items():
        info.update(found_on(sources[target]))
    return targets


def _link_label(info: dict[str, Any]) -> str:
    return f"“{info['anchor']}”" if info["anchor"] else ""


class AV02(Check):
    """A link on the home page leads nowhere.

    Rule:
        Every link on the home page (navigation, content, service or external) whose target answers
        an HTTP status of 400 or more or gives no response (timeout, DNS, refused). One finding per
        distinct target; the finding's URL is the broken target, the evidence names the page(s)
        carrying the link.

    Source:
        IND 可用性 — 首页链接不可用 is counted link by link.

    Bad:
        The home page links ``/zwgk/old/index.html``, which answers ``HTTP 404``.

    Good:
        Every link on the home page opens a page.

    Fix:
        Correct or remove the link; when a page moves, redirect its old address.
    """

    code: ClassVar[str] = "AV02"
    name: ClassVar[str] = "首页链接不可用"
    family: ClassVar[str] = "AV"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        links = list(ctx.links(Link.from_url.in_(home_urls(ctx))))
        for target, info in sorted(_broken_targets(links).items()):
            yield self.finding(
                target,
                f"首页链接{_link_label(info)}无法访问（{outcome(info['status'], info['error'])}）：{target}",
                evidence=info,
            )


class AV03(Check):
    """Internal links on the site's other pages lead nowhere.

    Rule:
        Internal links (navigation and content) found on pages other than the home page: the distinct
        targets whose outcome is known (crawled) are counted, and those answering 400 or more or not
        answering are broken. When more than ``max_ratio`` (default 5 %) are broken, one ``major``
        finding for the site; otherwise one ``minor`` finding per broken target. Targets the crawl
        did not reach (page limits) are neither counted nor reported.

    Source:
        IND 可用性 — 其他页面链接不可用: a broken-link ratio above 5 % is counted against the site.

    Bad:
        120 internal targets are linked from the site's pages and 9 of them answer ``HTTP 404``
        (7.5 %): one major finding. With 2 of 120 broken: two minor findings.

    Good:
        No internal link is broken.

    Fix:
        Correct or remove the links; when pages move, redirect their old addresses.
    """

    code: ClassVar[str] = "AV03"
    name: ClassVar[str] = "其他页面链接不可用"
    family: ClassVar[str] = "AV"
    severity: ClassVar[str] = "minor"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {"max_ratio": 0.05}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        homes = home_urls(ctx)
        links = [
            link for link in ctx.links(Link.kind.in_(("nav", "content")))
            if link.from_url not in homes
        ]
        known = {link.to_url for link in links if link.status is not None or link.error is not None}
        if not known:
            return
        broken = _broken_targets(links)
        ratio = len(broken) / len(known)
        max_ratio = ctx.threshold(AV03, "max_ratio")
        if ratio > max_ratio:
            yield self.finding(
                ctx.site.url,
                f"站内链接不可用比例 {ratio:.1%}（{len(known)} 个链接目标中 {len(broken)} 个不可用），"
                f"应不超过 {max_ratio:.0%}",
                severity="major",
                evidence={
                    "ratio": round(ratio, 4), "broken": len(broken), "total": len(known),
                    "max_ratio": max_ratio,
                    "examples": [broken[t] for t in sorted(broken)[:EXAMPLES_MAX]],
                },
            )
            return
        for target, info in sorted(broken.items()):
            yield self.finding(
                target,
                f"站内链接{_link_label(info)}无法访问（{outcome(info['status'], info['error'])}），"
                f"出现在 {info['found_on_count']} 个页面：{target}",
                key=target,
                evidence=info,
            )


CHECKS = [AV01, AV02, AV03]
