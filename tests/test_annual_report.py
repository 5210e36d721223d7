"""govaudit.annual_report on report pages written the way county and department sites publish them
(tests/fixtures/annual_reports/, the 2021 format of 国办公开办函〔2021〕30号) and on the grids a PDF
extractor gives for one of them (merged areas as None)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from govaudit.annual_report import (
    APPLICATION_TABLE,
    REVIEW_TABLE,
    SECTIONS,
    application_tables,
    carry_over,
    check_arithmetic,
    find_sections,
    html_tables,
    html_text,
    is_annual_report_title,
    number,
    report_year,
    similarity,
)

FIXTURES = Path(__file__).parent / "fixtures" / "annual_reports"
COUNTY_2024 = "wangshan-county-2024.html"
COUNTY_2025 = "wangshan-county-2025.html"
DEPT_2024 = "wangshan-natural-resources-2024.html"
DEPT_2025 = "wangshan-natural-resources-2025.html"
TOWN_2024 = "shiqiao-town-2024.html"  # 本年新收 总计 written as 8 where the row adds up to 7
STATISTICS_2024 = "wangshan-statistics-2024.html"  # no 行政复议、行政诉讼 section
ALL_PAGES = (COUNTY_2024, COUNTY_2025, DEPT_2024, DEPT_2025, TOWN_2024, STATISTICS_2024)


def page(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def tables(name: str) -> list[list[list[str]]]:
    return html_tables(page(name))


def sections(name: str) -> dict[str, str | None]:
    return find_sections(html_text(page(name)))


def application_grid(grids: list[list[list[str]]]) -> list[list[str]]:
    return next(g for g in grids if len(g) > 3 and any("本年新收" in c for c in g[3]))


def pdf_grids() -> list[list[list[str | None]]]:
    """The county's 2024 tables as pdfplumber extracts them from the PDF edition."""
    return json.loads((FIXTURES / "wangshan-county-2024.pdf-tables.json").read_text(encoding="utf-8"))


# --- titles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "year"),
    [
        ("望山县人民政府2025年政府信息公开工作年度报告", 2025),
        ("望山县自然资源局2024年度政府信息公开工作年度报告", 2024),
        ("望山县二〇二四年政府信息公开工作年度报告", 2024),
        ("望山县２０２３年政府信息公开工作年度报告", 2023),
        ("望山县二Ｏ二二年政府信息公开工作年度报告", 2022),
        ("关于公布望山县2024 年政府信息公开工作年度报告的说明（2025年1月）", 2024),
        ("政府信息公开工作年度报告", None),
    ],
)
def test_report_year_reads_the_year_the_report_is_about(title: str, year: int | None) -> None:
    assert report_year(title) == year


@pytest.mark.parametrize(
    "title",
    [
        "望山县人民政府2024年政府信息公开工作年度报告",
        "望山县统计局2024年度政府信息公开工作报告",
        "石桥镇2024年政府信息公开年报",
        "望山县财政局2024年政府信息公开工作年度报告",
    ],
)
def test_annual_report_titles_are_recognised(title: str) -> None:
    assert is_annual_report_title(title)


@pytest.mark.parametrize(
    "title",
    [
        "望山县人民政府2024年政府网站工作年度报表",
        "望山县2024年财政预算执行情况和2025年财政预算草案的报告",
        "望山县2024年财政信息及政府信息公开工作年度报告（财政资金专项）",
        "关于做好2024年政府信息公开工作年度报告编制发布工作的通知",
        "国务院办公厅政府信息与政务公开办公室关于印发《中华人民共和国政府信息公开工作年度报告格式》的通知",
        "图解：望山县2024年政府信息公开工作年度报告",
        "望山县2024年政务公开工作要点",
    ],
)
def test_lookalike_titles_are_not_annual_reports(title: str) -> None:
    assert not is_annual_report_title(title)


