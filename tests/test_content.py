"""Reading a page's visible text, meta tags, footer and hidden links (crawler/content.py) from real-looking
portal markup."""

from __future__ import annotations

from crawler.content import footer_region, hidden_links, parse_html, read_page
from crawler.listing import extract_links

SITE = "http://www.example.gov.cn"


def page(body: str, head: str = "") -> str:
    return f"<html><head><meta charset='utf-8'><title>t</title>{head}</head><body>{body}</body></html>"


def hidden_by_href(html: str) -> dict[str, str]:
    return {a.get("href"): why for a, why in hidden_links(parse_html(html)).items()}


# -- visible text ------------------------------------------------------------------------------------


def test_text_puts_table_cells_on_their_own_lines_and_keeps_split_inline_numbers_whole():
    html = page("""<table class="gs-list"><tr><th>姓名</th><th>身份证号</th></tr>
        <tr><td>张三</td><td><span>3601211980</span><span>03151230</span></td></tr></table>
        <p>联系电话：<b>0797</b>-6812345</p>""")

    text = read_page(html).text

    assert text.splitlines() == ["姓名", "身份证号", "张三", "360121198003151230", "联系电话：0797-6812345"]


def test_text_leaves_out_scripts_styles_and_the_head_but_keeps_image_alt_text():
    html = page("""<script>var idcard = "360121198003151230";</script><style>.a{color:red}</style>
        <noscript>请启用脚本</noscript><div>正文<img src="/a.png" alt="党政机关"></div>""",
                head="<meta name='Description' content='描述'>")

    assert read_page(html).text == "正文 党政机关"


def test_text_is_capped():
    html = page("<p>" + "字" * 300_000 + "</p>")

    assert len(read_page(html).text) == 200_000


# -- meta tags ---------------------------------------------------------------------------------------


def test_meta_tags_by_name_as_written_first_one_wins_http_equiv_ignored():
    head = """<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
        <meta name="SiteName" content="示范县人民政府"><meta name="SiteDomain" content=" www.sfx.gov.cn ">
        <meta name="SiteIDCode" content="3607990001"><meta name="ColumnName" content="通知公告">
        <meta name="sitename" content="另一个"><meta name="SiteName" content="重复的">
        <meta name="PubDate" content="">"""

    meta = read_page(page("<p>x</p>", head=head)).meta

    assert meta == {"SiteName": "示范县人民政府", "SiteDomain": "www.sfx.gov.cn", "SiteIDCode": "3607990001",
                    "ColumnName": "通知公告", "sitename": "另一个", "PubDate": ""}


# -- footer ------------------------------------------------------------------------------------------


def test_footer_is_the_bottom_block_with_its_marks():
    html = page("""<div class="index_bottom_news"><p>网站标识码在这里不算</p></div>
        <div id="footer"><div class="copyright"><p>网站标识码：3607990001　赣ICP备12345678号-1</p>
        <p><a href="http://www.beian.gov.cn/portal/registerSystemInfo?recordcode=36079902000101">
        <img src="/images/ga.png">赣公网安备 36079902000101号</a></p>
        <span id="_ideConac"><script src="https://dcs.conac.cn/js/36/000/0000/1.js"></script></span></div></div>""")

    footer = read_page(html, footer=True).footer

    assert footer["text"].splitlines()[-2:] == ["网站标识码：3607990001 赣ICP备12345678号-1",
                                                "赣公网安备 36079902000101号"]
    assert "网站标识码在这里不算" not in footer["text"]
    assert "_ideConac" in footer["marks"] and "https://dcs.conac.cn/js/36/000/0000/1.js" in footer["marks"]
    assert "/images/ga.png" in footer["marks"]


def test_a_page_without_a_footer_block_gives_its_whole_body():
    html = page("<table><tr><td>主办：某某局</td></tr><tr><td>网站标识码：3607990012</td></tr></table>")

    footer = footer_region(parse_html(html))

    assert footer["text"] == "主办：某某局\n网站标识码：3607990012"


def test_footer_is_read_only_when_asked():
    assert read_page(page("<div class='footer'>x</div>")).footer is None


