"""The portal spider against small sites served on loopback: what it stores, and what it refuses."""

from __future__ import annotations

import datetime as dt
import textwrap
import time
from pathlib import Path

from sqlalchemy import select

from govaudit.audit import CrawlOptions, run
from govaudit.db import open_database
from govaudit.models import Column, CrawlRun, Document, FindingRecord, Link, Listing, Page, Probe
from tests.conftest import audit_db_url
from tests.mockserver import MockServer, Reply

AS_OF = dt.date(2026, 6, 15)


def page(body: str, title: str = "页面") -> str:
    return f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>"


# The tests' other sites are on loopback too: loopback is the private network a test site may reach.
LOOPBACK = "[127.0.0.0/8]"


def write_config(tmp_path: Path, server: MockServer, extra: str = "", columns: str = "",
                 service: MockServer | None = None, private_network: str = LOOPBACK) -> Path:
    service_hosts = f"[{service.host}]" if service else "[]"
    text = textwrap.dedent(f"""\
        sites:
          - id: mock
            name: 测试站
            url: {server.url('/')}
            unit: 办公室
            allowed_hosts: [{server.host}]
            service_hosts: {service_hosts}
            private_network: {private_network}
            limits: {{delay: 0, concurrency: 4, timeout: 5, recheck_delay: 0.2}}
        """) + extra + columns
    path = tmp_path / "sites.yml"
    path.write_text(text, encoding="utf-8")
    return path


def edited(config: Path, old: str, new: str) -> str:
    """The config's text with one change, which must apply (a stale edit would test nothing)."""
    text = config.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in the config"
    return text.replace(old, new)


def crawl(tmp_path: Path, config: Path):
    db = audit_db_url(tmp_path)
    result = run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=tmp_path / "logs",
                 options=CrawlOptions(cache_dir=tmp_path / "cache"))
    factory = open_database(db)
    return result, factory


def rows(factory, model, *where):
    with factory() as session:
        return list(session.scalars(select(model).where(*where)))


def test_pages_links_listings_and_documents_are_stored(tmp_path):
    home = page("""
        <div class="nav"><a href="/">首页</a><a href="/col/news/">工作动态</a><a href="/col/notice/">通知公告</a></div>
        <ul class="news"><li><a href="/art/1.html">县政府召开常务会议部署重点工作</a><span>2026-06-10</span></li></ul>
        <a href="/missing.html">旧链接</a>""", "示范县人民政府")
    news = page("""<ul class="list">
        <li><a href="/art/1.html">县政府召开常务会议部署重点工作</a><span>2026-06-10</span></li>
        <li><a href="/art/2.html">全县安全生产工作会议召开</a><span>2026/6/1</span></li></ul>""", "工作动态")
    doc = page("""<table class="xxgk"><tr><td>索引号：</td><td>000014349/2026-00001</td>
        <td>发布机构：</td><td>县政府办公室</td></tr>
        <tr><td>成文日期：</td><td>2026年6月9日</td><td>发布日期：</td><td>2026-06-10</td></tr></table>
        <p>正文</p>""", "县政府召开常务会议")
    notice = page('<ul class="list"><li><a href="/art/2.html">关于开展安全检查的通知</a>[06-01]</li></ul>', "通知公告")
    routes = {"/": Reply(home), "/col/news/": Reply(news), "/col/notice/": Reply(notice), "/art/1.html": Reply(doc),
              "/art/2.html": Reply(page("<p>正文</p>"))}
    with MockServer(routes) as server:
        result, factory = crawl(tmp_path, write_config(tmp_path, server))
        home_url = server.url("/")
        assert result.runs[0].status == "completed"
        pages = {p.url: p for p in rows(factory, Page)}
        assert pages[home_url].kind == "home" and pages[home_url].title == "示范县人民政府"
        assert pages[server.url("/missing.html")].status == 404
        assert pages[server.url("/art/1.html")].kind == "document"
        columns = {c.name: c for c in rows(factory, Column)}
        assert sorted(columns) == ["工作动态", "通知公告"]
        column = columns["工作动态"]
        assert (column.category, column.category_guessed, column.source, column.entries) == ("news", True, "nav", 2)
        assert columns["通知公告"].category == "notice"
        [notice_entry] = rows(factory, Listing, Listing.column_url == columns["通知公告"].url)
        assert notice_entry.date == dt.date(2026, 6, 1)
        dates = sorted(r.date for r in rows(factory, Listing, Listing.column_url == column.url))
        assert dates == [dt.date(2026, 6, 1), dt.date(2026, 6, 10)]
        [home_entry] = rows(factory, Listing, Listing.column_url == home_url)
        assert home_entry.date == dt.date(2026, 6, 10)
        document = rows(factory, Document, Document.url == server.url("/art/1.html"))[0]
        assert document.index_number == "000014349/2026-00001"
        assert document.written_date == dt.date(2026, 6, 9) and document.column_url == column.url
        broken = rows(factory, Link, Link.to_url == server.url("/missing.html"))
        assert [(link.from_url, link.status, link.kind) for link in broken] == [(home_url, 404, "content")]


