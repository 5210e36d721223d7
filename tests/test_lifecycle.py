"""Night after night on a site that changes: what is new, open, resolved or reopened, and why."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from sqlalchemy import select

from govaudit.audit import CrawlOptions, run
from govaudit.db import open_database
from govaudit.findings import finding_dict, run_findings
from govaudit.models import CrawlRun
from govaudit.probe import probe_sites
from reports.trends import severity_history
from tests.conftest import audit_db_url
from tests.mockserver import MockServer, Reply

NOT_FOUND = Reply("<html><body>not found</body></html>", status=404)


# A complete site's marks, so that the story below is about what changes from night to night (ID01, ID02
# and the AR checks stay silent): the meta tags of every page, the footer naming the 网站工作年度报表, and
# a complete 2025 annual report linked from the home page.
SITE_META = ('<meta name="SiteName" content="示范县人民政府"><meta name="SiteDomain" content="www.sfx.gov.cn">'
             '<meta name="SiteIDCode" content="3607990001">')
FOOTER = ('<div class="footer">网站标识码：3607990001 赣ICP备12345678号 赣公网安备 36079902000101号'
          '<img src="/dzjg.png" alt="党政机关"> 示范县人民政府门户网站2025年度工作报表</div>')
REPORT_TITLE = "示范县人民政府办公室2025年政府信息公开工作年度报告"


def page(body: str, title: str = "示范站", meta: str = "") -> Reply:
    return Reply(f"<html><head><meta charset='utf-8'><title>{title}</title>{SITE_META}{meta}</head>"
                 f"<body>{body}{FOOTER}</body></html>")


def article(body: str, title: str, date: str) -> Reply:
    meta = (f'<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{date}">'
            '<meta name="ContentSource" content="示范县人民政府办公室">')
    return page(body, title, meta)


def list_page(title: str, entries: list[tuple[str, str, str]]) -> Reply:
    items = "".join(f'<li><a href="{url}">{text}</a><span>{date}</span></li>' for url, text, date in entries)
    return page(f'<ul class="list">{items}</ul>', title,
                f'<meta name="ColumnName" content="{title}"><meta name="ColumnType" content="{title}">')


def _report_body() -> str:
    from demo.annual_reports import COUNTY_2025, _county, report_html

    return report_html(2025, "示范县人民政府办公室", _county(2025), COUNTY_2025)


class Site:
    """The site as it is tonight; each night's changes are made on ``routes``."""

    def __init__(self) -> None:
        self.home_links = ['<a href="/old.html">旧版专题</a>']
        self.plan = [("/art/p1.html", "示范县“十四五”规划纲要全文发布", "2025-05-01")]
        self.routes: dict = {
            "/col/news/": list_page("工作动态", [("/art/n1.html", "县政府召开常务会议研究部署重点工作", "2026-06-10")]),
            "/old.html": NOT_FOUND,
            "/art/n1.html": article("<p>会议内容</p>", "县政府召开常务会议研究部署重点工作", "2026-06-10"),
            "/art/p1.html": article("<p>规划全文</p>", "示范县“十四五”规划纲要全文发布", "2025-05-01"),
            "/ndbg/2025.html": article(_report_body(), REPORT_TITLE, "2026-01-20"),
        }
        self.refresh()

    def refresh(self) -> None:
        nav = '<div class="nav"><a href="/">首页</a><a href="/col/news/">工作动态</a><a href="/col/plan/">规划计划</a></div>'
        news = '<ul class="news"><li><a href="/art/n1.html">县政府召开常务会议研究部署重点工作</a><span>2026-06-10</span></li></ul>'
        report = f'<a href="/ndbg/2025.html">{REPORT_TITLE}</a>'
        self.routes["/"] = page(nav + news + report + "".join(self.home_links))
        self.routes["/col/plan/"] = list_page("规划计划", self.plan)


def config_for(tmp_path: Path, server: MockServer) -> Path:
    path = tmp_path / "sites.yml"
    path.write_text(textwrap.dedent(f"""\
        sites:
          - id: county
            name: 示范县人民政府
            url: {server.url('/')}
            unit: 县政府办公室
            render: static
            screenshots: false
            limits: {{delay: 0, concurrency: 4, timeout: 5, recheck_delay: 0.2}}
            columns:
              - {{name: 工作动态, url: "{server.url('/col/news/')}", category: news}}
              - {{name: 规划计划, url: "{server.url('/col/plan/')}", category: plan, unit: 县发改局}}
        """), encoding="utf-8")
    return path


