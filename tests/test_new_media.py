"""政务新媒体 accounts: reading saved account pages (crawler.new_media), fetching them in a crawl, and the
migration that adds their table."""

from __future__ import annotations

import csv
import datetime as dt
import socket
import textwrap

import pytest

from checks.new_media import NM01, NM02
from crawler.new_media import read_account_page, relative_date, script_dates, text_date
from govaudit.config import ConfigError, parse_config
from govaudit.findings import select_runs
from govaudit.models import FindingRecord, NewMediaAccount, Page, Probe
from reports.export import export_rectification
from reports.html import render_report
from tests import report_data
from tests.mockserver import MockServer, Reply
from tests.test_crawler import crawl, rows
from tests.test_reports import site_section, text_of

AS_OF = dt.date(2026, 6, 15)
# 2026-06-13 10:00 and 2026-05-20 10:00 in China (UTC+8).
TS_0613 = 1781316000
TS_0520 = 1779242400

WECHAT_ARCHIVE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>示范县发布</title></head>
<body id="activity-detail">
<div class="profile_info"><strong class="profile_nickname">示范县发布</strong>
  <p class="profile_desc">示范县人民政府新闻办公室官方公众号</p></div>
<div class="weui_msg_card_list" id="js_history_list">
  <div class="weui_msg_card"><div class="weui_msg_card_hd">2026年6月13日</div>
    <div class="weui_media_box appmsg"><h4 class="weui_media_title">
      <a href="https://mp.weixin.qq.com/s/a1">关于旧版网上办事系统已停止服务的公告</a></h4></div></div>
  <div class="weui_msg_card"><div class="weui_msg_card_hd">2026年5月20日</div>
    <div class="weui_media_box appmsg"><h4 class="weui_media_title">
      <a href="https://mp.weixin.qq.com/s/a2">示范县召开防汛工作部署会</a></h4></div></div>
</div>
<script>
  var svr_time = "1781488800" * 1;
  var msgList = '{&quot;list&quot;:[{&quot;comm_msg_info&quot;:{&quot;id&quot;:1000000214,&quot;type&quot;:49,&quot;datetime&quot;:TS_0613}},{&quot;comm_msg_info&quot;:{&quot;id&quot;:1000000209,&quot;datetime&quot;:TS_0520}}]}';
</script></body></html>""".replace("TS_0613", str(TS_0613)).replace("TS_0520", str(TS_0520))

WEIBO_FEED = """<html><head><meta charset="utf-8"><title>示范县市场监管 - 微博</title></head><body>
<div class="card-list">
  <div class="card"><h4 class="m-text-box"><span class="time">{first}</span><span class="from">来自 微博网页版</span></h4>
    <div class="weibo-text">12315 投诉举报热线全天受理，3-5 个工作日内反馈。</div></div>
  <div class="card"><h4 class="m-text-box"><span class="time">{second}</span></h4>
    <div class="weibo-text">示范县开展电梯安全专项检查。</div></div>