def test_robots_txt_is_obeyed_by_default_and_can_be_switched_off(tmp_path):
    routes = {"/": Reply(page('<a href="/private/a.html">内部</a>')),
              "/robots.txt": Reply("User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"}),
              "/private/a.html": Reply(page("secret"))}
    with MockServer(routes) as server:
        crawl(tmp_path, write_config(tmp_path, server))
        assert "/private/a.html" not in server.hits
    with MockServer(routes) as server:
        config = edited(write_config(tmp_path, server),
            "    unit: 办公室\n", "    unit: 办公室\n    robots: false\n")
        (tmp_path / "sites.yml").write_text(config, encoding="utf-8")
        again = tmp_path / "again"  # a fresh database (SQLite file or PostgreSQL schema) and cache
        again.mkdir()
        crawl(again, tmp_path / "sites.yml")
        assert server.hits.get("/private/a.html") == 1


def test_every_request_waiting_for_a_slow_robots_txt_is_judged_by_it(tmp_path):
    """The home page links four pages of the site's second host, whose robots.txt takes a while: the
    four requests all wait for it, and none of the disallowed ones is sent (Scrapy 2.19's own middleware
    let every waiter but the first through unchecked)."""
    def slow_robots(count: int) -> Reply:
        time.sleep(0.8)
        return Reply("User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})

    other_routes = {"/robots.txt": slow_robots, "/open.html": Reply(page("公开"))}
    other_routes.update({f"/private/{n}.html": Reply(page("内部")) for n in range(3)})
    with MockServer(other_routes) as other:
        links = "".join(f'<a href="{other.url(f"/private/{n}.html")}">内部{n}</a>' for n in range(3))
        home = page(links + f'<a href="{other.url("/open.html")}">公开</a>')
        with MockServer({"/": Reply(home)}) as server:
            config = edited(write_config(tmp_path, server), f"allowed_hosts: [{server.host}]",
                            f"allowed_hosts: [{server.host}, {other.host}]")
            (tmp_path / "sites.yml").write_text(config, encoding="utf-8")
            result, factory = crawl(tmp_path, tmp_path / "sites.yml")
    assert result.runs[0].status == "completed"
    assert other.hits == {"/robots.txt": 1, "/open.html": 1}
    assert {p.url for p in rows(factory, Page)} == {server.url("/"), other.url("/open.html")}
    [run_row] = rows(factory, CrawlRun)
    assert run_row.stats["robots_blocked"] == 3


def test_retry_after_is_honoured_before_the_page_counts_as_failed(tmp_path):
    def busy(count: int) -> Reply:
        if count == 1:
            return Reply("busy", status=503, headers={"Retry-After": "1", "Content-Type": "text/plain"})
        return Reply(page("<p>ok</p>", "恢复"))

    with MockServer({"/": busy}) as server:
        result, factory = crawl(tmp_path, write_config(tmp_path, server))
        [home] = rows(factory, Page)
        assert (home.status, home.title) == (200, "恢复")
        assert server.hits["/"] == 2


def test_a_gbk_page_without_charset_is_decoded(tmp_path):
    body = "<html><head><title>兴国县人民政府信息公开</title></head><body><p>政务公开</p></body></html>"
    routes = {"/": Reply(body.encode("gb18030"), headers={"Content-Type": "text/html"})}
    with MockServer(routes) as server:
        _, factory = crawl(tmp_path, write_config(tmp_path, server))
        [home] = rows(factory, Page)
        assert home.title == "兴国县人民政府信息公开"
        assert home.encoding == "gb18030"


def test_service_links_are_probed_not_crawled_and_failures_are_logged_with_site_and_url(tmp_path):
    with MockServer({"/item/1": Reply(page('<a href="/item/2">下一项</a>', "办事指南"))}) as service:
        routes = {"/": Reply(page(f'<a href="{service.url("/item/1")}">在线办理</a>'
                                  '<a href="/broken.html">坏页面</a>')),
                  "/broken.html": Reply("oops", status=500, headers={"Content-Type": "text/plain"})}
        with MockServer(routes) as server:
            result, factory = crawl(tmp_path, write_config(tmp_path, server, service=service))
            [probe] = rows(factory, Probe)
            assert (probe.url, probe.kind, probe.status, probe.title) == (service.url("/item/1"), "service", 200,
                                                                          "办事指南")
            assert "/item/2" not in service.hits
            log = result.logs["mock"].read_text(encoding="utf-8")
            assert f"mock: {server.url('/broken.html')}: HTTP 500" in log


def test_the_page_limit_bounds_the_crawl(tmp_path):
    links = "".join(f'<a href="/p{i}.html">第{i}页</a>' for i in range(30))
    routes = {"/": Reply(page(links))} | {f"/p{i}.html": Reply(page(links)) for i in range(30)}
    with MockServer(routes) as server:
        config = edited(write_config(tmp_path, server),
            "recheck_delay: 0.2}", "recheck_delay: 0.2, pages: 10}")
        (tmp_path / "sites.yml").write_text(config, encoding="utf-8")
        result, factory = crawl(tmp_path, tmp_path / "sites.yml")
        assert len(rows(factory, Page)) == 10
        with factory() as session:
            assert session.get(CrawlRun, result.runs[0].id).stats["truncated"] is True


def test_a_refused_connection_is_stored_in_plain_words(tmp_path):
    import socket

    with socket.socket() as sock:  # bound then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    with MockServer({"/": Reply(page(f'<a href="http://{dead}/">旧版网站</a>'))}) as server:
        _, factory = crawl(tmp_path, write_config(tmp_path, server))
        [probe] = rows(factory, Probe)
        assert (probe.kind, probe.status, probe.error) == ("external", None, "connection refused")


def signal_children(signum: int) -> None:
    """Send ``signum`` to this process's children (the crawler): SIGKILL as an OOM killer or an operator
    would, SIGTERM as systemd stopping the job would."""
    import os

    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            os.kill(int(stat.parent.name), signum)


def _kill_children() -> None:
    import signal

    signal_children(signal.SIGKILL)


def test_a_killed_crawl_is_marked_failed_and_earlier_runs_stay_intact(tmp_path):
    import threading

    from govaudit.findings import finding_dict, run_findings, select_runs

    hang = threading.Event()

    def home(count: int) -> Reply:
        if count == 2:  # the second run's home page never answers until released
            hang.wait(timeout=60)
        return Reply(page('<a href="/gone.html">旧页面</a>'))

    with MockServer({"/": home}) as server:
        config = write_config(tmp_path, server)
        db = audit_db_url(tmp_path)
        first = run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=tmp_path / "logs",
                 options=CrawlOptions(cache_dir=tmp_path / "cache"))
        factory = open_database(db)
        with factory() as session:
            before = [finding_dict(f) for f in run_findings(session, select_runs(session))]
        # The bare mock page also lacks the footer marks and meta tags (ID01, ID02), and on 2026-06-15 the
        # 2025 annual report and the 网站工作年度报表 on its home page (AR01, AR06).
        assert sorted((f["check"], f["status"]) for f in before) == [
            ("AR01", "new"), ("AR06", "new"), ("AV02", "new"), ("ID01", "new"), ("ID02", "new"), ("UP01", "new")]

        killed = run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=tmp_path / "logs",
                     options=CrawlOptions(cache_dir=tmp_path / "cache"), progress=lambda event: _kill_children())
        hang.set()
        [crawl_run] = killed.runs
        assert crawl_run.status == "failed" and "exit code -9" in crawl_run.error
        assert killed.failed == {"mock": crawl_run.error}
        with factory() as session:
            latest = select_runs(session)
            assert [r.id for r in latest] == [first.runs[0].id]
            assert [finding_dict(f) for f in run_findings(session, latest)] == before

        again = run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=tmp_path / "logs",
                 options=CrawlOptions(cache_dir=tmp_path / "cache"))
        with factory() as session:
            after = [finding_dict(f) for f in run_findings(session, again.runs)]
        assert sorted((f["check"], f["status"], f["fingerprint"]) for f in after) == sorted(
            (f["check"], "open", f["fingerprint"]) for f in before)