def night(tmp_path: Path, config: Path, as_of: dt.date) -> tuple[CrawlRun, dict[tuple[str, str], dict]]:
    db = audit_db_url(tmp_path)
    result = run(config, db_url=db, out_dir=None, as_of=as_of, log_dir=tmp_path / "logs",
                 options=CrawlOptions(cache_dir=tmp_path / "cache"))
    [crawl_run] = result.runs
    with open_database(db)() as session:
        findings = {(f.check, f.url): finding_dict(f, as_of) for f in run_findings(session, [crawl_run])}
    return crawl_run, findings


def statuses(findings: dict) -> dict[tuple[str, str], str]:
    return {key: f["status"] for key, f in findings.items()}


def test_findings_follow_the_site_from_night_to_night(tmp_path):
    site = Site()
    with MockServer(site.routes) as server:
        u = server.url
        config = config_for(tmp_path, server)

        # Night 1: a stale plan column, a dead link on the home page.
        first, found = night(tmp_path, config, dt.date(2026, 6, 15))
        night_one = found
        assert statuses(found) == {("UP03", u("/col/plan/")): "new", ("AV02", u("/old.html")): "new"}
        assert found[("UP03", u("/col/plan/"))]["unit"] == "县发改局"

        # Night 2: the column gets a new entry, the link is fixed, a new dead link appears, and a page
        # fails once (three answers, with Scrapy's own retries) before it recovers.
        site.plan.insert(0, ("/art/p2.html", "示范县2026年国民经济和社会发展计划", "2026-06-16"))
        site.routes["/art/p2.html"] = article("<p>计划全文</p>", "示范县2026年国民经济和社会发展计划", "2026-06-16")
        site.routes["/old.html"] = page("<p>专题已恢复</p>")
        site.home_links += ['<a href="/new-broken.html">新栏目</a>', '<a href="/flaky.html">通知</a>']
        site.routes["/flaky.html"] = lambda count: (Reply("busy", status=503, headers={"Content-Type": "text/plain"})
                                                    if count <= 3 else page("<p>通知</p>"))
        site.refresh()
        second, found = night(tmp_path, config, dt.date(2026, 6, 16))
        assert statuses(found) == {("UP03", u("/col/plan/")): "resolved", ("AV02", u("/old.html")): "resolved",
                                   ("AV02", u("/new-broken.html")): "new"}
        assert (second.stats["rechecked"], second.stats["recovered"]) == (1, 1)

        # Night 3: the old link breaks again; the availability probes of the week show 1 failure in 20.
        site.routes["/old.html"] = NOT_FOUND
        db = audit_db_url(tmp_path)
        for hour in range(20):
            site.routes["/"] = Reply("error", status=500) if hour == 7 else site.routes["/"]
            probe_sites(config, db_url=db, timeout=5, now=dt.datetime(2026, 6, 16, hour, 0))
            site.refresh()
        third, found = night(tmp_path, config, dt.date(2026, 6, 17))
        assert statuses(found) == {("AV02", u("/old.html")): "reopened", ("AV02", u("/new-broken.html")): "open",
                                   ("AV01", u("/")): "new"}
        reopened = found[("AV02", u("/old.html"))]
        assert reopened["times_seen"] == 2
        assert reopened["first_seen"] == night_one[("AV02", u("/old.html"))]["first_seen"]
        assert reopened["deadline"] > night_one[("AV02", u("/old.html"))]["deadline"]  # a new deadline
        veto = found[("AV01", u("/"))]
        assert veto["severity"] == "veto"
        assert (veto["evidence"]["probes"], veto["evidence"]["failed"]) == (20, 1)
        open_one = found[("AV02", u("/new-broken.html"))]
        assert open_one["times_seen"] == 2

    # The trend: pending findings per night by severity.
    with open_database(db)() as session:
        history = severity_history(session, session.get(CrawlRun, third.id))
        assert [(h.run_id, dict(h.counts)) for h in history] == [
            (first.id, {"major": 2}), (second.id, {"major": 1}), (third.id, {"major": 2, "veto": 1})]
        assert session.scalars(select(CrawlRun.status)).all() == ["completed"] * 3
