import datetime as dt
from pathlib import Path

import lxml.html

from crawler.metadata import parse_metadata

FIXTURES = Path(__file__).parent / "fixtures" / "metadata"
AS_OF = dt.date(2026, 1, 3)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


def test_hanweb_table_with_two_pairs_a_row_and_empty_cells():
    meta = parse_metadata(fixture("hanweb_table.html"), as_of=AS_OF)

    assert meta.found
    assert meta.index_number == "11370100004189314T/2025-00059"
    assert meta.publisher == "人防办工程管理处"
    assert meta.topic == "政务公开实施方案"
    assert meta.doc_number is None
    assert meta.validity is None
    assert meta.written_date == dt.date(2025, 6, 19)
    assert meta.published_date == dt.date(2025, 6, 19)
    assert meta.raw["公开方式"] == "主动公开"
    assert meta.raw["文件编号"] == ""
    assert meta.raw["文件登记号"] == ""


def test_labels_inside_scripts_and_styles_are_ignored():
    meta = parse_metadata(fixture("hanweb_table.html"), as_of=AS_OF)

    assert "SCRIPT" not in (meta.index_number or "")
    assert meta.publisher != "脚本里的机构"


def test_title_comes_from_the_article_title_meta_when_the_block_has_none():
    meta = parse_metadata(fixture("hanweb_table.html"), as_of=AS_OF)

    assert meta.title == "济南市国防动员办公室2025年度政务公开工作实施方案"


def test_seed_layout_with_label_and_value_on_sibling_lines():
    meta = parse_metadata(fixture("seed_lines.html"), as_of=AS_OF)

    assert meta.found
    assert meta.index_number == "11370100004189314T/2025-00059"
    assert meta.publisher == "人防办工程管理处"
    assert meta.topic == "政务公开实施方案"
    assert meta.written_date == dt.date(2025, 6, 19)
    assert meta.published_date == dt.date(2025, 6, 19)
    # "文件编号:" is directly followed by "成文日期:": an empty value, not the next label.
    assert meta.doc_number is None
    assert meta.validity is None
    assert meta.raw == {
        "索引号": "11370100004189314T/2025-00059",
        "公开方式": "主动公开",
        "发布机构": "人防办工程管理处",
        "组配分类": "政务公开实施方案",
        "文件编号": "",
        "成文日期": "2025-06-19",
        "有效性": "",
        "文件登记号": "",
        "发布日期": "2025-06-19",
    }


def test_seed_as_plain_lines_of_text():
    body = "<br>".join(["无障碍浏览", "首页 > 政务公开实施方案", "索引号:", "11370100004189314T/2025-00059",
                        "文件编号:", "成文日期:", "2025-06-19", "有效性:", "文件登记号:", "发布日期:", "2025-06-19",
                        "济南市国防动员办公室2025年度政务公开工作实施方案"])
    meta = parse_metadata(page(f"<div>{body}</div>"))

    assert meta.found
    assert meta.doc_number is None
    assert meta.validity is None
    assert meta.written_date == dt.date(2025, 6, 19)
    assert meta.published_date == dt.date(2025, 6, 19)


def test_trs_table_with_th_labels_spaced_labels_and_no_colons():
    meta = parse_metadata(fixture("trs_xxgk.html"), as_of=AS_OF)

    assert meta.found
    assert meta.index_number == "002482070/2024-00015"
    assert meta.topic == "国民经济管理、国有资产监管\\宏观经济"
    assert meta.publisher == "浙江省人民政府办公厅"
    assert meta.written_date == dt.date(2024, 2, 27)
    assert meta.published_date == dt.date(2024, 3, 5)
    assert meta.title == "浙江省人民政府办公厅关于进一步优化营商环境的若干意见"
    assert meta.doc_number == "浙政办发〔2024〕12号"
    assert meta.validity == "有效"


def test_subject_words_are_keywords_not_the_topic():
    meta = parse_metadata(fixture("trs_xxgk.html"), as_of=AS_OF)

    assert meta.raw["主题词"] == "经济管理 营商环境 意见"
    assert meta.topic != "经济管理 营商环境 意见"


def test_a_related_documents_list_repeating_a_label_does_not_override_the_block():
    meta = parse_metadata(fixture("trs_xxgk.html"), as_of=AS_OF)

    assert meta.published_date == dt.date(2024, 3, 5)
    assert "2024-01-01" not in meta.raw.values()


