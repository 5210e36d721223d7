"""AV — availability (可用性): the home page and the links a visitor follows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from checks.base import AuditContext, Check, Finding, broken_link_sql, broken_page_sql, is_broken
from checks.common import found_on, home_urls, outcome
from govaudit.models import AvailabilityProbe, Link, Page

EXAMPLES_MAX = 20
FAILURE_EXAMPLES_MAX = 10
# A run's as_of is a date in China; probe times are stored in naive UTC.
CHINA = ZoneInfo("Asia/Shanghai")


class AV01(Check):
    """The home page could not be opened in this run, or too often in the week's probe history.

    Rule:
        In the run: the configured home page fails in the crawl — no response (DNS lookup failed,
        connection refused, timeout), an HTTP status of 500 or more, 404 or 410 (the home page is not
        there, as the probes judge it too), or the crawl stored no home page at all: ``major``.

        In the probe history (``govaudit probe``, run every 30–60 minutes): the home-page probes of the
        ``days`` (default 7) days up to the run's date, inclusive (days in China time). When there are
        at least ``min_probes`` (default 20) of them and ``veto_ratio`` (default 5 %) or more failed —
        no response, HTTP 5xx, or HTTP 404/410 — the finding is a ``veto``, whether or not the home page
        answered in the run. With fewer than ``min_probes`` probes the history is too thin to judge and
        this rule does not apply (schedule the probe). Column probes do not count here.

        One finding per site, on the home URL: a veto carries the probe figures (probes, failed, ratio,
        window, first and last failure, the latest ten failures) and, when the home page also failed
        in the run, that failure too.

    Source:
        IND 可用性 — 首页无法访问 is counted against the site; a home page unreachable in 5 % or more
        of the week's monitoring is a 单项否决 item (站点无法访问).

    Bad:
        ``http://www.example.gov.cn/`` answers ``HTTP 502`` or times out after 15 seconds (major).
        Of the 140 probes of the last 7 days, 9 timed out (6.4 %): veto.

    Good:
        The home page answers ``HTTP 200`` (after any redirects), and of the 140 probes of the last
        7 days at most 6 failed (under 5 %).

    Fix:
        Check the server, the DNS records and the firewall; keep the site up around the clock.
    """

    code: ClassVar[str] = "AV01"
    name: ClassVar[str] = "首页无法访问"
    family: ClassVar[str] = "AV"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {"days": 7, "min_probes": 20, "veto_ratio": 0.05}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        failed_now = self._run_failure(ctx)
        history = self._probe_veto(ctx)
        if history is not None:
            message, evidence = history
            if failed_now is not None:
                message = f"{failed_now[0]}；{message}"
                evidence = {**failed_now[1], **evidence}
            yield self.finding(ctx.site.url, message, severity="veto", evidence=evidence)
        elif failed_now is not None:
            yield self.finding(ctx.site.url, f"{failed_now[0]}，首页应可正常访问", evidence=failed_now[1])

    @staticmethod
    def _run_failure(ctx: AuditContext) -> tuple[str, dict[str, Any]] | None:
        """What went wrong with the home page in this run, if anything."""
        home = ctx.home_page()
        if home is None:
            return "本次检查未能取得网站首页", {"status": None, "error": "no home page fetched"}
        # As the probes judge it: no answer, a server error, or a home page that is not there.
        if home.error or (home.status is not None and (home.status >= 500 or home.status in (404, 410))):
            return (f"网站首页无法访问（{outcome(home.status, home.error)}）",
                    {"status": home.status, "error": home.error, "final_url": home.final_url})
        return None

    @staticmethod
    def _probe_veto(ctx: AuditContext) -> tuple[str, dict[str, Any]] | None:
        days = ctx.threshold(AV01, "days")
        veto_ratio = ctx.threshold(AV01, "veto_ratio")
        start, end = probe_window(ctx.as_of, days)
        probes = list(ctx.session.scalars(
            select(AvailabilityProbe)
            .where(AvailabilityProbe.site_id == ctx.site.id, AvailabilityProbe.kind == "home",
                   AvailabilityProbe.checked_at >= start, AvailabilityProbe.checked_at < end)
            .order_by(AvailabilityProbe.checked_at, AvailabilityProbe.id)
        ))
        failures = [p for p in probes if not p.ok]
        if len(probes) < ctx.threshold(AV01, "min_probes") or not failures:
            return None
        ratio = len(failures) / len(probes)
        if ratio < veto_ratio:
            return None
        first_day = ctx.as_of - dt.timedelta(days=days - 1)
        message = (
            f"近 {days} 天（{first_day} 至 {ctx.as_of}）网站首页监测 {len(probes)} 次中 {len(failures)} 次"
            f"无法访问（{ratio:.1%}），达到 {_percent(veto_ratio)} 即单项否决，首页应全天候可正常访问"
        )
        evidence = {
            "probes": len(probes), "failed": len(failures), "ratio": round(ratio, 4),
            "veto_ratio": veto_ratio,
            "window": f"{first_day}/{ctx.as_of}",
            "first_failure": _china_time(failures[0].checked_at),
            "last_failure": _china_time(failures[-1].checked_at),
            "failures": [
                {"checked_at": _china_time(p.checked_at), "url": p.url, "status": p.status, "error": p.error}
                for p in reversed(failures[-FAILURE_EXAMPLES_MAX:])
            ],
        }
        return message, evidence


def probe_window(as_of: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    """The ``days`` days in China ending with ``as_of`` (inclusive) as [start, end) in naive UTC,
    the way probe times are stored."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), CHINA)
    start = end - dt.timedelta(days=days)
    return (start.astimezone(dt.UTC).replace(tzinfo=None), end.astimezone(dt.UTC).replace(tzinfo=None))


def _china_time(utc: dt.datetime) -> str:
    return utc.replace(tzinfo=dt.UTC).astimezone(CHINA).isoformat(timespec="seconds")


def _percent(value: float) -> str:
    return f"{value * 100:.3g}%"


def _broken_targets(links: Iterable[Link]) -> dict[str, dict[str, Any]]:
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
        # Counted in the database, and only the broken links read: a large site has millions of links. A
        # site link's outcome is its target page's (crawler.pipelines.resolve_link_status): the targets
        # are found from the run's pages, each looked up in the index of links by target, not by reading
        # every link of the run (100k pages, 950,000 links: 2.7 s → 0.4 s).
        run = ctx.run.id
        where = (Link.kind.in_(("nav", "content")), Link.from_url.not_in(home_urls(ctx)))
        linked = (select(Link.id)
                  .where(Link.crawl_run_id == run, Link.to_url == Page.url, *where,
                         or_(Link.status.is_not(None), Link.error.is_not(None)))
                  .exists())
        known = ctx.session.scalar(select(func.count()).select_from(Page).where(Page.crawl_run_id == run, linked))
        if not known:
            return
        broken_pages = select(Page.url).where(Page.crawl_run_id == run, broken_page_sql())
        broken = _broken_targets(ctx.links(*where, broken_link_sql(), Link.to_url.in_(broken_pages)))
        ratio = len(broken) / known
        max_ratio = ctx.threshold(AV03, "max_ratio")
        if ratio > max_ratio:
            yield self.finding(
                ctx.site.url,
                f"站内链接不可用比例 {ratio:.1%}（{known} 个链接目标中 {len(broken)} 个不可用），"
                f"应不超过 {max_ratio:.0%}",
                severity="major",
                evidence={
                    "ratio": round(ratio, 4), "broken": len(broken), "total": known,
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