SCRIPTED_LIST = """<div class="list" id="list"></div>
<script>
  var data = [{"t": "关于开展2026年安全生产大检查的通知", "u": "/art/a1.html", "d": "2026-06-12"},
              {"t": "关于做好防汛工作的通知", "u": "/art/a2.html", "d": "2026-06-01"}];
  document.getElementById("list").innerHTML = "<ul>" + data.map(function (r) {
    return '<li><a href="' + r.u + '">' + r.t + '</a><span>' + r.d + '</span></li>';
  }).join("") + "</ul>";
</script>"""


def test_auto_renders_only_the_column_whose_html_lists_nothing_but_carries_scripts(tmp_path, chromium):
    nav = ('<div class="nav"><a href="/">首页</a><a href="/col/scripted/">通知公告</a>'
           '<a href="/col/static/">工作动态</a><a href="/col/empty/">财政预算</a></div>')
    static_list = ('<ul class="list"><li><a href="/art/s1.html">全县召开安全生产工作会议</a><span>2026-06-10</span>'
                   '</li><li><a href="/art/s2.html">县长调研重点项目建设</a><span>2026-06-08</span></li></ul>')
    empty = '<div class="list" id="list"></div><script>document.title = "财政预算";</script><p>暂无信息</p>'
    routes = {"/": Reply(page(nav)), "/col/scripted/": Reply(page(nav + SCRIPTED_LIST, "通知公告")),
              "/col/static/": Reply(page(nav + static_list, "工作动态")),
              "/col/empty/": Reply(page(nav + empty, "财政预算"))}
    routes |= {f"/art/{name}.html": Reply(page("<p>正文</p>")) for name in ("a1", "a2", "s1", "s2")}
    with MockServer(routes) as server:
        result, factory = crawl(tmp_path, write_config(tmp_path, server))
        columns = {c.name: c for c in rows(factory, Column)}
        assert (columns["通知公告"].entries, columns["通知公告"].rendered_by_js) == (2, True)
        assert (columns["工作动态"].entries, columns["工作动态"].rendered_by_js) == (2, False)
        assert (columns["财政预算"].entries, columns["财政预算"].rendered_by_js) == (0, True)
        assert columns["财政预算"].placeholder == "暂无信息"
        scripted = rows(factory, Listing, Listing.column_url == columns["通知公告"].url)
        assert [(e.title, e.date) for e in scripted] == [("关于开展2026年安全生产大检查的通知", dt.date(2026, 6, 12)),
                                                         ("关于做好防汛工作的通知", dt.date(2026, 6, 1))]
        assert server.hits["/art/a1.html"] == 1  # entries found in the browser are crawled like any other
        [page_row] = rows(factory, Page, Page.url == columns["通知公告"].url)
        assert page_row.rendered_by_js is True
        added = rows(factory, Link, Link.from_url == columns["通知公告"].url, Link.to_url == server.url("/art/a1.html"))
        assert len(added) == 1
        nav_links = rows(factory, Link, Link.from_url == columns["通知公告"].url, Link.to_url == server.url("/"))
        assert len(nav_links) == 1  # read twice, stored once
        with factory() as session:
            stats = session.get(CrawlRun, result.runs[0].id).stats
        assert stats["rendered_pages"] == 2 and stats["render_seconds"] > 0 and stats["render_errors"] == 0


