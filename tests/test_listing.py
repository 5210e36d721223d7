"""Reading list pages, home-page items, links and menus from the HTML of real-looking 政务公开 portals."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crawler.listing import DataRequest, dated_items, extract_links, navigation_columns, read_data, read_list

FIXTURES = Path(__file__).parent / "fixtures" / "listing"
SITE = "http://www.example.gov.cn"
AS_OF = date(2024, 7, 1)


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.html").read_text(encoding="utf-8")


def page(body: str) -> str:
    return f"<html><head><meta charset='utf-8'><title>t</title></head><body>{body}</body></html>"


# -- read_list: the entries ----------------------------------------------------------------------------


def test_trs_column_lists_every_item_of_both_blocks_in_page_order_with_full_titles():
    listing = read_list(fixture("trs_column"), f"{SITE}/xxgk/tzgg/index.html", as_of=AS_OF)

    assert listing.reader == "html-list"
    assert [(e.date, e.date_text) for e in listing.entries] == [
        (date(2024, 6, 25), "2024-06-25"), (date(2024, 6, 18), "2024-06-18"), (date(2024, 5, 30), "2024-05-30"),
        (date(2024, 5, 12), "2024-05-12"), (date(2024, 4, 1), "2024-04-01")]
    first = listing.entries[0]
    # The anchor text is cut short; the title attribute holds the whole title.
    assert first.title == "某某市人民政府办公室关于2024年端午节放假安排的通知"
    assert first.url == f"{SITE}/xxgk/tzgg/202406/t20240625_1234567.html"
    assert listing.entries[4].title == "关于征求《某某市城市绿化管理办法（征求意见稿）》意见的公告"
    assert listing.placeholder is None and listing.subcolumns == []


def test_trs_create_page_html_script_gives_the_further_index_pages():
    listing = read_list(fixture("trs_column"), f"{SITE}/xxgk/tzgg/index.html", as_of=AS_OF)

    assert listing.next_pages == [f"{SITE}/xxgk/tzgg/index_{k}.html" for k in (1, 2, 3)]


def test_trs_pager_on_a_later_page_lists_the_others_but_not_itself():
    html = page("""<ul class="list"><li><a href="./202301/t20230105_1.html">关于某某事项的通知公告全文</a>
        <span>2023-01-05</span></li></ul>
        <script>createPageHTML(3, 2, "index", "shtml");</script>""")

    listing = read_list(html, f"{SITE}/tzgg/index_2.shtml", as_of=AS_OF)

    assert listing.next_pages == [f"{SITE}/tzgg/index.shtml", f"{SITE}/tzgg/index_1.shtml"]


def test_trs_pager_is_capped_at_200_pages():
    html = page('<script>createPageHTML("page_div", 5000, 0, "index", "html", 99999);</script>')

    listing = read_list(html, f"{SITE}/tzgg/", as_of=AS_OF)

    assert len(listing.next_pages) == 199
    assert listing.next_pages[-1] == f"{SITE}/tzgg/index_199.html"


def test_hanweb_datastore_records_are_read_and_its_dataproxy_gives_the_rest():
    listing = read_list(fixture("hanweb_column"), f"{SITE}/col/col1003/index.html", as_of=AS_OF)

    assert listing.reader == "hanweb-datastore"
    assert [e.title for e in listing.entries] == [
        "县政府召开第十二次常务会议", "全县防汛抗旱工作推进会召开", "我县开展安全生产月宣传咨询日活动"]
    assert listing.entries[0].url == f"{SITE}/art/2024/6/28/art_1003_88001.html"
    assert listing.entries[2].date == date(2024, 6, 3)
    # Records 4 to 40 come from dataproxy.jsp, not from guessed ?uid=&pageNum= pages.
    assert listing.next_pages == []
    assert listing.data == [DataRequest(
        f"{SITE}/module/web/jpage/dataproxy.jsp?startrecord=4&endrecord=40&perpage=15", "POST",
        "col=1&webid=1&path=/&columnid=1003&unitid=4567890&webname=%E6%9F%90%E6%9F%90%E5%8E%BF&permissiontype=0",
        "hanweb-dataproxy")]


def test_table_catalogue_skips_the_header_row_and_takes_the_publication_date_column():
    listing = read_list(fixture("table_catalogue"), f"{SITE}/xxgk/zcwj/index.jsp", as_of=AS_OF)

    assert listing.reader == "html-table"
    assert [e.title for e in listing.entries] == [
        "某某区关于加强城市管理的实施意见", "某某区人民政府关于调整区级议事协调机构的通知", "某某区促进中小企业发展若干措施"]
    # 发布日期, not the 成文日期 that comes first in the row; full-width digits are read too.
    assert [e.date for e in listing.entries] == [date(2024, 6, 21), date(2024, 6, 7), date(2024, 5, 20)]
    assert listing.entries[2].date_text == "2024/5/20"


def test_table_pagination_with_page_parameter_and_words():
    listing = read_list(fixture("table_catalogue"), f"{SITE}/xxgk/zcwj/index.jsp", as_of=AS_OF)

    assert listing.next_pages == [f"{SITE}/xxgk/zcwj/index.jsp?page={k}" for k in (2, 3, 9)]


def test_div_items_with_year_less_bracket_dates_take_the_year_from_as_of():
    html = page("""<div class="content">
        <div class="item"><a href="/a/1.html">关于做好春节期间安全生产工作的通知</a>[02-08]</div>
        <div class="item"><a href="/a/2.html">关于调整冬季供暖收费标准的公告文件</a>[12-28]</div>
        <div class="item"><a href="/a/3.html">某某区2023年度财政预算执行情况报告</a>[11-30]</div>
        </div>""")

    listing = read_list(html, f"{SITE}/a/", as_of=date(2024, 3, 1))

    assert [(e.date, e.date_text) for e in listing.entries] == [
        (date(2024, 2, 8), "02-08"), (date(2023, 12, 28), "12-28"), (date(2023, 11, 30), "11-30")]


@pytest.mark.parametrize(("markup", "expected"), [
    ("<li><a href='/d/1.html'>某某县关于印发实施方案的通知</a><em>(2024/6/25)</em></li>", date(2024, 6, 25)),
    ("<li><a href='/d/1.html'>某某县关于印发实施方案的通知</a><font color='#999'>2024年6月25日</font></li>",
     date(2024, 6, 25)),
    ("<li><a href='/d/1.html'>某某县关于印发实施方案的通知</a><span>２０２４－０６－２５</span></li>", date(2024, 6, 25)),
    ("<li><span class='date'>2024.06.25</span><a href='/d/1.html'>某某县关于印发实施方案的通知</a></li>",
     date(2024, 6, 25)),
    ("<li><a href='/d/1.html'>某某县关于印发实施方案的通知 (2024-06-25)</a></li>", date(2024, 6, 25)),
])
def test_dates_written_in_several_forms_are_read(markup: str, expected: date):
    html = page(f"<ul class='list'>{markup}{markup.replace('/d/1.html', '/d/2.html')}</ul>")

    listing = read_list(html, f"{SITE}/d/", as_of=AS_OF)

    assert [e.date for e in listing.entries] == [expected, expected]
    assert listing.entries[0].title == "某某县关于印发实施方案的通知"


def test_a_date_inside_the_title_is_not_taken_for_the_listing_date():
    html = page("""<ul class="list">
        <li><a href="/d/1.html">关于2024年6月1日起调整公交线路的通告</a><span>2024-05-20</span></li>
        <li><a href="/d/2.html">关于2024年5月1日劳动节放假安排的通知</a><span>2024-04-15</span></li></ul>""")

    listing = read_list(html, f"{SITE}/d/", as_of=AS_OF)

    assert [e.date for e in listing.entries] == [date(2024, 5, 20), date(2024, 4, 15)]


def test_a_list_whose_items_have_no_dates_is_still_read():
    html = page("""<div class="main"><ul class="doc-list">
        <li><a href="/zcwj/202401/t20240105_11.html">某某市人民政府关于印发某某市国土空间总体规划的通知</a></li>
        <li><a href="/zcwj/202312/t20231220_10.html">某某市人民政府关于进一步优化营商环境的若干意见</a></li>
        <li><a href="/zcwj/202311/t20231102_9.html">某某市人民政府关于公布行政规范性文件清理结果的决定</a></li>
        </ul></div>""")

    listing = read_list(html, f"{SITE}/zcwj/", as_of=AS_OF)

    assert listing.reader == "html-list"
    assert len(listing.entries) == 3
    assert all(e.date is None and e.date_text is None for e in listing.entries)


def test_a_single_dated_item_makes_a_column_that_is_not_blank():
    html = page("""<div class="list"><ul><li><a href="/ndbg/202401/t20240125_1.html">某某局2023年政府信息公开工作年度报告</a>
        <span>2024-01-25</span></li></ul></div>""")

    listing = read_list(html, f"{SITE}/ndbg/", as_of=AS_OF)

    assert [e.title for e in listing.entries] == ["某某局2023年政府信息公开工作年度报告"]


def test_the_main_list_wins_over_a_dated_box_in_the_sidebar():
    html = page("""<div class="sidebar"><h3>热点信息</h3><ul class="hot">
          <li><a href="/rd/1.html">热点新闻标题一二三四五</a><span>2024-06-30</span></li>
          <li><a href="/rd/2.html">热点新闻标题六七八九十</a><span>2024-06-29</span></li>
          <li><a href="/rd/3.html">热点新闻标题十一十二</a><span>2024-06-28</span></li></ul></div>
        <div class="content"><ul class="list">
          <li><a href="/tzgg/1.html">关于开展某某专项整治的通知</a><span>2023-01-02</span></li>
          <li><a href="/tzgg/2.html">关于某某事项公示的公告</a><span>2022-12-01</span></li></ul></div>""")

    listing = read_list(html, f"{SITE}/tzgg/", as_of=AS_OF)

    assert [e.url for e in listing.entries] == [f"{SITE}/tzgg/1.html", f"{SITE}/tzgg/2.html"]


def test_a_list_inside_a_left_block_is_read_when_nothing_else_is_listed():
    html = page("""<div class="main_left"><ul class="list">
          <li><a href="/xw/1.html">全区召开经济工作会议部署任务</a><span>2024-06-30</span></li>
          <li><a href="/xw/2.html">区领导调研重点项目建设进展</a><span>2024-06-21</span></li></ul></div>
        <div class="main_right"><p>联系电话：0571-12345678</p></div>""")

    listing = read_list(html, f"{SITE}/xw/", as_of=AS_OF)

    assert [e.date for e in listing.entries] == [date(2024, 6, 30), date(2024, 6, 21)]


def test_duplicate_links_in_a_list_count_once():
    item = "<li><a href='/d/1.html'><img src='x.jpg'></a><a href='/d/1.html'>某某区政务服务中心搬迁公告</a><span>2024-06-01</span></li>"
    listing = read_list(page(f"<ul class='list'>{item}{item}</ul>"), f"{SITE}/d/", as_of=AS_OF)

    assert [e.title for e in listing.entries] == ["某某区政务服务中心搬迁公告"]


# -- read_list: pagination ------------------------------------------------------------------------------


def test_pagination_words_and_numbers_give_this_lists_pages_only():
    html = page("""<div class="nav"><a href="/">首页</a><a href="/news/list.html">新闻</a><a href="/gk/list.html">公开</a></div>
        <ul class="list"><li><a href="/news/2024/0625/123.html">某某市召开防汛工作会议部署</a><span>2024-06-25</span></li>
          <li><a href="/news/2024/0624/122.html">某某市开展夏季消防安全检查</a><span>2024-06-24</span></li></ul>
        <div class="fy"><a href="list.html">首页</a> <a href="list.html">上一页</a> <span>2</span>
          <a href="list_3.html">3</a> <a href="list_4.html">4</a> <a href="list_3.html">下一页</a>
          <a href="list_12.html">尾页</a> <a href="javascript:goPage(5)">跳转</a></div>""")

    listing = read_list(html, f"{SITE}/news/list_2.html", as_of=AS_OF)

    assert listing.next_pages == [f"{SITE}/news/list.html", f"{SITE}/news/list_3.html",
                                  f"{SITE}/news/list_4.html", f"{SITE}/news/list_12.html"]


def test_pagination_never_returns_the_current_page_or_another_column():
    html = page("""<ul class="list"><li><a href="/tzgg/t1.html">关于某某事项的通知全文</a><span>2024-06-25</span></li></ul>
        <div class="page-box"><a href="./">1</a> <a href="index_1.html">2</a> <a href="/zcwj/index_1.html">下一页</a>
        <a href="/tzgg/index.html?pageNo=3">3</a> <a href="/tzgg/index.html?currPage=4">›</a></div>""")

    listing = read_list(html, f"{SITE}/tzgg/", as_of=AS_OF)

    assert listing.next_pages == [f"{SITE}/tzgg/index_1.html", f"{SITE}/tzgg/index.html?pageNo=3",
                                  f"{SITE}/tzgg/index.html?currPage=4"]


def test_a_single_page_list_has_no_further_pages():
    listing = read_list(fixture("blank_placeholder"), f"{SITE}/xxgk/ghjh/", as_of=AS_OF)

    assert listing.next_pages == []


def test_a_date_label_inside_the_link_dates_the_entry_and_is_not_its_title():
    html = page("""<ul class="list_ul">
        <li><a href="./202606/t20260612_1.html"><span class="date">2026-06-12</span>关于做好2026年汛期安全防范工作的通知</a></li>
        <li><a href="./202606/t20260610_2.html" title="关于开展城乡居民基本医疗保险集中参保缴费工作的通知"><em>[06-10]</em>
            <p>关于开展城乡居民基本医疗保险集中参保...</p></a></li>
        <li><a href="./202606/t20260601_3.html"><p>青岚县召开2026年第十次县政府常务会议</p><i>2026-06-01 09:30:00</i></a></li>
        </ul>""")

    listing = read_list(html, f"{SITE}/xxgk/tzgg/index.html", as_of=date(2026, 6, 15))

    assert [(e.title, e.date) for e in listing.entries] == [
        ("关于做好2026年汛期安全防范工作的通知", date(2026, 6, 12)),
        ("关于开展城乡居民基本医疗保险集中参保缴费工作的通知", date(2026, 6, 10)),
        ("青岚县召开2026年第十次县政府常务会议", date(2026, 6, 1))]


def test_a_short_label_inside_the_link_that_is_no_date_stays_in_the_title():
    html = page("""<ul class="list"><li><a href="./1.html"><span>2026年度预算</span>青岚县财政局部门预算公开说明</a></li>
        <li><a href="./2.html"><span>【置顶】</span>关于开展城乡居民医保集中参保缴费的通知</a></li></ul>""")

    listing = read_list(html, f"{SITE}/xxgk/czzj/index.html", as_of=date(2026, 6, 15))

    assert [(e.title, e.date) for e in listing.entries] == [
        ("2026年度预算青岚县财政局部门预算公开说明", None), ("【置顶】关于开展城乡居民医保集中参保缴费的通知", None)]


# -- read_list: blank columns and navigation nodes -----------------------------------------------------


def test_blank_column_with_sidebar_and_placeholder_text():
    listing = read_list(fixture("blank_placeholder"), f"{SITE}/xxgk/ghjh/", as_of=AS_OF)

    assert listing.entries == []
    assert listing.reader == "none"
    assert listing.placeholder == "暂无信息"
    # The sidebar's sibling columns and the breadcrumb are navigation, not sub-columns.
    assert listing.subcolumns == []


def test_blank_column_with_only_a_sidebar_shows_nothing_at_all():
    listing = read_list(fixture("blank_sidebar_only"), f"{SITE}/xxgk/rsxx/", as_of=AS_OF)

    assert (listing.entries, listing.placeholder, listing.subcolumns, listing.reader) == ([], None, [], "none")


@pytest.mark.parametrize("text", ["信息正在更新中...", "没有相关信息", "暂无数据", "本栏目暂无内容", "栏目建设中，敬请期待"])
def test_placeholder_texts_are_recognised(text: str):
    listing = read_list(page(f"<div class='content'><div class='list'>{text}</div></div>"), f"{SITE}/x/")

    assert listing.placeholder is not None and listing.placeholder in text


def test_placeholder_in_the_sidebar_does_not_count():
    listing = read_list(page("<div class='sidebar'>暂无信息</div><div class='content'></div>"), f"{SITE}/x/")

    assert listing.placeholder is None


def test_pure_navigation_node_lists_its_sub_columns():
    listing = read_list(fixture("nav_node"), f"{SITE}/xxgk/", as_of=AS_OF)

    assert listing.entries == [] and listing.placeholder is None
    assert listing.subcolumns == [
        ("政府信息公开指南", f"{SITE}/xxgk/zn/"), ("政府信息公开制度", f"{SITE}/xxgk/zd/"),
        ("法定主动公开内容", f"{SITE}/xxgk/fdzdgk/"), ("政府信息公开年报", f"{SITE}/xxgk/ndbg/"),
        ("依申请公开", f"{SITE}/xxgk/ysqgk/")]


def test_short_undated_links_are_sub_columns_not_entries():
    html = page("""<div class="content"><ul class="lm"><li><a href="/gk/jg/">机构职能</a></li>
        <li><a href="/gk/ld/">领导信息</a></li><li><a href="/gk/zc/">政策文件</a></li></ul></div>""")

    listing = read_list(html, f"{SITE}/gk/", as_of=AS_OF)

    assert listing.entries == []
    assert [name for name, _ in listing.subcolumns] == ["机构职能", "领导信息", "政策文件"]


def test_a_navigation_node_linking_an_article_lists_only_its_sub_columns():
    # A TRS 政府信息公开目录: its tree leads to the 指南 article itself and to the catalogue's columns.
    html = page("""<div class="xxgk_ml"><ul class="xxgk_tree">
        <li><a href="/xxgk/202301/t20230110_1001.html">政府信息公开指南</a></li>
        <li><a href="/xxgk/tzgg/">通知公告</a></li><li><a href="/xxgk/zcwj/">政策文件</a></li>
        <li><a href="/col/col4521/art/2024/6/25/art_4521_90011.html">机构职能</a></li></ul></div>""")

    listing = read_list(html, f"{SITE}/xxgk/", as_of=AS_OF)

    assert listing.entries == [] and listing.placeholder is None
    assert listing.subcolumns == [("通知公告", f"{SITE}/xxgk/tzgg/"), ("政策文件", f"{SITE}/xxgk/zcwj/")]


# -- dated_items -------------------------------------------------------------------------------------------


def test_home_page_dated_items_come_from_the_news_and_notice_blocks_not_the_navigation():
    items = dated_items(fixture("home"), f"{SITE}/", as_of=AS_OF)

    assert [(e.title, e.date) for e in items] == [
        ("市政府召开第28次常务会议", date(2024, 6, 28)),
        ("市长调研城市更新项目建设情况", date(2024, 6, 26)),
        ("全市优化营商环境工作推进会召开", date(2024, 6, 20)),
        ("关于2024年端午节放假的通知", date(2024, 6, 15)),
        ("关于开展2024年度统计执法检查的公告", date(2024, 5, 20)),
    ]
    assert items[3].date_text == "2024年6月15日"
    # The footer's "联系我们 2024-06-30 更新" pairs a link with a date, but the footer is not news.
    assert f"{SITE}/lxwm/" not in {e.url for e in items}


def test_dated_items_read_links_followed_by_a_date_without_item_markup():
    html = page("""<div class="gg"><a href="/gg/1.html">关于某某路段封闭施工的通告</a> 2024-06-20<br>
        <a href="/gg/2.html">关于开展防范电信诈骗宣传的通知</a><span>2024-06-10</span><br>
        <a href="/gg/3.html">某某街道办事处工作人员招聘公告</a><br></div>""")

    items = dated_items(html, f"{SITE}/", as_of=AS_OF)

    assert [(e.url, e.date) for e in items] == [(f"{SITE}/gg/1.html", date(2024, 6, 20)),
                                              (f"{SITE}/gg/2.html", date(2024, 6, 10))]


def test_dated_items_on_a_portal_of_links_is_empty():
    html = page("""<div class="nav"><a href="/a/">政务公开</a></div>
        <div class="portal"><a href="/zwgk/">政务公开</a><a href="/zwfw/">政务服务</a><a href="/hdjl/">互动交流</a></div>""")

    assert dated_items(html, f"{SITE}/", as_of=AS_OF) == []


# -- extract_links -----------------------------------------------------------------------------------------


def test_links_in_nav_header_footer_and_sidebar_are_marked_in_nav():
    links = {link.anchor: link.in_nav for link in extract_links(fixture("trs_column"),
                                                                 f"{SITE}/xxgk/tzgg/index.html")}

    assert links["政务动态"] is True  # <div class="nav">
    assert links["政策文件"] is True  # sidebar of sibling columns (main-left)
    assert links["网站地图"] is True  # footer
    assert links["信息公开"] is True  # breadcrumb
    assert links["关于开展2024年度安全生产大检查的通知"] is False


def test_links_inside_a_nav_element_versus_content():
    html = page("""<nav><a href="/a/">栏目一</a></nav><header><a href="/h/">页头</a></header>
        <div id="daohang"><a href="/d/">导航</a></div><div class="article"><a href="/c/">正文链接</a></div>
        <footer><a href="/f/">页脚</a></footer>""")

    assert [(link.anchor, link.in_nav) for link in extract_links(html, f"{SITE}/")] == [
        ("栏目一", True), ("页头", True), ("导航", True), ("正文链接", False), ("页脚", True)]


def test_links_are_resolved_against_base_href_and_fragments_removed():
    html = """<html><head><base href="http://cdn.example.gov.cn/site/"></head><body>
        <a href="doc/1.html#top">一</a><a href="/root.html">二</a><a href="https://x.gov.cn/p?a=1#f">三</a>
        </body></html>"""

    assert [link.url for link in extract_links(html, f"{SITE}/index.html")] == [
        "http://cdn.example.gov.cn/site/doc/1.html", "http://cdn.example.gov.cn/root.html", "https://x.gov.cn/p?a=1"]


def test_relative_links_resolve_against_the_page_and_scripts_mail_and_phone_are_dropped():
    html = page("""<a href="../zcwj/">政策文件</a><a href="javascript:void(0)">收藏</a>
        <a href="JavaScript:openWin('/x')">弹窗</a><a href="mailto:a@b.cn">信箱</a><a href="tel:12345">热线</a>
        <a href="#">顶部</a><a>无链接</a><a href=" ./t1.html ">  带  空格  </a>
        <map><area href="/map/a.html" alt="地图区域" title="地图区域"></map>
        <a href="/logo/"><img src="l.png" alt="某某市人民政府"></a>""")

    links = extract_links(html, f"{SITE}/xxgk/tzgg/index.html")

    assert [(link.anchor, link.url) for link in links] == [
        ("政策文件", f"{SITE}/xxgk/zcwj/"), ("带 空格", f"{SITE}/xxgk/tzgg/t1.html"),
        ("地图区域", f"{SITE}/map/a.html"), ("某某市人民政府", f"{SITE}/logo/")]


# -- navigation_columns ------------------------------------------------------------------------------------


def test_navigation_columns_are_the_main_menu_without_home_scripts_documents_or_other_hosts():
    columns = navigation_columns(fixture("home"), f"{SITE}/")

    assert columns == [
        ("政务公开", f"{SITE}/zwgk/"), ("通知公告", f"{SITE}/zwgk/tzgg/"), ("政策文件", f"{SITE}/zwgk/zcwj/"),
        ("政务动态", f"{SITE}/zwdt/"), ("政务服务", f"{SITE}/zwfw/"), ("互动交流", f"{SITE}/hdjl/"),
        ("走进某某", f"{SITE}/zjmm/")]


def test_navigation_columns_keep_the_port_of_the_site():
    html = page("""<ul id="menu"><li><a href="/">首页</a></li><li><a href="/a/">栏目甲</a></li>
        <li><a href="http://127.0.0.1:9/b/">他站</a></li><li><a href="/c/">栏目丙</a></li></ul>""")

    assert navigation_columns(html, "http://127.0.0.1:8123/") == [
        ("栏目甲", "http://127.0.0.1:8123/a/"), ("栏目丙", "http://127.0.0.1:8123/c/")]


def test_navigation_columns_of_a_page_without_a_menu_is_empty():
    assert navigation_columns(page("<p><a href='/a/'>甲</a></p>"), f"{SITE}/") == []


# -- robustness ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("html", ["", "   \n", "<", "<html><body><ul><li><a href='/x.html'>未闭合的标题一二三四五<span>2024-06-01"
                                  "<li><a href='/y.html'>未闭合的标题六七八九十<span>2024-05-01</ul></div></table>",
                                  "<?xml version='1.0' encoding='gbk'?><html><body><p>文</p></body></html>",
                                  "<div>" * 3000])
def test_malformed_or_empty_html_does_not_crash(html: str):
    listing = read_list(html, f"{SITE}/x/", as_of=AS_OF)
    dated_items(html, f"{SITE}/", as_of=AS_OF)
    extract_links(html, f"{SITE}/")
    navigation_columns(html, f"{SITE}/")

    assert isinstance(listing.entries, list)


def test_unclosed_tags_still_give_the_list():
    html = ("<html><body><div class='list'><ul><li><a href='/x.html'>未闭合的标题一二三四五</a><span>2024-06-01</span>"
            "<li><a href='/y.html'>未闭合的标题六七八九十</a><font>2024-05-01<p>")

    listing = read_list(html, f"{SITE}/", as_of=AS_OF)

    assert [(e.url, e.date) for e in listing.entries] == [(f"{SITE}/x.html", date(2024, 6, 1)),
                                                        (f"{SITE}/y.html", date(2024, 5, 1))]


def test_empty_string_gives_an_empty_list_page():
    listing = read_list("", f"{SITE}/x/")

    assert (listing.entries, listing.next_pages, listing.placeholder, listing.subcolumns, listing.reader) == (
        [], [], None, [], "none")


def test_dated_items_in_a_catalogue_table_take_the_publication_date():
    items = dated_items(fixture("table_catalogue"), f"{SITE}/", as_of=AS_OF)

    assert [e.date for e in items] == [date(2024, 6, 21), date(2024, 6, 7), date(2024, 5, 20)]


def test_a_margin_utility_class_or_a_wrapper_named_top_does_not_hide_the_list():
    items = "".join(f"<li><a href='/x/{i}.html'>某某区第{i}次政府常务会议纪要</a><span>2024-06-{i:02d}</span></li>"
                    for i in range(1, 23))
    spaced = page(f"<div class='list top20'><ul>{items}</ul></div>")
    wrapped = page(f"<div id='top'><div class='logo'>某某区</div><ul class='list'>{items}</ul></div>")

    assert len(read_list(spaced, f"{SITE}/x/", as_of=AS_OF).entries) == 22
    assert len(read_list(wrapped, f"{SITE}/x/", as_of=AS_OF).entries) == 22


def test_a_pager_named_pagenav_is_a_pager_and_documents_beside_the_list_are_not_pages():
    html = page("""<ul class="list"><li><a href="/news/2024062501.html">某某市召开防汛工作会议部署</a>
        <span>2024-06-25</span></li><li><a href="/news/show.jsp?p=77">某某市开展夏季消防安全检查</a>
        <span>2024-06-24</span></li></ul>
        <div class="pagenav"><a href="/news/list.jsp?page=2">2</a><a href="/news/list.jsp?page=2">下一页</a></div>""")

    listing = read_list(html, f"{SITE}/news/list.jsp", as_of=AS_OF)

    assert listing.next_pages == [f"{SITE}/news/list.jsp?page=2"]
    assert len(listing.entries) == 2


def test_a_large_menu_stays_navigation_on_a_blank_column_page():
    menu = "".join(f"<li><a href='/c{i}/'>栏目{i}</a></li>" for i in range(60))
    html = page(f"""<div class="menu"><ul>{menu}</ul></div>
        <div class="content"><h2>人事信息</h2><p>暂无信息</p></div><div class="footer">版权所有 某某市人民政府办公室</div>""")

    listing = read_list(html, f"{SITE}/rsxx/", as_of=AS_OF)

    assert (listing.entries, listing.subcolumns, listing.placeholder) == ([], [], "暂无信息")


# -- Hanweb (大汉) jpage lists: datastore and dataproxy.jsp ----------------------------------------------

NEXTGROUP = ("/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=27&path=/&columnid=4521&unitid=12345"
             "&webname=%E9%9D%92%E5%B2%9A%E5%8E%BF&permissiontype=0")
COLUMN_BODY = ("col=1&appid=1&webid=27&path=/&columnid=4521&unitid=12345&webname=%E9%9D%92%E5%B2%9A%E5%8E%BF"
               "&permissiontype=0")


def hanweb_page(records: int, config: str, nextgroup: str | None = NEXTGROUP) -> str:
    rows = "".join(
        f'<record><![CDATA[\n<li><a href="/art/2026/6/{1 + i % 28}/art_4521_{90000 + i}.html" target="_blank" '
        f'title="青岚县教育体育局工作动态第{i + 1}条">青岚县教育体育局工作动态第{i + 1}条</a>'
        f'<span class="bt_time">2026-06-{1 + i % 28:02d}</span></li>]]></record>\n'
        for i in range(records))
    group = f'<nextgroup><![CDATA[<a href="{nextgroup}"></a>]]></nextgroup>' if nextgroup else ""
    return page(f"""<div class="main-left"><ul><li><a href="/col/col4521/index.html">工作动态</a></li></ul></div>
        <div class="lm_con"><div id="4521"><script type="text/xml"><datastore>{group}
        <recordset>{rows}</recordset></datastore></script></div>
        <script type="text/javascript" src="/module/web/jpage/jpage.js"></script>
        <script type="text/javascript">{config}</script></div>""")


def test_jpage_datastore_asks_dataproxy_for_each_group_after_the_first():
    config = """$(document).ready(function(){ $('#4521').jpage({ dataStore: dataStore, containerID: '4521',
        proxyUrl: 'dataproxy.jsp', perPage: 15, totalRecord: 120, groupSize: 3, themeName: 'default' }); });"""

    listing = read_list(hanweb_page(45, config), f"{SITE}/col/col4521/index.html", as_of=date(2026, 7, 1))

    assert listing.reader == "hanweb-datastore" and len(listing.entries) == 45
    assert listing.next_pages == []
    proxy = f"{SITE}/module/web/jpage/dataproxy.jsp"
    assert listing.data == [
        DataRequest(f"{proxy}?startrecord=46&endrecord=90&perpage=15", "POST", COLUMN_BODY, "hanweb-dataproxy"),
        DataRequest(f"{proxy}?startrecord=91&endrecord=120&perpage=15", "POST", COLUMN_BODY, "hanweb-dataproxy")]


def test_jpage_settings_given_as_variables_and_the_default_group_of_three_pages():
    config = """var totalRecord = 75; var perPage = '10';
        $('#4521').jpage({ dataStore: dataStore, totalRecord: totalRecord, perPage: perPage });"""

    listing = read_list(hanweb_page(30, config), f"{SITE}/col/col4521/index.html", as_of=date(2026, 7, 1))

    assert [request.url.split("?")[1] for request in listing.data] == [
        "startrecord=31&endrecord=60&perpage=10", "startrecord=61&endrecord=75&perpage=10"]


def test_a_datastore_holding_every_record_needs_no_data_request():
    config = "$('#4521').jpage({ dataStore: dataStore, totalRecord: 4, perPage: 3 });"

    listing = read_list(hanweb_page(4, config), f"{SITE}/col/col4521/index.html", as_of=date(2026, 7, 1))

    assert (len(listing.entries), listing.data, listing.next_pages) == (4, [], [])


def test_without_per_page_the_datastore_is_taken_for_one_group():
    config = "$('#4521').jpage({ dataStore: dataStore, totalRecord: 100 });"

    listing = read_list(hanweb_page(45, config), f"{SITE}/col/col4521/index.html", as_of=date(2026, 7, 1))

    assert [request.url.split("?")[1] for request in listing.data] == [
        "startrecord=46&endrecord=90&perpage=45", "startrecord=91&endrecord=100&perpage=45"]


def test_jpage_without_a_nextgroup_keeps_the_uid_page_num_pages():
    config = "$('#4521').jpage({ dataStore: dataStore, totalRecord: 40, perPage: 15 });"

    listing = read_list(hanweb_page(15, config, nextgroup=None), f"{SITE}/col/col4521/index.html",
                        as_of=date(2026, 7, 1))

    assert listing.data == []
    assert listing.next_pages == [f"{SITE}/col/col4521/index.html?uid=4521&pageNum={k}" for k in (2, 3)]


DATAPROXY_ANSWER = """<?xml version="1.0" encoding="GBK"?>
<datastore>
  <nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&webid=27&columnid=4521"></a>]]></nextgroup>
  <recordset>
    <record><![CDATA[
<li><a href="/art/2026/3/12/art_4521_89901.html" title="县教育体育局召开2026年春季开学工作部署会" target="_blank">县教育体育局召开2026年春季开学工作部署会</a><span class="bt_time">2026-03-12</span></li>]]></record>
    <record><![CDATA[<li><a href="art_4521_89902.html">关于做好2026年义务教育阶段招生入学工作的通知</a><span>2026-03-05</span></li>]]></record>
    <record><![CDATA[<li><span class="bt_time">2026-03-01</span></li>]]></record>
    <record><![CDATA[<li><a href="/art/2026/2/27/art_4521_89903.html">全县中小学校园安全隐患排查整治工作启动</a><span>2026-02-27</span></li>
    <record>
<![CDATA[<tr><td><a href="/art/2026/2/20/art_4521_89904.html">县教育体育局2026年工作要点</a></td><td>2026-02-20</td></tr>]]>
</record>
  </recordset>
  <totalrecord>120</totalrecord>
</datastore>
"""


def test_a_dataproxy_answer_gives_its_records_as_entries():
    url = f"{SITE}/module/web/jpage/dataproxy.jsp?startrecord=46&endrecord=90&perpage=15"

    listing = read_data(DATAPROXY_ANSWER, url, "hanweb-dataproxy", as_of=date(2026, 7, 1))

    assert listing.reader == "hanweb-dataproxy"
    # The record without a link is skipped; the one missing its CDATA end and </record> is still read.
    assert [(e.title, e.url, e.date) for e in listing.entries] == [
        ("县教育体育局召开2026年春季开学工作部署会", f"{SITE}/art/2026/3/12/art_4521_89901.html", date(2026, 3, 12)),
        ("关于做好2026年义务教育阶段招生入学工作的通知", f"{SITE}/module/web/jpage/art_4521_89902.html",
         date(2026, 3, 5)),
        ("全县中小学校园安全隐患排查整治工作启动", f"{SITE}/art/2026/2/27/art_4521_89903.html", date(2026, 2, 27)),
        ("县教育体育局2026年工作要点", f"{SITE}/art/2026/2/20/art_4521_89904.html", date(2026, 2, 20))]
    assert (listing.next_pages, listing.data) == ([], [])


def test_a_dataproxy_answer_in_gbk_bytes_reads_like_its_text():
    url = f"{SITE}/module/web/jpage/dataproxy.jsp?startrecord=46&endrecord=90&perpage=15"

    as_bytes = read_data(DATAPROXY_ANSWER.encode("gbk"), url, "hanweb-dataproxy", as_of=date(2026, 7, 1))
    as_text = read_data("\ufeff  \n" + DATAPROXY_ANSWER, url, "hanweb-dataproxy", as_of=date(2026, 7, 1))

    assert as_bytes.entries == as_text.entries and len(as_text.entries) == 4


@pytest.mark.parametrize("answer", ["", "  \n", "<datastore><recordset></recordset></datastore>", "<html>500</html>",
                                    "<datastore><recordset><record><![CDATA[<li><a href='"])
def test_an_empty_or_broken_dataproxy_answer_gives_no_entries(answer: str):
    listing = read_data(answer, f"{SITE}/module/web/jpage/dataproxy.jsp", "hanweb-dataproxy")

    assert listing.entries == []


def test_read_data_refuses_a_reader_it_does_not_know():
    with pytest.raises(ValueError, match="trs-json"):
        read_data("{}", f"{SITE}/x", "trs-json")


# -- text_length: a column that is one article is not blank -----------------------------------------------

SIDEBAR = """<div class="ny_left fl"><div class="lm_name">政府信息公开</div><ul class="ny_lm_ul">
    <li><a href="/xxgk/zn/">政府信息公开指南</a></li><li><a href="/xxgk/jgzn/">机构职能</a></li>
    <li><a href="/xxgk/ldxx/">领导信息</a></li><li><a href="/xxgk/tzgg/">通知公告</a></li></ul></div>"""
FOOTER = """<div class="footer"><p>主办单位：青岚县人民政府办公室 承办单位：青岚县政务数据服务中心</p>
    <p>网站标识码：3607230001 赣ICP备05001234号-1 赣公网安备 36072302000123号</p>
    <p>地址：青岚县人民路1号 联系电话：0797-6312345</p><p>技术支持：某某信息技术有限公司</p></div>"""
ARTICLE = """<p>青岚县教育体育局是县人民政府工作部门，为正科级，加挂县语言文字工作委员会办公室牌子。</p>
    <p>主要职责：（一）贯彻执行国家、省、市有关教育和体育工作的方针、政策和法律法规，拟订全县教育体育改革与发展的
    政策措施并组织实施。（二）负责全县各级各类教育的统筹规划和协调管理，会同有关部门制订学校设置标准。
    （三）负责全县义务教育均衡发展和促进教育公平，指导中小学校的教育教学改革。（四）统筹推进全民健身活动，
    指导和推动群众性体育活动的开展。（五）完成县委、县政府交办的其他任务。</p>
    <p>内设机构：办公室、教育股、体育股、计划财务股、人事股、安全稳定股。</p>"""


def column_page(content: str) -> str:
    return page(f"""<div class="header"><div class="logo">青岚县教育体育局</div>
        <div class="nav"><a href="/">首页</a><a href="/xxgk/">信息公开</a></div></div>
        <div class="w1100 ny_main clearfix">{SIDEBAR}<div class="ny_right fr">
        <div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/xxgk/">信息公开</a> &gt; 机构职能</div>
        {content}</div></div>{FOOTER}""")


def test_a_single_article_column_has_a_long_text_and_a_blank_column_a_short_one():
    article = read_list(column_page(f"<div class='article'><h1>机构职能</h1>{ARTICLE}"
                                    "<div class='tools'>【<a href='javascript:window.print()'>打印本页</a>】"
                                    "【<a href='javascript:window.close()'>关闭窗口</a>】 浏览次数：1024</div></div>"),
                        f"{SITE}/xxgk/jgzn/", as_of=AS_OF)
    blank = read_list(column_page("<div class='column-title'>机构职能</div><div class='list'><p>暂无信息！</p></div>"),
                      f"{SITE}/xxgk/jgzn/", as_of=AS_OF)

    assert article.entries == [] and blank.entries == []
    assert article.text_length > 200
    assert blank.text_length == 4  # the heading 机构职能


FLAT_FOOTER = """<table width="1000" align="center"><tr><td align="center" height="80">
    <a href="/wzdt/">网站地图</a> | <a href="/lxwm/">联系我们</a><br>
    青岚县人民政府办公室 版权所有 &nbsp; 主办：青岚县人民政府办公室<br>
    地址：青岚县人民路1号 &nbsp; 电话：0797-6312345 &nbsp; 邮编：341000<br>
    赣ICP备05001234号 &nbsp; 网站标识码：3607230001 &nbsp; <img src="/images/ga.png">赣公网安备 36072302000123号<br>
    建议使用1280×768分辨率浏览本站</td></tr></table>"""


def flat_page(content: str) -> str:
    return page(f"""<table width="1000" align="center"><tr><td><img src="/images/banner.jpg"></td></tr>
        <tr><td>今天是：2026年6月15日 星期一 <a href="/">首页</a> <a href="/xxgk/">信息公开</a></td></tr></table>
        <table width="1000" align="center"><tr><td width="220" valign="top">
        <a href="/xxgk/zn/">政府信息公开指南</a><br><a href="/xxgk/jgzn/">机构职能</a></td>
        <td valign="top"><span>您现在的位置：</span><a href="/">首页</a> &gt; 政府信息公开指南<br>{content}</td>
        </tr></table>{FLAT_FOOTER}""")


def test_text_length_of_a_flat_table_layout_without_footer_classes():
    guide = read_list(flat_page(f"<b>青岚县人民政府信息公开指南</b><br>{ARTICLE}"), f"{SITE}/xxgk/zn/", as_of=AS_OF)
    blank = read_list(flat_page("<font color='#999'>本栏目暂无内容</font>"), f"{SITE}/xxgk/zn/", as_of=AS_OF)

    assert guide.text_length > 200
    assert blank.text_length == 0
    assert blank.placeholder == "暂无内容"


# -- sidebars named with any prefix ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["xxgk_left", "ny_left fl", "left_nav", "zwgk-left", "sub_left", "leftmenu",
                                  "col-left", "side-nav", "right_nav", "sidebar_con"])
def test_a_sidebar_named_with_any_prefix_or_suffix_is_navigation(name: str):
    html = page(f"""<div class="{name}"><p>暂无信息</p><ul><li><a href="/xxgk/tzgg/">通知公告</a></li>
        <li><a href="/xxgk/zcwj/">政策文件</a></li><li><a href="/xxgk/ghjh/">规划计划</a></li></ul></div>
        <div class="main"><h2>规划计划</h2></div>""")

    listing = read_list(html, f"{SITE}/xxgk/ghjh/", as_of=AS_OF)

    assert (listing.subcolumns, listing.placeholder) == ([], None)
    assert all(link.in_nav for link in extract_links(html, f"{SITE}/xxgk/ghjh/"))


@pytest.mark.parametrize("name", ["pull-left", "text-left", "float-left", "fl", "margin-left", "t-left",
                                  "left-0", "ny_right", "xxgk_right", "fa-angle-left"])
def test_utility_classes_and_a_right_hand_content_block_are_not_sidebars(name: str):
    html = page(f"""<div class="{name}"><ul><li><a href="/gk/jg/">机构职能</a></li>
        <li><a href="/gk/ld/">领导信息</a></li><li><a href="/gk/zc/">政策文件</a></li></ul></div>""")

    listing = read_list(html, f"{SITE}/gk/", as_of=AS_OF)

    assert [n for n, _ in listing.subcolumns] == ["机构职能", "领导信息", "政策文件"]
    assert not any(link.in_nav for link in extract_links(html, f"{SITE}/gk/"))


# -- split "day card" dates ------------------------------------------------------------------------------

@pytest.mark.parametrize("card", [
    '<div class="date"><b>12</b><span>2026-06</span></div>',
    '<span class="day">12</span><span class="ym">2026.06</span>',
    "<em>06-12</em><i>2026</i>",
    '<div class="time"><span>2026</span><p>06/12</p></div>',
    '<div class="date"><p class="d">12</p><p class="ym">2026年06月</p></div>',
    '<div class="sj"><span>2026</span><span>06</span><span>12</span></div>',
    "<strong>12</strong>2026-06",
])
def test_a_date_split_into_day_card_parts_dates_the_entry(card: str):
    items = "".join(f"<li>{card}<a href='./202606/t20260612_{i}.html'>关于做好2026年汛期安全防范工作的通知{i}</a></li>"
                    for i in (1, 2))

    # as_of before the date: the year is the card's, not one guessed from as_of.
    listing = read_list(page(f"<ul class='news_list'>{items}</ul>"), f"{SITE}/xxgk/tzgg/", as_of=date(2026, 6, 1))

    assert [(e.title, e.date) for e in listing.entries] == [
        ("关于做好2026年汛期安全防范工作的通知1", date(2026, 6, 12)), ("关于做好2026年汛期安全防范工作的通知2", date(2026, 6, 12))]


def test_a_day_card_inside_the_link_dates_the_entry_and_leaves_the_title():
    html = page("""<ul class="list">
        <li><a href="./202606/t20260612_1.html"><div class="date"><b>12</b><span>2026-06</span></div>
            <div class="tit">青岚县召开2026年第十次县政府常务会议</div></a></li>
        <li><a href="./202606/t20260605_2.html"><div class="date"><b>05</b><span>2026-06</span></div>
            <div class="tit">青岚县开展安全生产月宣传咨询日活动</div></a></li></ul>""")

    listing = read_list(html, f"{SITE}/xwzx/", as_of=date(2026, 6, 15))

    assert [(e.title, e.date, e.date_text) for e in listing.entries] == [
        ("青岚县召开2026年第十次县政府常务会议", date(2026, 6, 12), "12 2026-06"),
        ("青岚县开展安全生产月宣传咨询日活动", date(2026, 6, 5), "05 2026-06")]


@pytest.mark.parametrize("item", [
    "<li><span>12</span><a href='/x/{i}.html'>关于某某事项的通知全文{i}</a><span>2026-06</span></li>",
    "<li><a href='/x/{i}.html'>关于某某事项的通知全文{i}</a><span class='views'>12</span><span>2026-06</span></li>",
    "<li><a href='/x/{i}.html'>关于某某事项的通知全文{i}</a><p>共12项 2026-06期</p></li>",
    "<li><a href='/x/{i}.html'>关于某某事项的通知全文{i}</a><span>第12期</span><span>2026-06</span></li>",
    "<li><em class='num'>{i}</em><span>2026-06</span><a href='/x/{i}.html'>关于某某事项的通知全文{i}</a></li>",
])
def test_numbers_that_are_not_a_day_card_do_not_date_the_entry(item: str):
    items = "".join(item.format(i=i) for i in (1, 2))

    listing = read_list(page(f"<div class='content'><ul class='list'>{items}</ul></div>"), f"{SITE}/x/",
                        as_of=date(2026, 6, 15))

    assert [e.date for e in listing.entries] == [None, None]


def test_home_page_day_cards_date_its_items():
    html = page("""<div class="tzgg"><ul>
        <li><div class="date"><b>12</b><span>2026-06</span></div><a href="/tzgg/1.html">关于做好汛期安全防范工作的通知</a></li>
        <li><a href="/tzgg/2.html">关于开展城乡居民医保集中参保的通知</a><em>05-28</em><i>2026</i></li></ul></div>""")

    items = dated_items(html, f"{SITE}/", as_of=date(2026, 5, 1))

    assert [(e.url, e.date) for e in items] == [(f"{SITE}/tzgg/1.html", date(2026, 6, 12)),
                                              (f"{SITE}/tzgg/2.html", date(2026, 5, 28))]


def test_a_hit_counter_beside_a_home_page_link_is_no_day():
    html = page("""<div class="tzgg"><a href="/tzgg/1.html">关于做好汛期安全防范工作的通知</a>
        <span class="hits">12</span><span>2026-06</span><br></div>""")

    assert dated_items(html, f"{SITE}/", as_of=date(2026, 6, 20)) == []
