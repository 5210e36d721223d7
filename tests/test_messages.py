"""Message boards: their list and detail pages read (crawler.messages), working days counted
(govaudit.workdays), the calendar of sites.yml, and the message table migrated onto a 0003 database."""

from __future__ import annotations

import datetime as dt

import pytest

from crawler.dates import parse_date
from crawler.messages import has_reply, is_pending, merge, read_board, read_message
from govaudit.config import ConfigError, parse_config
from govaudit.workdays import WorkCalendar

BOARD = "http://www.example.gov.cn/hdjl/index.html"


def body(inner: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>县长信箱</title></head><body>
<div class="header"><a href="/">首页</a> <a href="/hdjl/">互动交流</a></div>
{inner}
<div class="footer"><p>主办单位：某县人民政府办公室　承办单位：某县大数据中心　联系电话：0797-1234567</p></div>
</body></html>"""


def test_a_board_table_is_read_by_its_header_in_any_order_with_full_width_dates():
    html = body("""<table class="list">
      <tr><th>办理状态</th><th>信件标题</th><th>答复单位</th><th>留言时间</th><th>答复时间</th></tr>
      <tr><td>已办结</td><td><a href="./202606/t20260601_11.html">关于滨河路路灯不亮的咨询</a></td>
          <td>县城市管理局</td><td>２０２６-０６-０１</td><td>2026年6月3日</td></tr>
      <tr><td>待回复</td><td><a href="./202605/t20260520_12.html">关于增设公交站点的建议</a></td>
          <td></td><td>2026-05-20 10:20</td><td></td></tr>
    </table>""")

    rows = read_board(html, BOARD)

    assert [row.url for row in rows] == ["http://www.example.gov.cn/hdjl/202606/t20260601_11.html",
                                         "http://www.example.gov.cn/hdjl/202605/t20260520_12.html"]
    first, second = rows[0].fields, rows[1].fields
    assert (first.title, first.status, first.unit) == ("关于滨河路路灯不亮的咨询", "已办结", "县城市管理局")
    assert parse_date(first.asked_text) == dt.date(2026, 6, 1)
    assert parse_date(first.replied_text) == dt.date(2026, 6, 3)
    assert (second.status, second.unit, second.replied_text) == ("待回复", None, None)
    assert parse_date(second.asked_text) == dt.date(2026, 5, 20)


def test_a_board_of_list_items_with_labelled_spans():
    html = body("""<ul class="xx-list">
      <li><a href="/hdjl/1.html" title="关于村道修缮的建议">关于村道修缮的建议</a>
          <span class="time">留言时间：2026-02-10</span><span class="zt">状态：待回复</span></li>
      <li><a href="/hdjl/2.html">咨询公积金提取</a><span>提问时间：2026/6/2</span>
          <span>回复时间：2026/6/4</span><span>回复部门：县住房公积金中心</span></li>
      <li><a href="/hdjl/more.html">更多咨询</a></li>
    </ul>""")

    rows = read_board(html, BOARD)

    assert [(r.url.rsplit("/", 1)[1], r.fields.title) for r in rows] == [("1.html", "关于村道修缮的建议"),
                                                                        ("2.html", "咨询公积金提取")]
    assert (rows[0].fields.asked_text, rows[0].fields.status) == ("2026-02-10", "待回复")
    assert (rows[1].fields.replied_text, rows[1].fields.unit) == ("2026/6/4", "县住房公积金中心")


def test_a_news_list_is_no_board():
    html = body("""<ul><li><a href="/a/1.html">县政府召开常务会议</a><span>2026-06-01</span></li></ul>
      <table><tr><th>标题</th><th>发布日期</th></tr><tr><td><a href="/a/2.html">通知</a></td><td>2026-06-02</td></tr></table>""")
    assert read_board(html, BOARD) == []


def test_a_detail_table_with_two_pairs_a_row_and_a_reply():
    html = body("""<table class="hd_xl_tab">
      <tr><td class="lab">信件标题</td><td colspan="3">关于城关镇滨河路路灯长期不亮的咨询</td></tr>
      <tr><td class="lab">来信时间</td><td>2026-06-07</td><td class="lab">办理状态</td><td>已办结</td></tr>
      <tr><td class="lab">来信内容</td><td colspan="3">反映的问题已持续较长时间。</td></tr>
      <tr><td class="lab">答复单位</td><td>县城市管理局</td><td class="lab">答复时间</td><td>2026-06-09 16:30</td></tr>
      <tr><td class="lab">答复内容</td><td colspan="3">您好！已整改完毕。</td></tr>
    </table>""")

    fields = read_message(html)

    assert fields is not None
    assert (fields.title, fields.asked_text, fields.status) == ("关于城关镇滨河路路灯长期不亮的咨询", "2026-06-07", "已办结")
    assert (fields.unit, fields.replied_text) == ("县城市管理局", "2026-06-09 16:30")
    assert fields.reply.startswith("您好") and has_reply(fields, parse_date(fields.replied_text))


def test_an_empty_reply_block_is_not_filled_from_what_follows_it():
    html = body("""<div class="msg">
      <p><span>留言时间：</span><span>2026-02-10 10:20</span></p>
      <div class="reply"><h4>答复内容</h4><div class="reply-text"></div></div>
    </div>
    <div class="tools">【打印本页】【关闭窗口】</div>""")

    fields = read_message(html)

    assert fields is not None and fields.asked_text == "2026-02-10 10:20"
    assert fields.reply == "" and fields.unit is None  # the footer's 承办单位 is the site's, not a reply unit
    assert not has_reply(fields, None)


@pytest.mark.parametrize("reply", ["未回复", "待回复", "处理中", "正在办理中，请耐心等待。", "暂未答复"])
def test_a_reply_that_says_it_is_pending_is_no_answer(reply):
    html = body(f"<dl><dt>提问时间</dt><dd>2026年5月3日</dd><dt>回复内容</dt><dd>{reply}</dd></dl>")

    fields = read_message(html)

    assert fields is not None and parse_date(fields.asked_text) == dt.date(2026, 5, 3)
    assert is_pending(fields.reply) and not has_reply(fields, None)


def test_an_article_is_no_message():
    html = body("""<div class="article"><h1>县政府召开常务会议</h1><p>发布时间：2026-06-01</p>
      <p>会议研究了当前重点工作。</p></div>""")
    assert read_message(html) is None


def test_the_page_wins_over_the_row_and_a_status_alone_answers_only_an_unread_page():
    html = body("""<div><p>来信日期：2026-05-02</p><p>答复日期：2026-05-06</p><p>答复内容：已答复。</p></div>""")
    row = read_board(body("""<table><tr><th>标题</th><th>来信日期</th><th>状态</th></tr>
        <tr><td><a href="/hdjl/9.html">咨询</a></td><td>05-01</td><td>已回复</td></tr></table>"""), BOARD)[0]

    merged = merge(row.fields, read_message(html))

    assert (merged.title, merged.asked_text, merged.replied_text, merged.status) == (
        "咨询", "2026-05-02", "2026-05-06", "已回复")
    assert has_reply(merge(row.fields, None), None)  # 已回复 on the board, page not read
    empty_page = read_message(body("<p>来信日期：2026-05-02</p><p>答复内容：</p>"))
    assert not has_reply(merge(row.fields, empty_page), None)  # the page shows the reply is empty


def test_working_days_skip_weekends_and_holidays_and_count_make_up_days():
    work = WorkCalendar()
    # Friday to the next Thursday: four working days.
    assert work.working_days_between(dt.date(2026, 6, 5), dt.date(2026, 6, 11)) == 4
    # 劳动节 2026: 1-5 May off, Saturday 9 May worked.
    assert work.working_days_between(dt.date(2026, 4, 30), dt.date(2026, 5, 8)) == 3
    assert work.working_days_between(dt.date(2026, 4, 30), dt.date(2026, 5, 9)) == 4
    # 国庆 2025: 1-8 October off, Sunday 28 September and Saturday 11 October worked.
    assert work.is_working(dt.date(2025, 9, 28)) and work.is_working(dt.date(2025, 10, 11))
    assert not work.is_working(dt.date(2025, 10, 8))
    assert work.working_days_between(dt.date(2026, 6, 10), dt.date(2026, 6, 10)) == 0
    assert work.add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)


def test_a_configured_calendar_adds_to_or_replaces_the_bundled_one():
    local = WorkCalendar([dt.date(2026, 6, 8)], [dt.date(2026, 6, 13)])
    assert local.working_days_between(dt.date(2026, 6, 5), dt.date(2026, 6, 15)) == 6
    bare = WorkCalendar(bundled=False)
    assert bare.working_days_between(dt.date(2026, 4, 30), dt.date(2026, 5, 8)) == 6


def test_sites_yml_calendar_is_merged_into_each_site_and_a_bad_date_names_its_line():
    text = """calendar:
  holidays: [2026-06-08]
  workdays: [2026-06-13]
sites:
  - {id: a, name: A, url: 'http://a.test/'}
  - id: b
    name: B
    url: 'http://b.test/'
    calendar: {holidays: [2026-06-09], bundled: false}
"""
    config = parse_config(text)
    a, b = config.site("a").calendar, config.site("b").calendar
    assert (a.holidays, a.workdays, a.bundled) == ([dt.date(2026, 6, 8)], [dt.date(2026, 6, 13)], True)
    assert (b.holidays, b.bundled) == ([dt.date(2026, 6, 8), dt.date(2026, 6, 9)], False)
    assert not a.work_calendar().is_working(dt.date(2026, 6, 8))
    assert not b.work_calendar().is_working(dt.date(2026, 6, 9))
    assert b.work_calendar().is_working(dt.date(2026, 10, 8))  # bundled 国庆 dropped for b

    with pytest.raises(ConfigError) as err:
        parse_config("calendar:\n  holidays: [2026-13-40]\nsites:\n  - {id: a, name: A, url: 'http://a.test/'}\n")
    assert "sites.yml:2: calendar.holidays[0]" in str(err.value)


def test_a_database_at_0003_is_upgraded_with_the_message_table_and_keeps_its_rows(tmp_path):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import text

    from govaudit.db import alembic_config, make_engine, open_database
    from govaudit.models import Base, Message, Page

    url = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO site (id, name, url, kind) VALUES ('s', 'n', 'http://s.test/', 'department')"))
        conn.execute(text("INSERT INTO audit_run (id, started_at, as_of, status) VALUES (1, '2026-01-01', '2026-01-01', 'completed')"))
        conn.execute(text("INSERT INTO crawl_run (id, audit_run_id, site_id, started_at, as_of, status) "
                          "VALUES (1, 1, 's', '2026-01-01', '2026-01-01', 'completed')"))
        conn.execute(text("INSERT INTO page (crawl_run_id, url, status, fetched_at, rendered_by_js, depth, kind) "
                          "VALUES (1, 'http://s.test/', 200, '2026-01-01', 0, 0, 'home')"))
    engine.dispose()

    factory = open_database(url)
    with factory.kw["bind"].connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    with factory.begin() as session:
        assert [p.url for p in session.query(Page)] == ["http://s.test/"]
        assert session.query(Message).count() == 0
        session.add(Message(crawl_run_id=1, column_url="http://s.test/hdjl/", url="http://s.test/hdjl/1.html",
                            asked=dt.date(2025, 12, 1), answered=False, page_read=True))
    with factory() as session:
        [message] = session.query(Message).all()
        assert (message.asked, message.replied, message.answered) == (dt.date(2025, 12, 1), None, False)


def test_a_board_found_in_the_menu_is_crawled_into_messages_and_read_the_same_from_unchanged_pages(tmp_path):
    from govaudit.models import CrawlRun, FindingRecord, Message
    from tests.mockserver import MockServer, Reply
    from tests.test_crawler import crawl, page, rows, write_config

    home = page('<div class="nav"><a href="/">首页</a><a href="/gzdt/">工作动态</a><a href="/tzgg/">通知公告</a>'
                '<a href="/xx/">县长信箱</a></div>', "测试县人民政府")
    news = page('<ul class="list"><li><a href="/gzdt/1.html">县政府召开常务会议部署重点工作</a><span>2026-06-10</span>'
                '</li></ul>', "工作动态")
    board = page("""<ul class="xx-list">
        <li><a href="/xx/1.html">关于村道修缮的建议</a><span>留言时间：2026-02-10</span><span>状态：待回复</span></li>
        <li><a href="/xx/2.html">咨询公积金提取</a><span>留言时间：2026-06-01</span><span>状态：已回复</span></li>
        <li><a href="/xx/3.html">关于夜市噪音的投诉</a><span>留言时间：2026-01-05</span><span>状态：待回复</span></li>
        </ul>""", "县长信箱")
    first = page("""<table><tr><th>留言时间</th><td>2026-02-10</td></tr>
        <tr><th>答复内容</th><td></td></tr></table>""", "关于村道修缮的建议")
    second = page("""<table><tr><th>留言时间</th><td>2026-06-01</td><th>回复时间</th><td>2026-06-10</td></tr>
        <tr><th>回复部门</th><td>县住房公积金中心</td></tr><tr><th>答复内容</th><td>可线上提取。</td></tr></table>""",
                  "咨询公积金提取")
    routes = {"/": Reply(home), "/gzdt/": Reply(news), "/tzgg/": Reply(news), "/gzdt/1.html": Reply(page("<p>正文</p>")),
              "/xx/": Reply(board), "/xx/1.html": Reply(first), "/xx/2.html": Reply(second)}
    with MockServer(routes) as server:
        config = write_config(tmp_path, server)
        found = []
        for _ in range(2):  # the second crawl re-uses what the unchanged pages read as
            result, factory = crawl(tmp_path, config)
            run = result.runs[0]
            found.append(sorted(
                (m.url.rsplit("/", 1)[1], m.asked, m.replied, m.reply_unit, m.status, m.answered, m.page_read)
                for m in rows(factory, Message, Message.crawl_run_id == run.id)))
        assert found[0] == found[1] == [
            ("1.html", dt.date(2026, 2, 10), None, None, "待回复", False, True),
            ("2.html", dt.date(2026, 6, 1), dt.date(2026, 6, 10), "县住房公积金中心", "已回复", True, True),
            ("3.html", dt.date(2026, 1, 5), None, None, "待回复", False, False),  # its page is 404
        ]
        findings = rows(factory, FindingRecord, FindingRecord.crawl_run_id == run.id,
                        FindingRecord.check.in_(("IN01", "IN02")))
        assert {(f.check, f.url.rsplit("/", 1)[1], f.column) for f in findings} == {
            ("IN01", "1.html", "县长信箱"), ("IN01", "3.html", "县长信箱"), ("IN02", "2.html", "县长信箱")}
        with factory() as session:
            assert session.get(CrawlRun, run.id).stats["reused"] >= 2