# --- cells and tables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("12", 12), ("１２", 12), ("1,234", 1234), ("１，２３４", 1234), (" 7 ", 7), ("3件", 3), ("4（件）", 4), ("5.00", 5),
        ("", 0), (None, 0), ("—", 0), ("——", 0), ("-", 0), ("－", 0), ("/", 0), ("无", 0), ("\u3000", 0),
        ("见附件", None), ("12.5", None), ("约10", None),
    ],
)
def test_number_reads_count_cells(cell: str | None, value: int | None) -> None:
    assert number(cell) == value


def test_html_tables_expands_rowspan_and_colspan_repeating_the_merged_text() -> None:
    grid, = html_tables(
        "<table><thead><tr><th rowspan=2>项目</th><th colspan=2>申请人</th></tr>"
        "<tr><th>自然<br>人</th><th>法人</th></tr></thead>"
        "<tbody><tr><td colspan=3>合计 <b>3</b></td></tr><tr><td rowspan=0>备注</td><td>1</td><td>2</td></tr>"
        "<tr><td>x</td><td></td></tr></tbody></table>"
    )
    assert grid == [
        ["项目", "申请人", "申请人"],
        ["项目", "自然 人", "法人"],
        ["合计 3", "合计 3", "合计 3"],
        ["备注", "1", "2"],
        ["备注", "x", ""],
    ]


def test_html_tables_keeps_a_nested_table_out_of_the_cell_around_it() -> None:
    outer, inner = html_tables(
        "<table><tr><td>正文<table><tr><td>自然人</td><td>5</td></tr></table>完</td><td>右</td></tr></table>"
    )
    assert outer == [["正文 完", "右"]]
    assert inner == [["自然人", "5"]]


def test_html_tables_and_text_read_bytes_in_utf8_or_in_the_pages_declared_charset() -> None:
    assert html_tables("<table><tr><td>自然人</td></tr></table>".encode()) == [[["自然人"]]]
    gbk = '<html><head><meta charset="gbk"></head><body><p>总体情况</p></body></html>'.encode("gbk")
    assert html_text(gbk) == "总体情况"


def test_ragged_rows_from_an_extractor_are_read_as_blank_cells() -> None:
    grids = pdf_grids()
    def strip(row: list[str | None]) -> list[str | None]:  # trailing empty cells dropped
        while row and row[-1] in ("", None):
            row = row[:-1]
        return row

    ragged = [[strip(row) for row in grid] for grid in grids]
    assert any(len(row) < max(map(len, grid)) for grid in ragged for row in grid)
    assert check_arithmetic(ragged) == []
    ragged[1][3][3] = "87"  # 本年新收 自然人
    assert [d.cell.split("（第")[0] for d in check_arithmetic(ragged)] == ["一、本年新收政府信息公开申请数量 / 自然人"]


def test_html_tables_of_nothing_is_empty() -> None:
    assert html_tables("") == []
    assert html_tables("<p>没有表格</p><table></table>") == []


def test_a_county_page_yields_its_layout_and_metadata_tables_and_the_three_report_tables() -> None:
    grids = tables(COUNTY_2024)
    application = application_grid(grids)
    assert len(application) == 28 and {len(row) for row in application} == {10}
    # 三、本年度办理结果 (rowspan 22) repeated down the first column; （三）不予公开 (rowspan 8) beside it.
    assert [row[0] for row in application[5:27]] == ["三、本年度办理结果"] * 22
    assert [row[1] for row in application[7:15]] == ["（三）不予公开"] * 8
    assert application[3][3:] == ["86", "9", "—", "1", "3", "2", "101"]
    assert application[1][4:9] == ["法人或其他组织"] * 5


def test_html_text_gives_one_line_per_block_and_per_table_row() -> None:
    text = html_text("<div><p>一、总体情况</p><p>正文<br>续</p><table><tr><td><p>自然人</p></td><td>5</td></tr></table></div>")
    assert text.splitlines() == ["一、总体情况", "正文", "续", "自然人\t5"]


# --- sections -----------------------------------------------------------------------------------