def test_static_render_never_starts_a_browser(tmp_path):
    routes = {"/": Reply(page('<div class="nav"><a href="/">首页</a><a href="/col/s/">通知公告</a>'
                              '<a href="/col/t/">工作动态</a></div>')),
              "/col/s/": Reply(page(SCRIPTED_LIST, "通知公告"))}
    with MockServer(routes) as server:
        config = edited(write_config(tmp_path, server),
            "    unit: 办公室\n", "    unit: 办公室\n    render: static\n")
        (tmp_path / "sites.yml").write_text(config, encoding="utf-8")
        result, factory = crawl(tmp_path, tmp_path / "sites.yml")
        column = [c for c in rows(factory, Column) if c.name == "通知公告"][0]
        assert (column.entries, column.rendered_by_js) == (0, False)
        with factory() as session:
            assert session.get(CrawlRun, result.runs[0].id).stats["rendered_pages"] == 0


def test_a_transient_failure_is_checked_again_before_it_counts(tmp_path):
    def flaky(count: int) -> Reply:
        # Scrapy's own retries (2) fail too; the second look after the crawl succeeds.
        if count <= 3:
            return Reply("busy", status=503, headers={"Content-Type": "text/plain"})
        return Reply(page("<p>恢复</p>", "恢复正常"))

    broken = Reply("down", status=500, headers={"Content-Type": "text/plain"})
    routes = {"/": Reply(page('<a href="/flaky.html">偶发</a><a href="/broken.html">持续出错</a>')),
              "/flaky.html": flaky, "/broken.html": broken}
    with MockServer(routes) as server:
        result, factory = crawl(tmp_path, write_config(tmp_path, server))
        pages = {p.url: p for p in rows(factory, Page)}
        assert (pages[server.url("/flaky.html")].status, pages[server.url("/flaky.html")].title) == (200, "恢复正常")
        assert pages[server.url("/broken.html")].status == 500
        assert server.hits["/flaky.html"] == 4 and server.hits["/broken.html"] == 6
        with factory() as session:
            stats = session.get(CrawlRun, result.runs[0].id).stats
            findings = session.scalars(select(FindingRecord)).all()
        assert (stats["rechecked"], stats["recovered"]) == (2, 1)
        assert [(f.check, f.url) for f in findings if f.check == "AV02"] == [("AV02", server.url("/broken.html"))]