def test_div_and_span_layout_with_several_pairs_on_one_line():
    html = page("""
      <div class="article-info">
        <span>发布机构：兴国县人民政府办公室</span>&nbsp;&nbsp;
        <span>发布时间：2024-06-25 10:30</span>&nbsp;&nbsp;
        <span>文号：兴府办字〔2024〕35号</span>
        <span>浏览次数：<em id="hits">128</em></span>
      </div>
      <h1>兴国县人民政府办公室关于做好2024年防汛工作的通知</h1>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.found
    assert meta.publisher == "兴国县人民政府办公室"
    assert meta.published_date == dt.date(2024, 6, 25)
    assert meta.doc_number == "兴府办字〔2024〕35号"
    assert meta.raw["浏览次数"] == "128"


def test_definition_list_layout():
    html = page("""
      <dl class="gk-meta">
        <dt>信息索引号</dt><dd>000014349/2024-00031</dd>
        <dt>发布单位</dt><dd>国家发展和改革委员会</dd>
        <dt>成文时间</dt><dd>2024/5/8</dd>
        <dt>公开时间</dt><dd>2024/5/10</dd>
        <dt>效力状态</dt><dd>现行有效</dd>
        <dt>所属主题</dt><dd>综合政务\\其他</dd>
      </dl>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.found
    assert meta.index_number == "000014349/2024-00031"
    assert meta.publisher == "国家发展和改革委员会"
    assert meta.written_date == dt.date(2024, 5, 8)
    assert meta.published_date == dt.date(2024, 5, 10)
    assert meta.validity == "现行有效"
    assert meta.topic == "综合政务\\其他"


def test_label_value_pairs_in_list_items_with_full_width_colons_and_nbsp():
    html = page("""
      <ul class="xxgk-list">
        <li>索&nbsp;引&nbsp;号：113607320141012345/2024-00088&nbsp;&nbsp;</li>
        <li>发布 机构：兴国县发展和改革委员会　</li>
        <li>发文字号：兴发改字[2024]7号</li>
        <li>成文日期：二〇二四年三月八日</li>
        <li>时效性：有效</li>
      </ul>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.found
    assert meta.index_number == "113607320141012345/2024-00088"
    assert meta.publisher == "兴国县发展和改革委员会"
    assert meta.doc_number == "兴发改字[2024]7号"
    assert meta.written_date == dt.date(2024, 3, 8)
    assert meta.validity == "有效"
    assert meta.raw["索引号"] == "113607320141012345/2024-00088"
    assert meta.raw["发布机构"] == "兴国县发展和改革委员会"


def test_label_in_its_own_element_followed_by_a_colon_and_the_value():
    html = page("""
      <p><strong>索引号</strong>：11360732MB1234567X/2024-00002</p>
      <p><label>发文机关</label><span>兴国县教育局</span></p>
      <p><b>印发日期</b> : 2024年12月30日</p>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.index_number == "11360732MB1234567X/2024-00002"
    assert meta.publisher == "兴国县教育局"
    assert meta.written_date == dt.date(2024, 12, 30)


def test_an_empty_value_on_one_line_is_none_not_the_next_label():
    html = page("<p>文号：成文日期：2024-01-05 发布日期：2024-01-06 有效性：</p><p>正文第一段。</p>")
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.doc_number is None
    assert meta.written_date == dt.date(2024, 1, 5)
    assert meta.published_date == dt.date(2024, 1, 6)


def test_an_empty_last_cell_does_not_take_the_text_after_the_table():
    html = page("""
      <table><tr><td>索引号：</td><td>003/2024-1</td><td>发布机构：</td><td>某局</td></tr>
             <tr><td>有效性：</td><td></td></tr></table>
      <h1>关于印发某某办法的通知</h1>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.validity is None
    assert meta.raw["有效性"] == ""


def test_an_empty_last_value_outside_a_table_does_not_take_the_title_after_the_block():
    html = page("""
      <div class="xxgk-info">
        <div class="label">索引号:</div><div class="value">X/2025-7</div>
        <div class="label">发布机构:</div><div class="value">人防办工程管理处</div>
        <div class="label">有效性:</div><div class="value"></div>
      </div>
      <h1>济南市国防动员办公室2025年度政务公开工作实施方案</h1>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.publisher == "人防办工程管理处"
    assert meta.validity is None


def test_a_label_only_header_row_is_not_the_block():
    html = page("""
      <table class="list"><tr><th>索引号</th><th>文号</th><th>发布日期</th></tr></table>
      <div style="height:300px"></div><p>相关链接</p><p>返回顶部</p><p>上一篇</p><p>下一篇</p><p>打印</p>
      <table class="meta"><tr><td>索引号</td><td>11/2024-3</td><td>发布日期</td><td>2024-02-02</td></tr></table>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.found
    assert meta.index_number == "11/2024-3"
    assert meta.published_date == dt.date(2024, 2, 2)


def test_the_first_block_wins_over_a_repeated_block_later_on_the_page():
    block = "<table><tr><td>索引号：</td><td>{}</td><td>发布日期：</td><td>{}</td></tr></table>"
    filler = "".join(f"<p>正文第{n}段。</p>" for n in range(10))
    html = page(block.format("A/2024-1", "2024-03-01") + filler + block.format("B/2023-9", "2023-01-01"))
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.index_number == "A/2024-1"
    assert meta.published_date == dt.date(2024, 3, 1)


def test_a_repeated_block_right_after_the_first_does_not_override_it():
    block = "<table><tr><td>索引号：</td><td>{}</td><td>发布日期：</td><td>{}</td></tr></table>"
    html = page(block.format("A/2024-1", "2024-03-01") + block.format("B/2023-9", "2023-01-01"))
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.index_number == "A/2024-1"
    assert meta.published_date == dt.date(2024, 3, 1)


def test_raw_holds_the_block_not_the_breadcrumb_or_the_text_around_it():
    html = page("""
      <div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/zcwj/">政策文件</a></div>
      <div class="xxgk-meta"><dl>
        <dt>索引号:</dt><dd>11360799014123458H/2025-00303</dd>
        <dt>公开方式:</dt><dd>主动公开</dd>
        <dt>发布机构:</dt><dd>示范县人民政府办公室</dd>
        <dt>有效性:</dt><dd></dd>
        <dt>发布日期:</dt><dd>2025-11-01</dd>
      </dl></div>
      <h1>示范县人民政府办公室关于印发《示范县不动产登记便民利民措施》的通知</h1>
      <p>在线办理：<a href="http://zwfw.example/item/126">不动产登记网上申请</a></p>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.raw == {
        "索引号": "11360799014123458H/2025-00303",
        "公开方式": "主动公开",
        "发布机构": "示范县人民政府办公室",
        "有效性": "",
        "发布日期": "2025-11-01",
    }
    assert meta.validity is None


def test_a_news_page_without_a_metadata_block():
    html = page("""
      <div class="nav"><a href="/">首页</a> &gt; <a href="/xwzx/">新闻中心</a></div>
      <h1>县长调研春耕生产工作</h1>
      <div class="info">来源：县融媒体中心&nbsp;&nbsp;发布时间：2024-04-02 09:15&nbsp;&nbsp;【字体：大 中 小】</div>
      <div class="content"><p>4月1日，县长深入乡镇调研春耕生产。他强调：要抓好农时……</p></div>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert not meta.found
    assert meta.index_number is None
    assert meta.published_date == dt.date(2024, 4, 2)


def test_a_page_with_no_labels_at_all():
    meta = parse_metadata(page("<h1>网站地图</h1><ul><li><a href='/a'>政务公开</a></li></ul>"))

    assert not meta.found
    assert meta.raw == {}
    assert meta.index_number is None
    assert meta.published_date is None


def test_meta_tags_are_a_fallback_for_what_the_body_lacks():
    head = ("<meta name='ArticleTitle' content='关于开展2024年度统计执法检查的公告'>"
            "<meta name='PubDate' content='2024-07-15 16:03'>"
            "<meta name='ContentSource' content='兴国县统计局'>"
            "<meta name='索引号' content='11360732000000000X/2024-00011'>")
    meta = parse_metadata(page("<h1>关于开展2024年度统计执法检查的公告</h1><p>正文。</p>", head), as_of=AS_OF)

    assert not meta.found
    assert meta.title == "关于开展2024年度统计执法检查的公告"
    assert meta.published_date == dt.date(2024, 7, 15)
    assert meta.publisher == "兴国县统计局"
    assert meta.index_number == "11360732000000000X/2024-00011"


def test_a_label_written_with_an_empty_value_is_not_filled_from_meta_tags():
    head = "<meta name='PubDate' content='2024-07-15'>"
    body = "<table><tr><td>索引号：</td><td>X/2024-5</td><td>发布日期：</td><td></td></tr></table>"
    meta = parse_metadata(page(body, head), as_of=AS_OF)

    assert meta.found
    assert meta.published_date is None


def test_zhejiang_style_list_with_generation_date_and_unified_number():
    html = page("""
      <div class="xxgk_top"><ul>
        <li><span class="lab">索引号：</span><span>002482001/2024-123456</span></li>
        <li><span class="lab">组配分类：</span><span>规范性文件</span></li>
        <li><span class="lab">发布机构：</span><span>杭州市人民政府</span></li>
        <li><span class="lab">生成日期：</span><span>2024-08-30</span></li>
        <li><span class="lab">文件编号：</span><span>杭政〔2024〕38号</span></li>
        <li><span class="lab">统一编号：</span><span>AHZD01-2024-0012</span></li>
        <li><span class="lab">有效性：</span><span>有效</span></li>
      </ul></div>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.written_date == dt.date(2024, 8, 30)
    assert meta.doc_number == "杭政〔2024〕38号"
    assert meta.topic == "规范性文件"
    assert meta.raw["统一编号"] == "AHZD01-2024-0012"


def test_a_name_row_gives_the_title():
    html = page("""
      <table><tr><td>名　　称：</td><td colspan="3">兴国县人民政府关于公布行政规范性文件清理结果的决定</td></tr>
      <tr><td>索 引 号：</td><td>X/2024-9</td><td>文　　号：</td><td>兴府发〔2024〕3号</td></tr></table>
    """)
    meta = parse_metadata(html, as_of=AS_OF)

    assert meta.title == "兴国县人民政府关于公布行政规范性文件清理结果的决定"
    assert meta.index_number == "X/2024-9"
    assert meta.doc_number == "兴府发〔2024〕3号"


def test_the_body_wins_over_meta_tags():
    head = "<meta name='PubDate' content='2030-01-01'><meta name='ContentSource' content='新华社'>"
    body = "<p>发布机构：兴国县统计局</p><p>发布日期：2024-07-15</p>"
    meta = parse_metadata(page(body, head), as_of=AS_OF)

    assert meta.published_date == dt.date(2024, 7, 15)
    assert meta.publisher == "兴国县统计局"


def test_an_unparseable_date_is_none_but_stays_in_raw():
    meta = parse_metadata(page("<p>索引号：X/2024-1</p><p>成文日期：2024-13-45</p><p>发布日期：待定</p>"))

    assert meta.written_date is None
    assert meta.published_date is None
    assert meta.raw["成文日期"] == "2024-13-45"
    assert meta.raw["发布日期"] == "待定"


def test_a_document_number_is_never_read_as_a_date():
    meta = parse_metadata(page("<p>发文字号：国办发〔2024〕12号</p><p>发布日期：</p><p>成文日期：</p>"))

    assert meta.doc_number == "国办发〔2024〕12号"
    assert meta.written_date is None
    assert meta.published_date is None


def test_a_year_less_date_takes_its_year_from_as_of():
    meta = parse_metadata(page("<p>索引号：X/2025-1</p><p>发布日期：[12-30]</p>"), as_of=AS_OF)

    assert meta.published_date == dt.date(2025, 12, 30)


def test_labels_in_prose_do_not_count():
    html = page("<p>本办法的成文日期为2024年1月5日，索引号请见附件。</p><p>发布机构应当及时更新。</p>")
    meta = parse_metadata(html, as_of=AS_OF)

    assert not meta.found
    assert meta.written_date is None
    assert meta.index_number is None


def test_a_parsed_lxml_document_is_accepted():
    root = lxml.html.document_fromstring(page("<p>索引号：X/2024-2</p><p>发布日期：2024-02-02</p>"))

    meta = parse_metadata(root, as_of=AS_OF)

    assert meta.found
    assert meta.index_number == "X/2024-2"


def test_an_xhtml_page_with_an_xml_declaration_is_accepted():
    html = '<?xml version="1.0" encoding="utf-8"?>' + page("<p>索引号：X/2024-3</p><p>发布日期：2024-02-03</p>")

    assert parse_metadata(html).index_number == "X/2024-3"


def test_an_empty_page_has_no_metadata():
    assert parse_metadata("") == parse_metadata("   ")
    assert not parse_metadata("").found