def test_find_sections_reads_all_six_sections_of_a_county_report() -> None:
    found = sections(COUNTY_2024)
    assert list(found) == list(SECTIONS)
    assert found["总体情况"].startswith("2024年，望山县人民政府坚持以习近平新时代中国特色社会主义思想为指导")
    assert "（五）监督保障" in found["总体情况"]
    assert found["主动公开政府信息情况"].startswith("第二十条第（一）项")
    assert "四、结转下年度继续办理" in found["收到和处理政府信息公开申请情况"]
    assert found["政府信息公开行政复议、行政诉讼情况"].startswith("行政复议\t行政诉讼")
    assert found["存在的主要问题及改进情况"].startswith("2024年，我县政府信息公开工作取得了一定成效")
    # The last section stops where the page footer starts.
    assert found["其他需要报告的事项"] == "依据《政府信息公开信息处理费管理办法》，2024年本机关未收取信息处理费。本年度无其他需要报告的事项。"


def test_find_sections_accepts_the_wording_variants() -> None:
    found = sections(COUNTY_2025)  # 主动公开政府信息的情况; 因政府信息公开工作被申请行政复议、提起行政诉讼情况
    assert all(found[key] for key in SECTIONS)
    assert found["政府信息公开行政复议、行政诉讼情况"].startswith("行政复议")
    assert sections(STATISTICS_2024)["存在的主要问题及改进情况"] == "统计数据解读不够通俗。2025年将增加图表解读。"


@pytest.mark.parametrize("name", [DEPT_2024, TOWN_2024, STATISTICS_2024])
def test_find_sections_follows_the_reports_numbering(name: str) -> None:
    """第一部分 (department), （一） with 1. subheadings (town), 1. (statistics bureau)."""
    found = sections(name)
    assert found["总体情况"] and found["主动公开政府信息情况"].startswith("第二十条第（一）项")
    assert found["收到和处理政府信息公开申请情况"].startswith("（本列数据的勾稽关系为")


def test_a_subheading_inside_the_overview_is_not_taken_for_a_section() -> None:
    found = sections(TOWN_2024)  # 1.主动公开 … inside （一）总体情况
    assert found["总体情况"].startswith("1.主动公开。2024年，我镇") and "4.监督保障" in found["总体情况"]
    text = "一、总体情况\n（一）主动公开情况。全年公开信息10条。\n二、主动公开政府信息情况\n表\n"
    found = find_sections(text)
    assert found["总体情况"] == "（一）主动公开情况。全年公开信息10条。"
    assert found["主动公开政府信息情况"] == "表"


def test_a_missing_section_is_none_and_the_renumbered_ones_are_still_found() -> None:
    found = sections(STATISTICS_2024)  # 1. 2. 3. then 4.存在问题及改进情况 5.其他需要报告的事项
    assert found["政府信息公开行政复议、行政诉讼情况"] is None
    assert found["其他需要报告的事项"] == "无。"
    assert [key for key, value in found.items() if value is None] == ["政府信息公开行政复议、行政诉讼情况"]


def test_a_heading_with_its_text_on_the_same_line_and_an_empty_section() -> None:
    text = (
        "第一部分 总体情况。本年度公开信息20条。\n第二部分 主动公开政府信息情况\n第三部分 收到和处理政府信息公开申请情况\n"
        "本年未收到申请。\n第六部分 其他需要报告的事项：无\n"
    )
    found = find_sections(text)
    assert found["总体情况"] == "本年度公开信息20条。"
    assert found["主动公开政府信息情况"] == ""
    assert found["收到和处理政府信息公开申请情况"] == "本年未收到申请。"
    assert found["政府信息公开行政复议、行政诉讼情况"] is None and found["存在的主要问题及改进情况"] is None
    assert found["其他需要报告的事项"] == "无"


def test_the_sentence_listing_the_six_parts_is_not_a_heading() -> None:
    text = "本报告由总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况等六部分组成。\n"
    assert set(find_sections(text).values()) == {None}


# --- arithmetic ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [COUNTY_2024, COUNTY_2025, DEPT_2024, DEPT_2025, STATISTICS_2024])
def test_consistent_reports_have_no_disagreement(name: str) -> None:
    grids = tables(name)
    assert application_tables(grids), "the application table was not recognised"
    assert check_arithmetic(grids, html_text(page(name))) == []