def test_a_second_crawl_of_an_unchanged_site_is_answered_with_304s(tmp_path):
    import email.utils

    stamp = email.utils.format_datetime(dt.datetime(2026, 6, 1, tzinfo=dt.UTC), usegmt=True)
    body = page('<a href="/a.html">文章</a>' + "<p>正文</p>" * 200)

    def conditional(count: int) -> Reply:
        return Reply(body, headers={"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"',
                                    "Last-Modified": stamp})

    routes = {"/": conditional, "/a.html": conditional}
    with MockServer(routes) as server:
        original = server.httpd.RequestHandlerClass.do_GET

        def do_get(handler) -> None:
            if handler.headers.get("If-None-Match") == '"v1"':
                handler.send_response(304)
                handler.send_header("ETag", '"v1"')
                handler.end_headers()
                return
            original(handler)

        server.httpd.RequestHandlerClass.do_GET = do_get
        config = write_config(tmp_path, server)
        first, factory = crawl(tmp_path, config)
        second, _ = crawl(tmp_path, config)
        with factory() as session:
            one = session.get(CrawlRun, first.runs[0].id).stats
            two = session.get(CrawlRun, second.runs[0].id).stats
            titles = {p.url: p.title for p in session.scalars(select(Page).where(Page.crawl_run_id == second.runs[0].id))}
    assert (one["not_modified"], two["not_modified"]) == (0, 2)
    assert two["bytes_received"] < one["bytes_received"] / 5
    assert titles[server.url("/a.html")] == "页面"  # the stored copy is read as if fetched