# -- hidden links ------------------------------------------------------------------------------------


def test_injected_hidden_blocks_are_found_by_inline_style_and_style_rules():
    html = page("""
        <div style="position:absolute; top:-9999px; left:-9999px;"><a href="http://a.example/">娱乐城</a></div>
        <div class="yc"><a href="http://b.example/">博彩</a></div>
        <div id="lk"><p><a href="http://c.example/">彩票</a></p></div>
        <div style="height:0;overflow:hidden"><a href="http://d.example/">d</a></div>
        <p style="text-indent:-20000px"><a href="http://e.example/">e</a></p>
        <span style="font-size:0"><a href="http://f.example/">f</a></span>
        <div style="visibility:hidden"><a href="http://g.example/">g</a></div>
        <div style="opacity:0"><a href="http://h.example/">h</a></div>
        <div hidden><a href="http://i.example/">i</a></div>
        <div style="background:#FFF"><a style="color:white" href="http://j.example/">j</a></div>
        <a href="http://www.gov.cn/">中国政府网</a>""",
                head="""<style type="text/css"><!--
            .yc { display : none !important }
            div#lk, .other { display:none; }
            @media print { .noprint { display:none } }
        --></style>""")

    hidden = hidden_by_href(html)

    assert hidden == {
        "http://a.example/": "position:absolute;left:-9999px on div",
        "http://b.example/": "display:none on div.yc",
        "http://c.example/": "display:none on div#lk",
        "http://d.example/": "height:0;overflow:hidden on div",
        "http://e.example/": "text-indent:-20000px on p",
        "http://f.example/": "font-size:0 on span",
        "http://g.example/": "visibility:hidden on div",
        "http://h.example/": "opacity:0 on div",
        "http://i.example/": "hidden attribute on div",
        "http://j.example/": "color #ffffff on background #ffffff (div)",
    }


def test_menus_tabs_and_styled_links_a_reader_can_see_are_not_hidden():
    html = page("""
        <div class="nav"><ul><li class="m"><a href="/xxgk/">信息公开</a>
            <ul class="sub"><li><a href="http://dept.example/">部门网站</a></li></ul></li></ul></div>
        <div class="tab"><span onmouseover="showTab(2)">市县网站</span>
            <div id="tab2" style="display:none"><a href="http://city.example/">某某市</a></div></div>
        <div class="yqlj"><div class="bd" style="display:none"><a href="http://x.example/">x</a></div></div>
        <div style="visibility:hidden"><p style="visibility:visible"><a href="http://v.example/">v</a></p></div>
        <a class="logo" style="text-indent:-9999px;background:url(/logo.png)" href="http://logo.example/">标志</a>
        <div style="background:#ffffff"><a style="color:#c00" href="http://red.example/">red</a></div>
        <div style="color:#fff;background:#fff"><a href="http://blue.example/">链接默认蓝色</a></div>
        <span style="font-size:0"><a href="http://img.example/"><img src="/banner.png"></a></span>
        <script>$(".yqlj .bd").show(); function showTab(n){ document.getElementById("tab"+n); }</script>""",
                head="<style>.sub{display:none} .m:hover .sub{display:block} .bd{color:red}</style>")

    assert hidden_by_href(html) == {}


def test_extract_links_carries_why_a_link_is_hidden():
    html = page("""<div class="footer"><a href="http://www.gov.cn/">中国政府网</a>
        <div style="display:none"><a href="http://bet.example/">娱乐</a></div></div>""")

    links = extract_links(html, f"{SITE}/")

    assert [(link.url, link.hidden) for link in links] == [
        ("http://www.gov.cn/", None), ("http://bet.example/", "display:none on div")]


def test_bad_markup_and_bad_css_do_not_raise():
    html = page("<div style='display'><a href='http://x.example/'>x</a></div>",
                head="<style>}}{{ a[ { display:none } .ok { } ::-moz-selection{display:none}</style>")

    assert hidden_by_href(html) == {}
    assert read_page("").text == "" and read_page("   ").meta == {}