def test_the_planted_error_is_named_by_its_cell_and_both_sides() -> None:
    found = check_arithmetic(tables(TOWN_2024))
    assert len(found) == 1
    (d,) = found
    assert d.table == APPLICATION_TABLE == "收到和处理政府信息公开申请情况"
    assert d.cell.startswith("一、本年新收政府信息公开申请数量 / 总计")
    assert (d.row, d.col) == (3, 9)
    assert d.equation == "自然人 + 商业企业 + 科研机构 + 社会公益组织 + 法律服务机构 + 其他 = 总计"
    assert (d.left, d.right) == (7, 8)
    assert (d.stated, d.expected) == (8, 7)
    assert d.related == ("本年新收 + 上年结转 = 办理结果总计 + 结转下年度继续办理",)


def test_pdf_grids_with_blank_merged_areas_check_the_same_as_the_html() -> None:
    grids = pdf_grids()
    assert any(cell is None for grid in grids for row in grid for cell in row)
    (table,) = application_tables(grids)
    assert list(table.columns) == ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
    assert len(table.items) == 21
    assert check_arithmetic(grids) == []


def test_an_item_error_in_pdf_grids_is_located_in_its_cell() -> None:
    grids = pdf_grids()
    application = grids[1]
    row = next(r for r, cells in enumerate(application) if cells[2] and "行政执法案卷" in cells[2])
    assert application[row][0] is None and application[row][1] is None  # under 三、/（三） merged areas
    application[row][3] = "2"  # 7.属于行政执法案卷 自然人: the report says 1
    (d,) = check_arithmetic(grids)
    assert d.cell.startswith("7.属于行政执法案卷 / 自然人")
    assert (d.stated, d.expected) == (2, 1)
    assert d.equation == "自然人 + 商业企业 + 科研机构 + 社会公益组织 + 法律服务机构 + 其他 = 总计"
    assert (d.left, d.right) == (2, 1)
    assert set(d.related) == {
        "办理结果各项之和：（一）予以公开 + （二）部分公开 + （三）不予公开 + （四）无法提供 + （五）不予处理 + （六）其他处理 = （七）总计",
    }


def test_a_review_total_error_is_named_in_its_group() -> None:
    grids = pdf_grids()
    grids[2][3][14] = "2"  # 复议后起诉 总计; its four results add up to 1
    (d,) = check_arithmetic(grids)
    assert d.table == REVIEW_TABLE
    assert d.cell == "行政诉讼·复议后起诉·总计（第3个表格第4行第15列）"
    assert d.equation == "行政诉讼·复议后起诉：结果维持 + 结果纠正 + 其他结果 + 尚未审结 = 总计"
    assert (d.left, d.right) == (1, 2)


def test_a_review_table_read_from_html_is_checked_in_all_three_groups() -> None:
    grids = tables(COUNTY_2024)
    review = next(g for g in grids if g[0][0] == "行政复议")
    for col, group in ((4, "行政复议"), (9, "行政诉讼·未经复议直接起诉"), (14, "行政诉讼·复议后起诉")):
        broken = copy.deepcopy(grids)
        broken[grids.index(review)][3][col] = "9"
        (d,) = check_arithmetic(broken)
        assert d.equation.startswith(f"{group}：") and d.right == 9


def test_two_errors_in_one_row_are_reported_as_the_equations_they_break() -> None:
    grids = tables(COUNTY_2024)
    application = application_grid(grids)
    application[5][3], application[5][4] = "41", "6"  # 予以公开: 自然人 40 → 41, 商业企业 5 → 6
    found = check_arithmetic(grids)
    assert {d.equation for d in found} == {
        "自然人 + 商业企业 + 科研机构 + 社会公益组织 + 法律服务机构 + 其他 = 总计",
        "办理结果各项之和：（一）予以公开 + （二）部分公开 + （三）不予公开 + （四）无法提供 + （五）不予处理 + （六）其他处理 = （七）总计",
    }
    row_sum = next(d for d in found if d.equation.startswith("自然人"))
    assert row_sum.cell.startswith("（一）予以公开 / 总计") and (row_sum.left, row_sum.right) == (49, 47)
    columns = sorted((d.cell, d.left, d.right) for d in found if d.equation.startswith("办理结果"))
    assert [(cell.split("（第")[0], left, right) for cell, left, right in columns] == [
        ("三、本年度办理结果（七）总计 / 商业企业", 11, 10),
        ("三、本年度办理结果（七）总计 / 自然人", 88, 87),
    ]