def test_links_to_private_networks_and_other_schemes_are_never_probed():
    from crawler.spiders.portal import probe_allowed
    from govaudit.config import SiteConfig

    site = SiteConfig(id="s", name="站", url="http://www.example.gov.cn/", private_network=["127.0.0.0/8"])
    assert probe_allowed("http://www.gov.cn/", site)
    assert probe_allowed("http://127.0.0.1:8080/", site)  # loopback: configured for it
    assert not probe_allowed("http://127.0.0.1:8080/", site.model_copy(update={"private_network": False}))
    for url in ("http://10.1.2.3/", "http://192.168.1.1/admin", "http://172.20.0.5/", "http://169.254.169.254/",
                "http://100.64.1.1/", "http://[fd00::1]/", "ftp://ftp.example.gov.cn/a.doc", "file:///etc/passwd"):
        assert not probe_allowed(url, site), url


def test_a_private_address_linked_from_a_page_gets_no_request_and_no_finding(tmp_path):
    routes = {"/": Reply(page('<a href="http://192.168.10.1/oa/">内网办公系统</a><a href="/ok.html">正常</a>')),
              "/ok.html": Reply(page("<p>ok</p>"))}
    with MockServer(routes) as server:
        result, factory = crawl(tmp_path, write_config(tmp_path, server))
        assert rows(factory, Probe) == []
        [link] = rows(factory, Link, Link.to_url == "http://192.168.10.1/oa/")
        assert (link.kind, link.status, link.error) == ("external", None, None)
        with factory() as session:
            assert session.get(CrawlRun, result.runs[0].id).stats["not_probed"] == 1
            # None about the private link; the bare mock page lacks the footer marks and meta tags, the annual
            # report and the 网站工作年度报表.
            assert sorted(f.check for f in session.scalars(select(FindingRecord))) == [
                "AR01", "AR06", "ID01", "ID02", "UP01"]


def test_a_blank_column_of_a_flat_layout_is_not_taken_for_a_navigation_node(tmp_path):
    menu = ('<table><tr><td><a href="/">首页</a></td><td><a href="/col/gk/">信息公开</a></td>'
            '<td><a href="/col/blank/">财政预算</a></td><td><a href="/col/news/">工作动态</a></td>'
            '<td><a href="/about.html">关于我们</a></td></tr></table>')
    news = '<ul class="list"><li><a href="/art/1.html">县政府召开常务会议研究部署工作</a><span>2026-06-10</span></li></ul>'
    routes = {"/": Reply(page(menu + news)), "/col/news/": Reply(page(menu + news, "工作动态")),
              # a catalogue page: its own sub-columns, not on the home page
              "/col/gk/": Reply(page(menu + '<div><a href="/col/gk/tz/">通知公告</a><a href="/col/gk/zc/">政策文件</a>'
                                     '<a href="/col/gk/ys/">财政资金</a></div>', "信息公开")),
              # a blank column: nothing but the site's menu
              "/col/blank/": Reply(page(menu, "财政预算")),
              "/about.html": Reply(page(menu + "<p>简介</p>")), "/art/1.html": Reply(page("<p>正文</p>"))}
    columns = "".join(f'      - {{name: {name}, url: "{{url}}{path}", category: other}}\n'
                      for name, path in (("信息公开", "/col/gk/"), ("财政预算", "/col/blank/")))
    with MockServer(routes) as server:
        config = write_config(tmp_path, server).read_text(encoding="utf-8")
        config += "    columns:\n" + columns.replace("{url}", server.url("").rstrip("/"))
        (tmp_path / "sites.yml").write_text(config, encoding="utf-8")
        _, factory = crawl(tmp_path, tmp_path / "sites.yml")
        state = {c.name: (c.nav_only, c.entries) for c in rows(factory, Column)}
        assert state["信息公开"] == (True, 0)
        assert state["财政预算"] == (False, 0)
        with factory() as session:
            blank = [f.url for f in session.scalars(select(FindingRecord).where(FindingRecord.check == "UP04"))]
        assert server.url("/col/blank/") in blank and server.url("/col/gk/") not in blank