</div></body></html>"""


# --- reading saved pages -------------------------------------------------------------------------

def test_a_wechat_archive_gives_its_newest_post_from_the_list_and_ignores_the_server_clock():
    page = read_account_page(WECHAT_ARCHIVE, AS_OF)
    assert (page.status, page.title, page.latest_post) == ("ok", "示范县发布", dt.date(2026, 6, 13))
    # A post title saying "…已停止服务" is news, not the account's notice.
    assert page.closed_notice is None
    assert page.posts_seen == 2


def test_the_wechat_message_list_alone_dates_the_account():
    script_only = WECHAT_ARCHIVE.split('<div class="weui_msg_card_list"')[0] + WECHAT_ARCHIVE.split("</div>\n</div>")[-1]
    page = read_account_page(script_only, AS_OF)
    assert (page.status, page.latest_post) == ("ok", dt.date(2026, 6, 13))
    assert "datetime" in page.latest_text


@pytest.mark.parametrize(("first", "second", "newest"), [
    ("3小时前", "昨天 18:20", dt.date(2026, 6, 15)),
    ("前天 09:10", "4天前", dt.date(2026, 6, 13)),
    ("2周前", "1个月前", dt.date(2026, 6, 1)),
    ("05-26 09:30", "05-13 16:05", dt.date(2026, 5, 26)),
    ("12-30", "11-02", dt.date(2025, 12, 30)),  # a year-less date after as_of is last year's
    ("发布于 三天前", "刚刚", dt.date(2026, 6, 15)),
])
def test_a_feed_with_relative_or_year_less_times_is_dated_back_from_as_of(first, second, newest):
    page = read_account_page(WEIBO_FEED.format(first=first, second=second), AS_OF)
    assert (page.status, page.latest_post, page.posts_seen) == ("ok", newest, 2)


def test_relative_times_count_back_from_as_of():
    assert relative_date("5分钟前", AS_OF) == AS_OF
    assert relative_date("30小时前", AS_OF) == dt.date(2026, 6, 14)
    assert relative_date("更新时间：昨天", AS_OF) == dt.date(2026, 6, 14)
    assert relative_date("两周前", AS_OF) == dt.date(2026, 6, 1)
    assert relative_date("3个月前", AS_OF) == dt.date(2026, 3, 17)
    assert relative_date("近3天", AS_OF) is None


def test_numbers_in_sentences_are_not_dates():
    assert text_date("第3-5期", AS_OF) is None
    assert text_date("共3-5人参加", AS_OF) is None
    assert text_date("近3天来全县降雨", AS_OF) is None
    assert text_date("[06-01]", AS_OF) == (dt.date(2026, 6, 1), "06-01")
    assert text_date("本条于2026年6月1日发布，通知自7月1日起施行", AS_OF) == (dt.date(2026, 6, 1), "2026年6月1日")


def test_script_data_gives_epochs_date_strings_and_weibo_times_but_not_server_time():
    script = f"""var ct = "{TS_0613}"; window.__INITIAL_STATE__ = {{"feed": [{{"publish_time": {TS_0520}000}},
        {{"pubDate": "2026-06-10 08:00"}}, {{"created_at": "Tue Jun 09 10:00:00 +0800 2026"}},
        {{"createTime": "2026-06-07T20:00:00Z"}}], "timestamp": 1781488800, "server_time": 1781488800,
        "update_time": 1781488800}};"""
    dates = sorted(date for date, _ in script_dates(script, AS_OF))
    assert dates == [dt.date(2026, 5, 20), dt.date(2026, 6, 8), dt.date(2026, 6, 9), dt.date(2026, 6, 10),
                     dt.date(2026, 6, 13)]


@pytest.mark.parametrize("notice", [
    "该账号已注销", "此帐号已被封禁，内容无法查看", "该公众号已迁移至“示范县融媒”", "该账号已停止服务",
    "账号已迁移", "此账号已自主注销", "用户不存在", "本号已停止更新",
])
def test_a_closed_or_migrated_notice_is_recognised(notice):
    html = f'<html><head><title>今日头条</title></head><body><div class="user-empty"><p>{notice}</p></div>' \
           '<a href="/">返回首页</a></body></html>'
    page = read_account_page(html, AS_OF)
    assert (page.status, page.closed_notice) == ("closed", notice)


def test_a_post_saying_something_else_stopped_is_no_notice():
    html = WEIBO_FEED.format(first="3小时前", second="昨天").replace(
        "示范县开展电梯安全专项检查。",
        "【通知】原网上投诉平台已停止服务，投诉举报请拨打 12315 或登录全国 12315 平台办理，给您带来不便敬请谅解。")
    page = read_account_page(html, AS_OF)
    assert (page.status, page.closed_notice, page.latest_post) == ("ok", None, AS_OF)


def test_a_migrated_account_still_showing_old_posts_is_closed_with_its_last_date():
    html = ('<html><body><div class="tips">该公众号已迁移，请关注“示范县融媒”</div>'
            '<ul><li><a href="/a">往期文章</a><span>2026-04-01</span></li></ul></body></html>')
    page = read_account_page(html, AS_OF)
    assert (page.status, page.latest_post) == ("closed", dt.date(2026, 4, 1))
    assert page.closed_notice == "该公众号已迁移，请关注“示范县融媒”"


def test_a_page_saying_it_has_no_posts_is_empty_and_one_with_no_date_is_undated():
    empty = read_account_page("<html><body><h1>示范县文旅</h1><p class='empty'>暂无作品</p></body></html>", AS_OF)
    assert (empty.status, empty.closed_notice, empty.latest_post) == ("empty", "暂无作品", None)
    wall = read_account_page("<html><head><title>微信公众平台</title></head><body>"
                             "<h2>请在微信客户端打开链接</h2></body></html>", AS_OF)
    assert (wall.status, wall.latest_post, wall.posts_seen) == ("undated", None, 0)
    assert read_account_page("", AS_OF).status == "undated"


def test_dates_after_as_of_are_not_posts():
    html = "<html><body><ul><li>2026-07-01 预告</li><li>2026-05-01</li></ul></body></html>"
    assert read_account_page(html, AS_OF).latest_post == dt.date(2026, 5, 1)


def test_an_account_page_configured_twice_is_refused():
    text = textwrap.dedent("""\
        sites:
          - id: a
            name: A
            url: http://a.test/
            new_media:
              - {name: 发布, platform: wechat, url: "http://mp.test/a"}
              - {name: 发布二, platform: wechat, url: "http://mp.test/a"}
        """)
    with pytest.raises(ConfigError, match="the same account page is configured twice: http://mp.test/a"):
        parse_config(text)


# --- the crawl ------------------------------------------------------------------------------------

def _accounts_config(tmp_path, site: MockServer, media: MockServer, dead: str):
    text = textwrap.dedent(f"""\
        sites:
          - id: mock
            name: 测试站
            url: {site.url('/')}
            unit: 办公室
            allowed_hosts: [{site.host}]
            limits: {{delay: 0, concurrency: 4, timeout: 5, recheck_delay: 0.2}}
            new_media:
              - {{name: 测试发布, platform: wechat, url: "{media.url('/wx/fb.html')}", unit: 融媒体中心}}
              - {{name: 测试政务, platform: weibo, url: "{media.url('/wb/zw.html')}"}}
              - {{name: 测试头条, platform: toutiao, url: "{media.url('/tt/gone.html')}"}}
              - {{name: 测试文旅, platform: douyin, url: "{media.url('/dy/missing.html')}"}}
              - {{name: 测试服务号, platform: wechat, url: "http://{dead}/mp/fw"}}
              - {{name: 测试视频号, platform: channels, url: "{media.url('/busy.html')}"}}
              - {{name: 测试附件, platform: other, url: "{media.url('/list.pdf')}"}}
        """)
    path = tmp_path / "sites.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_crawl_fetches_each_account_page_once_and_the_checks_judge_them(tmp_path):
    with socket.socket() as sock:  # bound then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"

    def busy(count: int) -> Reply:  # a 503 once: fetched again before it counts
        if count == 1:
            return Reply("busy", status=503, headers={"Content-Type": "text/plain"})
        return Reply(WEIBO_FEED.format(first="3小时前", second="昨天"))

    stale = WEIBO_FEED.format(first="05-20 09:30", second="05-02 16:05")
    media_routes = {
        "/wx/fb.html": Reply(WECHAT_ARCHIVE.replace(str(TS_0613), str(TS_0520))
                             .replace("2026年6月13日", "2026年6月12日")),
        "/wb/zw.html": Reply(stale + '<a href="/wb/next.html">下一页</a>'),
        "/wb/next.html": Reply(WEIBO_FEED.format(first="刚刚", second="刚刚")),
        "/tt/gone.html": Reply("<html><body><p>该账号已注销</p></body></html>"),
        "/busy.html": busy,
        "/list.pdf": Reply(b"%PDF-1.4", headers={"Content-Type": "application/pdf"}),
    }
    home = "<html><head><title>测试站</title></head><body><ul><li><a href='/a.html'>要闻</a> 2026-06-14</li></ul></body></html>"
    with MockServer(media_routes) as media, MockServer({"/": Reply(home), "/a.html": Reply(home)}) as site:
        result, factory = crawl(tmp_path, _accounts_config(tmp_path, site, media, dead))
        assert result.runs[0].status == "completed"
        accounts = {a.name: a for a in rows(factory, NewMediaAccount)}
        # One GET each (the 503 one once more); nothing followed from them.
        assert media.hits == {"/wx/fb.html": 1, "/wb/zw.html": 1, "/tt/gone.html": 1, "/dy/missing.html": 1,
                              "/busy.html": 2, "/list.pdf": 1}
        assert not [p for p in rows(factory, Page) if media.host in p.url]
        assert not [p for p in rows(factory, Probe) if media.host in p.url]

        fb = accounts["测试发布"]
        assert (fb.status, fb.latest_post, fb.unit, fb.http_status) == ("ok", dt.date(2026, 6, 12), "融媒体中心", 200)
        assert (accounts["测试政务"].status, accounts["测试政务"].latest_post) == ("ok", dt.date(2026, 5, 20))
        assert (accounts["测试头条"].status, accounts["测试头条"].closed_notice) == ("closed", "该账号已注销")
        assert (accounts["测试文旅"].status, accounts["测试文旅"].error) == ("failed", "HTTP 404")
        assert (accounts["测试服务号"].status, accounts["测试服务号"].error) == ("failed", "connection refused")
        assert (accounts["测试视频号"].status, accounts["测试视频号"].latest_post) == ("ok", AS_OF)
        assert accounts["测试附件"].error == "not an HTML page (application/pdf)"
        assert accounts["测试政务"].unit == "办公室"  # the site's unit when the account names none

        findings = {(f.check, f.url): f for f in rows(factory, FindingRecord) if f.check.startswith("NM")}
        assert sorted(findings) == sorted([
            ("NM01", media.url("/wb/zw.html")), ("NM02", media.url("/tt/gone.html")),
            ("NM02", media.url("/dy/missing.html")), ("NM02", f"http://{dead}/mp/fw"),
            ("NM02", media.url("/list.pdf")),
        ])
        stale_finding = findings[("NM01", media.url("/wb/zw.html"))]
        assert stale_finding.severity == "veto" and stale_finding.unit == "办公室"
        assert stale_finding.message.startswith("政务新媒体账号“测试政务”（微博）已 26 天未更新（最近一条 2026-05-20）")
        assert "连接被拒绝" in findings[("NM02", f"http://{dead}/mp/fw")].message
        log = result.logs["mock"].read_text(encoding="utf-8")
        assert f"mock: {media.url('/dy/missing.html')}: account 测试文旅: HTTP 404" in log


# --- the audit database -------------------------------------------------------------------------

def test_a_database_at_0003_is_upgraded_to_0004_keeping_its_runs(tmp_path):
    from alembic import command
    from sqlalchemy import inspect, text

    from checks.registry import run_checks
    from govaudit.config import SiteConfig
    from govaudit.db import alembic_config, make_engine, open_database
    from govaudit.models import CrawlRun
    from tests.test_db import schema_diff

    url = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0003")
    assert "new_media_account" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO site (id, name, url, kind) VALUES ('s', 'n', 'http://s.test/', 'department')"))
        conn.execute(text("INSERT INTO audit_run (id, started_at, as_of, status) VALUES (1, '2026-01-01', '2026-01-01', 'completed')"))
        conn.execute(text("INSERT INTO crawl_run (id, audit_run_id, site_id, started_at, as_of, status) "
                          "VALUES (1, 1, 's', '2026-01-01', '2026-01-01', 'completed')"))
    engine.dispose()
    factory = open_database(url)
    assert "new_media_account" in inspect(factory.kw["bind"]).get_table_names()
    assert schema_diff(factory) == []
    with factory.begin() as session:
        run = session.get(CrawlRun, 1)
        session.add(NewMediaAccount(crawl_run_id=1, name="发布", platform="wechat", url="http://mp.test/a",
                                    status="ok", latest_post=dt.date(2025, 12, 1), posts_seen=3))
    with factory() as session:
        run = session.get(CrawlRun, 1)
        site = SiteConfig(id="s", name="n", url="http://s.test/", unit="办公室",
                          new_media=[{"name": "发布", "platform": "wechat", "url": "http://mp.test/a"}])
        findings, errors = run_checks(session, run, site, codes=["NM01", "NM02"])
        assert errors == []
        assert [(f.check, f.severity, f.url) for f in findings] == [("NM01", "veto", "http://mp.test/a")]
    # And back: the downgrade drops the table only.
    command.downgrade(alembic_config(factory.kw["bind"]), "0003")
    assert "new_media_account" not in inspect(factory.kw["bind"]).get_table_names()
    assert "crawl_run" in inspect(factory.kw["bind"]).get_table_names()


# --- the report and the rectification lists ---------------------------------------------------------

def test_the_report_scores_new_media_and_the_unit_list_carries_the_account(tmp_path, monkeypatch):
    # The real NM checks' names and sources, as the report finds them in the registry.
    for check in (NM01, NM02):
        monkeypatch.setitem(report_data.CHECK_NAMES, check.code, (check.name, check.severity, check.source))
    report_data.install_fake_registry(monkeypatch)
    session = report_data.open_session(tmp_path)
    runs = report_data.build_two_runs(session)
    account = "http://mp.test/u/1"
    runs["county"].site_config = {"new_media": [{"name": "兴国发布", "platform": "weibo", "url": account}]}
    runs["edu"].site_config = {"new_media": []}
    report_data.add_finding(session, runs["county"], "NM01", "veto", "new",
                            "政务新媒体账号“兴国发布”（微博）已 20 天未更新（最近一条 2024-06-10），政务新媒体应至少每 14 天更新",
                            url=account, unit="县融媒体中心",
                            evidence={"platform": "weibo", "newest": "2024-06-10", "newest_text": "06-10"})
    session.commit()

    page = render_report(session, select_runs(session), tmp_path / "out").read_text(encoding="utf-8")
    county = text_of(site_section(page, report_data.COUNTY))
    assert "NM01 政务新媒体不更新 不合格 单项否决问题 1 项" in county
    assert "最近一条的日期原文 newest_text 06-10" in text_of(page) and f'href="{account}"' in page
    edu = text_of(site_section(page, report_data.EDU))
    assert "NM01 政务新媒体不更新 未检查 本站未配置政务新媒体账号（sites.yml 的 new_media），未检查" in edu

    paths = export_rectification(session, select_runs(session), tmp_path / "rect", "csv")
    [media] = [p for p in paths if "县融媒体中心" in p.name]
    with media.open(encoding="utf-8-sig") as f:
        [header, row] = list(csv.reader(f))
    assert row[header.index("问题类型")] == "政务新媒体不更新（NM01）"
    assert row[header.index("页面地址")] == account
    session.close()


def test_an_account_page_the_reader_trips_on_is_stored_as_unread_with_the_reason(monkeypatch):
    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.spiders import portal
    from govaudit.config import SiteConfig

    def broken(text, as_of):
        raise ValueError("unexpected markup")

    monkeypatch.setattr(portal, "read_account_page", broken)
    site = SiteConfig(id="s", name="测试站", url="http://s.test/", unit="办公室",
                      new_media=[{"name": "测试发布", "platform": "wechat", "url": "http://mp.test/a"}])
    spider = portal.PortalSpider(site=site, run_id=1, as_of=AS_OF)
    [request] = list(spider._account_requests())
    assert (request.url, request.meta["dont_obey_robotstxt"]) == ("http://mp.test/a", True)
    response = HtmlResponse("http://mp.test/a", body=b"<html><body>x</body></html>", encoding="utf-8",
                            request=Request("http://mp.test/a", meta=request.meta))
    [item] = list(spider.parse_account(response))
    assert (item.status, item.unit, item.error) == ("undated", "办公室", "could not be read: ValueError: unexpected markup")
    assert list(spider._account_requests()) == []  # asked once a crawl (a resumed one too)


def test_prune_drops_old_runs_account_pages_and_keeps_the_newest_runs(tmp_path):
    from govaudit.db import open_database
    from govaudit.models import AuditRun, CrawlRun, Site
    from govaudit.retention import prune

    factory = open_database(f"sqlite:///{tmp_path}/audit.db")
    with factory.begin() as session:
        session.add(Site(id="s", name="测试站", url="http://s.test/"))
        runs = []
        for day in (1, 2):
            audit = AuditRun(as_of=dt.date(2026, 1, day), started_at=dt.datetime(2026, 1, day))
            run = CrawlRun(audit_run=audit, site_id="s", as_of=audit.as_of, status="completed",
                           started_at=dt.datetime(2026, 1, day))
            session.add_all([audit, run])
            session.flush()
            session.add(NewMediaAccount(crawl_run_id=run.id, name="发布", platform="wechat", url="http://mp.test/a",
                                        status="ok", latest_post=audit.as_of, posts_seen=1))
            runs.append(run.id)
    with factory.begin() as session:
        result = prune(session, keep_days=30, now=dt.datetime(2026, 6, 1))
    assert result.rows["new_media_account"] == 1
    assert [a.crawl_run_id for a in rows(factory, NewMediaAccount)] == [runs[1]]