def test_a_column_equation_alone_names_the_column() -> None:
    grids = tables(COUNTY_2024)
    application = application_grid(grids)
    # 结转下年度 自然人 3 → 4 and its row total 4 → 5: the row still adds up, the 自然人 and 总计 columns do not.
    application[27][3], application[27][9] = "4", "5"
    found = check_arithmetic(grids)
    assert sorted((d.cell.split("（")[0], d.left, d.right) for d in found) == [("总计列", 106, 107), ("自然人列", 90, 91)]
    assert {d.equation for d in found} == {"本年新收 + 上年结转 = 办理结果总计 + 结转下年度继续办理"}


def test_a_cell_that_is_not_a_number_leaves_its_equations_unchecked() -> None:
    grids = tables(COUNTY_2024)
    application = application_grid(grids)
    application[3][9] = "见附件"
    assert check_arithmetic(grids) == []


def test_a_subtotal_column_and_a_headerless_table_are_checked() -> None:
    header = [["项目", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "小计", "总计"]]
    body = [
        ["一、本年新收政府信息公开申请数量", "3", "1", "", "", "", "1", "2", "5"],
        ["二、上年结转政府信息公开申请数量", "", "", "", "", "", "", "", ""],
        ["（一）予以公开", "3", "1", "", "", "", "1", "3", "5"],  # 小计 should be 2
        ["（七）总计", "3", "1", "", "", "", "1", "2", "5"],
        ["四、结转下年度继续办理", "", "", "", "", "", "", "", ""],
    ]
    found = check_arithmetic([header + body])
    assert [(d.cell.split("（第")[0], d.stated, d.expected) for d in found] == [("（一）予以公开 / 小计", 3, 2)]
    # The same rows without a header: the format's column order is assumed (no 小计 column there).
    headerless = [[row[0], *row[1:7], row[8]] for row in body]
    headerless[2][7] = "5"
    assert check_arithmetic([headerless]) == []
    headerless[2][7] = "6"
    assert [d.cell.split("（第")[0] for d in check_arithmetic([headerless])] == ["（一）予以公开 / 总计"]


def test_the_active_disclosure_table_with_its_spanning_cells_gives_no_disagreement() -> None:
    grids = tables(COUNTY_2024)
    active = next(g for g in grids if g[0][0] == "第二十条第（一）项")
    assert active[6] == ["行政许可", "3456", "3456", "3456"]
    assert check_arithmetic([active]) == []


# --- carry-over ---------------------------------------------------------------------------------


def test_carry_over_between_consecutive_reports_of_the_county_agrees() -> None:
    assert carry_over(tables(COUNTY_2025), tables(COUNTY_2024)) == []
    assert carry_over(tables(DEPT_2025), tables(DEPT_2024)) == []
    # The HTML of 2025 against the PDF grids of 2024: columns are matched by applicant.
    assert carry_over(tables(COUNTY_2025), pdf_grids()) == []


def test_carry_over_names_each_column_that_does_not_follow_on() -> None:
    this_year = tables(COUNTY_2025)
    application = application_grid(this_year)
    application[4][3], application[4][9] = "2", "3"  # 上年结转 自然人 and 总计; last year carried 3 and 4
    found = carry_over(this_year, tables(COUNTY_2024))
    assert [(d.cell.split("（第")[0], d.left, d.right) for d in found] == [
        ("二、上年结转政府信息公开申请数量 / 自然人", 2, 3),
        ("二、上年结转政府信息公开申请数量 / 总计", 3, 4),
    ]
    assert all(d.table == APPLICATION_TABLE and d.row == 4 for d in found)
    assert found[0].equation == "本年上年结转政府信息公开申请数量 = 上年报告结转下年度继续办理"


def test_carry_over_without_a_table_to_compare_gives_nothing() -> None:
    assert carry_over(tables(COUNTY_2025), []) == []
    assert carry_over([], tables(COUNTY_2024)) == []