def test_text_meta_tags_home_footer_and_hidden_links_are_stored_and_audited(tmp_path):
    home = page("""<meta name="SiteName" content="测试站">
        <div class="nav"><a href="/">首页</a><a href="/art/1.html">公示</a></div>
        <div style="position:absolute;left:-9999px"><a href="http://127.0.0.1:9/bet">娱乐城</a></div>
        <div class="footer"><p>网站标识码：3607990099 赣ICP备12345678号 赣公网安备 36079902000199号</p>
        <img src="/images/red.png" alt="党政机关"></div>""", "测试站")
    doc = page("""<p>低保对象名单公示</p><table><tr><td>张三</td><td>360121198003151230</td></tr></table>
        <script>var x = "中华人名共和国";</script>""", "名单公示")
    routes = {"/": Reply(home), "/art/1.html": Reply(doc)}
    with MockServer(routes) as server:
        result, factory = crawl(tmp_path, write_config(tmp_path, server))
        assert result.runs[0].status == "completed"
        pages = {p.url: p for p in rows(factory, Page)}
        home_row, doc_row = pages[server.url("/")], pages[server.url("/art/1.html")]
        assert home_row.meta_tags == {"SiteName": "测试站"}
        assert home_row.footer["text"] == "网站标识码：3607990099 赣ICP备12345678号 赣公网安备 36079902000199号\n党政机关"
        assert "/images/red.png" in home_row.footer["marks"]
        assert doc_row.text == "低保对象名单公示\n张三\n360121198003151230" and doc_row.footer is None
        hidden = {link.to_url: link.hidden for link in rows(factory, Link)}
        assert hidden["http://127.0.0.1:9/bet"] == "position:absolute;left:-9999px on div"
        assert hidden[server.url("/art/1.html")] is None
        found = {(f.check, f.url) for f in rows(factory, FindingRecord) if f.check[:2] in ("SC", "ID")}
        # The script's wording is no text of the page: no SC02.
        assert found == {("SC01", server.url("/art/1.html")), ("SC03", server.url("/")), ("ID02", server.url("/"))}


def test_an_unchanged_page_is_not_read_again_and_a_changed_one_is(tmp_path):
    from govaudit.models import Document

    article = {"body": page("""<table><tr><td>索引号：</td><td>11360700MB1234567X/2026-00012</td>
        <td>发布机构：</td><td>县司法局</td></tr><tr><td>发布日期：</td><td>06-10</td><td>文号：</td>
        <td>兴府字〔2026〕5号</td></tr></table><p>正文</p><a href="/b.html">附件</a>""", "关于印发某办法的通知")}
    routes = {"/": Reply(page('<a href="/a.html">关于印发某办法的通知</a>')),
              "/a.html": lambda _count: Reply(article["body"]), "/b.html": Reply(page("附件页"))}
    db = audit_db_url(tmp_path)

    def night(as_of: dt.date):
        result = run(config, db_url=db, out_dir=None, as_of=as_of, log_dir=tmp_path / "logs",
                     options=CrawlOptions(cache_dir=tmp_path / "cache"))
        [crawl_run] = result.runs
        factory = open_database(db)
        [doc] = rows(factory, Document, Document.crawl_run_id == crawl_run.id, Document.url.like("%/a.html"))
        links = sorted((link.from_url.rsplit("/", 1)[1], link.to_url.rsplit("/", 1)[1])
                       for link in rows(factory, Link, Link.crawl_run_id == crawl_run.id))
        [text] = [p.text for p in rows(factory, Page, Page.crawl_run_id == crawl_run.id, Page.url.like("%/a.html"))]
        with factory() as session:
            stats = session.get(CrawlRun, crawl_run.id).stats
        return stats, doc, links, text

    with MockServer(routes) as server:
        config = write_config(tmp_path, server)
        one, doc1, links1, text1 = night(dt.date(2026, 6, 15))
        two, doc2, links2, text2 = night(dt.date(2027, 6, 15))
        article["body"] = article["body"].replace("县司法局", "县人民政府办公室")
        three, doc3, _, _ = night(dt.date(2027, 6, 16))

    assert (one["reused"], two["reused"], three["reused"]) == (0, 2, 1)  # a.html and b.html; then b.html
    assert (doc2.index_number, doc2.publisher, doc2.doc_number) == (doc1.index_number, doc1.publisher,
                                                                    doc1.doc_number)
    # A year-less date is read against each night's date, as a fresh reading would.
    assert (doc1.published_date, doc2.published_date) == (dt.date(2026, 6, 10), dt.date(2027, 6, 10))
    assert links2 == links1 and text2 == text1 and "正文" in text2
    assert doc3.publisher == "县人民政府办公室"