# --- similarity ---------------------------------------------------------------------------------


def test_sections_copied_with_only_the_year_changed_are_alike() -> None:
    last, this = sections(COUNTY_2024), sections(COUNTY_2025)
    for key in ("总体情况", "存在的主要问题及改进情况"):
        assert last[key] != this[key]
        assert similarity(last[key], this[key]) >= 0.9


def test_rewritten_sections_are_not_alike() -> None:
    last, this = sections(DEPT_2024), sections(DEPT_2025)
    for key in ("总体情况", "存在的主要问题及改进情况"):
        assert similarity(last[key], this[key]) < 0.9


def test_similarity_ignores_whitespace_punctuation_and_years() -> None:
    a = "2024年，我局公开信息243条。\n一是规范依申请公开；二是加强信息管理。"
    b = "二〇二五年 我局公开信息243条\n一是规范依申请公开，二是加强信息管理"
    assert similarity(a, b) == 1.0
    assert similarity(a, "全年收到申请18件，其中16件已经答复。") < 0.2
    assert similarity("", a) == 0.0 and similarity("。", "，") == 0.0


def test_every_fixture_page_is_an_annual_report_of_its_year() -> None:
    for name in ALL_PAGES:
        title = html_tables(page(name))[0][2][1]  # 名称 in the page's metadata table
        assert is_annual_report_title(title), name
        assert report_year(title) == int(name[-9:-5]), name


# --- tables as extractors split them ------------------------------------------------------------


def split_pdf_grids() -> list[list[list[str | None]]]:
    """The PDF edition with the application table cut by a page break after （三）6."""
    active, application, review = pdf_grids()
    return [active, application[:13], application[13:], review]


def test_an_application_table_split_by_a_page_break_is_read_as_one() -> None:
    grids = split_pdf_grids()
    assert not any("本年新收" in (cell or "") for row in grids[2] for cell in row)
    (table,) = application_tables(grids)
    assert len(table.items) == 21 and set(table.rows) == {"new", "carried_in", "results_total", "carried_out"}
    assert check_arithmetic(grids) == []
    assert carry_over(tables(COUNTY_2025), grids) == []


def test_an_error_on_the_second_page_is_named_where_it_is() -> None:
    grids = split_pdf_grids()
    grids[2][-1][9] = "5"  # 四、结转下年度继续办理 总计 (the last row of page 2); its row adds up to 4
    (d,) = check_arithmetic(grids)
    assert (d.grid, d.row, d.col) == (2, 14, 9)
    assert d.cell == "四、结转下年度继续办理 / 总计（第3个表格第15行第10列）"
    assert (d.stated, d.expected) == (5, 4)


def test_a_review_table_laid_out_with_one_row_per_group_is_checked() -> None:
    grid = [
        ["", "结果维持", "结果纠正", "其他结果", "尚未审结", "总计"],
        ["行政复议", "1", "0", "0", "1", "2"],
        ["行政诉讼（未经复议直接起诉）", "", "", "", "", ""],
        ["行政诉讼（复议后起诉）", "1", "1", "", "", "3"],
    ]
    (d,) = check_arithmetic([grid])
    assert d.table == REVIEW_TABLE and d.equation.startswith("行政诉讼·复议后起诉：")
    assert (d.left, d.right, d.row, d.col) == (2, 3, 3, 5)


def test_a_group_reported_in_one_row_is_an_item_and_a_group_with_items_and_a_row_is_a_subtotal() -> None:
    header = [["", "", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]]
    rows = [
        ["一、本年新收政府信息公开申请数量", "", "5", "", "", "", "", "", "5"],
        ["二、上年结转政府信息公开申请数量", "", "", "", "", "", "", "", ""],
        ["（一）予以公开", "", "2", "", "", "", "", "", "2"],
        ["（三）不予公开", "", "1", "", "", "", "", "", "1"],  # 小计 of the two items below
        ["（三）不予公开", "1.属于国家秘密", "", "", "", "", "", "", ""],
        ["（三）不予公开", "5.属于三类内部事务信息", "1", "", "", "", "", "", "1"],
        ["（六）其他处理", "", "2", "", "", "", "", "", "2"],  # one row, no items: an item itself
        ["（七）总计", "", "5", "", "", "", "", "", "5"],
        ["四、结转下年度继续办理", "", "", "", "", "", "", "", ""],
    ]
    grid = header + rows
    (table,) = application_tables([grid])
    assert [(group, row) for group, _, row in table.items] == [("", 3), ("不予公开", 5), ("不予公开", 6), ("其他处理", 7)]
    assert table.subtotals == [("不予公开", 4)]
    assert check_arithmetic([grid]) == []
    grid[4][2] = "2"  # the 不予公开 小计 no longer matches its items
    (d,) = check_arithmetic([grid])
    assert d.equation == "（三）不予公开各项之和 = 不予公开小计" and (d.left, d.right) == (1, 2)


def test_a_total_column_left_unfilled_is_one_disagreement_not_one_per_row() -> None:
    grids = tables(COUNTY_2024)
    application = application_grid(grids)
    for row in application[5:26]:  # the 办理结果 items' 总计 left empty, as some reports publish them
        row[9] = ""
    (d,) = check_arithmetic(grids)
    assert d.table == APPLICATION_TABLE
    assert d.cell.startswith("（一）予以公开、（二）部分公开、2.其他法律行政法规禁止公开、")
    assert "/ 总计（空白；" in d.cell
    assert d.equation == "自然人 + 商业企业 + 科研机构 + 社会公益组织 + 法律服务机构 + 其他 = 总计"
    assert (d.left, d.right) == (102, 0)
    assert d.related == (
        "办理结果各项之和：（一）予以公开 + （二）部分公开 + （三）不予公开 + （四）无法提供 + （五）不予处理 + （六）其他处理 = （七）总计",
    )


def test_a_heading_wrapped_onto_a_second_line_in_pdf_text() -> None:
    text = (
        "一、总体情况\n本年度公开信息20条。\n二、主动公开政府信息情况\n表一\n三、收到和处理政府信息公开申请情况\n表二\n"
        "四、因政府信息公开工作被申请行政复议、提起行政诉讼情\n况\n本年度未发生。\n"
        "五、存在的主要问题及改进\n情况\n一是解读不够。\n六、其他需要报告的事项\n无。\n"
    )
    found = find_sections(text)
    assert found["政府信息公开行政复议、行政诉讼情况"] == "本年度未发生。"
    assert found["存在的主要问题及改进情况"] == "一是解读不够。"
    assert found["其他需要报告的事项"] == "无。"


def test_a_pdf_table_with_one_flat_label_column_is_read_the_same() -> None:
    """Some PDF editions draw the 办理结果 labels in one column: 三、本年度办理结果 （六）其他处理 3.其他."""
    application = application_grid(tables(COUNTY_2024))
    flat = [[" ".join(dict.fromkeys(c for c in row[:3] if c)), *row[3:]] for row in application[3:]]
    assert flat[22][0] == "三、本年度办理结果 （六）其他处理 3.其他"
    (table,) = application_tables([flat])
    assert len(table.items) == 21 and not table.subtotals
    assert check_arithmetic([flat]) == []
    flat[22][1] = "4"  # 3.其他 自然人: the report says 3
    (d,) = check_arithmetic([flat])
    assert d.cell.startswith("3.其他 / 自然人") and (d.stated, d.expected) == (4, 3)


def test_the_spelling_qita_with_ta_is_read_as_the_formats() -> None:
    grid = [
        ["行政复议", "", "", "", ""],
        ["结果维持", "结果纠正", "其它结果", "尚未审结", "合计"],
        ["1", "0", "2", "0", "4"],
    ]
    (d,) = check_arithmetic([grid])
    assert d.equation == "行政复议：结果维持 + 结果纠正 + 其他结果 + 尚未审结 = 总计" and (d.left, d.right) == (3, 4)
    found = find_sections("一、总体情况\n正文\n六、其它需要报告的事项\n无。\n")
    assert found["其他需要报告的事项"] == "无。"
