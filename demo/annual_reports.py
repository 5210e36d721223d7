"""The demo's 政府信息公开工作年度报告 in the 2021 format (国办公开办函〔2021〕30号), built from numbers.

``python -m demo.annual_reports`` writes the report pages and PDF files of the demo portal (they are
committed; this is how they were made and how to change them). The tests build the same tables.
"""

from __future__ import annotations

import html

from demo.server import PORTAL_DIR

SECTIONS = (
    "一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项",
)
APPLICANTS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")
# The rows of 三、本年度办理结果: (group, item label).
RESULT_ROWS = (
    ("", "（一）予以公开"),
    ("", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    ("（三）不予公开", "1.属于国家秘密"), ("（三）不予公开", "2.其他法律行政法规禁止公开"),
    ("（三）不予公开", "3.危及“三安全一稳定”"), ("（三）不予公开", "4.保护第三方合法权益"),
    ("（三）不予公开", "5.属于三类内部事务信息"), ("（三）不予公开", "6.属于四类过程性信息"),
    ("（三）不予公开", "7.属于行政执法案卷"), ("（三）不予公开", "8.属于行政查询事项"),
    ("（四）无法提供", "1.本机关不掌握相关政府信息"), ("（四）无法提供", "2.没有现成信息需要另行制作"),
    ("（四）无法提供", "3.补正后申请内容仍不明确"),
    ("（五）不予处理", "1.信访举报投诉类申请"), ("（五）不予处理", "2.重复申请"),
    ("（五）不予处理", "3.要求提供公开出版物"), ("（五）不予处理", "4.无正当理由大量反复申请"),
    ("（五）不予处理", "5.要求行政机关确认或重新出具已获取信息"),
    ("（六）其他处理", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    ("（六）其他处理", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    ("（六）其他处理", "3.其他"),
)


class Applications:
    """The numbers of the 收到和处理政府信息公开申请情况 table: one list of six applicant counts per row
    (自然人, 商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他); 总计 is their sum unless ``totals``
    overrides a row's (a planted error)."""

    def __init__(self, new: list[int], carried_in: list[int], results: dict[str, list[int]],
                 carried_out: list[int], totals: dict[str, int] | None = None,
                 results_total: list[int] | None = None):
        self.new, self.carried_in, self.carried_out = new, carried_in, carried_out
        self.results = {label: results.get(label, [0] * 6) for _, label in RESULT_ROWS}
        self.results_total = results_total or [sum(v[i] for v in self.results.values()) for i in range(6)]
        self.totals = totals or {}

    def rows(self) -> list[tuple[str, str, str, list[int]]]:
        """(level-1 label, group, item, seven numbers) in the format's order."""
        def seven(key: str, values: list[int]) -> list[int]:
            return [*values, self.totals.get(key, sum(values))]

        out = [("一、本年新收政府信息公开申请数量", "", "", seven("new", self.new)),
               ("二、上年结转政府信息公开申请数量", "", "", seven("carried_in", self.carried_in))]
        for group, label in RESULT_ROWS:
            out.append(("三、本年度办理结果", group, label, seven(label, self.results[label])))
        out.append(("三、本年度办理结果", "", "（七）总计", seven("results_total", self.results_total)))
        out.append(("四、结转下年度继续办理", "", "", seven("carried_out", self.carried_out)))
        return out


def application_table_html(numbers: Applications) -> str:
    """The table as the template draws it: rowspan/colspan headers, merged 办理结果 labels."""
    e = html.escape
    head = ('<table border="1" class="ndbg-table">'
            '<tr><th colspan="3" rowspan="3">本列数据的勾稽关系</th><th colspan="7">申请人情况</th></tr>'
            '<tr><th rowspan="2">自然人</th><th colspan="5">法人或其他组织</th><th rowspan="2">总计</th></tr>'
            "<tr>" + "".join(f"<th>{a}</th>" for a in APPLICANTS[1:]) + "</tr>")
    body = []
    rows = numbers.rows()
    results = [r for r in rows if r[0] == "三、本年度办理结果"]
    group_sizes: dict[str, int] = {}
    for _, group, _, _ in results:
        if group:
            group_sizes[group] = group_sizes.get(group, 0) + 1
    first_result, seen_groups = True, set()
    for level, group, item, values in rows:
        cells = "".join(f"<td>{v}</td>" for v in values)
        if level != "三、本年度办理结果":
            body.append(f'<tr><td colspan="3">{e(level)}</td>{cells}</tr>')
            continue
        lead = f'<td rowspan="{len(results)}">{e(level)}</td>' if first_result else ""
        first_result = False
        if group:
            if group not in seen_groups:
                seen_groups.add(group)
                lead += f'<td rowspan="{group_sizes[group]}">{e(group)}</td>'
            body.append(f"<tr>{lead}<td>{e(item)}</td>{cells}</tr>")
        else:
            body.append(f'<tr>{lead}<td colspan="2">{e(item)}</td>{cells}</tr>')
    return head + "".join(body) + "</table>"


def review_table_html(review: list[int], direct: list[int], after: list[int]) -> str:
    """行政复议 and 行政诉讼 (未经复议直接起诉, 复议后起诉): 结果维持, 结果纠正, 其他结果, 尚未审结 and 总计."""
    def group(values: list[int]) -> str:
        return "".join(f"<td>{v}</td>" for v in [*values, sum(values)])

    kinds = "".join(f"<th>{k}</th>" for k in ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计"))
    return ('<table border="1" class="ndbg-table">'
            '<tr><th colspan="5">行政复议</th><th colspan="10">行政诉讼</th></tr>'
            f'<tr>{"".join(f"<th rowspan=2>{k}</th>" for k in ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计"))}'
            '<th colspan="5">未经复议直接起诉</th><th colspan="5">复议后起诉</th></tr>'
            f"<tr>{kinds}{kinds}</tr>"
            f"<tr>{group(review)}{group(direct)}{group(after)}</tr></table>")


def report_html(year: int | str, unit: str, texts: dict[str, str], applications: Applications,
                omit: tuple[str, ...] = ()) -> str:
    """The report's body: the six sections (less ``omit``), each with its text, and the tables."""
    e = html.escape
    parts = [f"<p>本报告根据《中华人民共和国政府信息公开条例》要求，由{e(unit)}编制。本报告所列数据统计期限自"
             f"{year}年1月1日起至{year}年12月31日止。</p>"]
    for heading in SECTIONS:
        if heading in omit:
            continue
        parts.append(f"<p><strong>{heading}</strong></p>")
        parts.append(f"<p>{e(texts.get(heading, ''))}</p>")
        if heading.startswith("三、"):
            parts.append(application_table_html(applications))
        if heading.startswith("四、"):
            parts.append(review_table_html([1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]))
    return "\n".join(parts)


def report_pdf(title: str, year: int | str, unit: str, texts: dict[str, str], applications: Applications) -> bytes:
    """The same report as a PDF with a text layer (fpdf2, CJK font), its application table flat: one
    label column (三、本年度办理结果 （三）不予公开 1.属于国家秘密) and the seven numbers."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("zh", fname="/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
    pdf.set_font("zh", size=9)
    pdf.add_page()
    pdf.multi_cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, f"本报告根据《中华人民共和国政府信息公开条例》要求，由{unit}编制。", new_x="LMARGIN", new_y="NEXT")
    for heading in SECTIONS:
        pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 6, texts.get(heading, ""), new_x="LMARGIN", new_y="NEXT")
        if heading.startswith("三、"):
            with pdf.table(col_widths=(70, 14, 14, 14, 14, 14, 12, 12), headings_style=None,
                           first_row_as_headings=False, line_height=5) as table:
                header = table.row()
                for value in ("本列数据的勾稽关系", *APPLICANTS, "总计"):
                    header.cell(value)
                for level, group, item, values in applications.rows():
                    row = table.row()
                    row.cell(" ".join(part for part in (level, group, item) if part))
                    for value in values:
                        row.cell(str(value))
    return bytes(pdf.output())


def scanned_pdf() -> bytes:
    """A report page that is only a picture, as a scanner makes it: no text layer."""
    import io

    from fpdf import FPDF
    from PIL import Image, ImageDraw

    picture = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(picture)
    for y in range(60, 760, 24):
        draw.line((50, y, 550, y), fill=120, width=6)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=10, y=10, w=190)
    return bytes(pdf.output())


# --- the demo portal's reports ---------------------------------------------------------------------
COUNTY = "示范县人民政府办公室"
COUNTY_TEXTS = {
    "一、总体情况": "示范县人民政府坚持以公开为常态、不公开为例外，围绕县委县政府中心工作，扎实推进政务公开标准化规范化"
                   "建设，全年主动公开政府信息，依法办理政府信息公开申请，政府信息公开平台建设和监督保障持续加强。",
    "五、存在的主要问题及改进情况": "存在的主要问题是部分单位公开意识不强，政策解读形式较为单一。下一步将加强业务培训，"
                             "丰富图表、音视频等解读形式，提高公开质量。",
}


def _county(year: int | str) -> dict[str, str]:
    return {
        **COUNTY_TEXTS,
        "二、主动公开政府信息情况": f"{year}年，县政府主动公开规范性文件和政策文件，及时更新机构职能、权责清单等信息。",
        "三、收到和处理政府信息公开申请情况": f"{year}年共收到政府信息公开申请，均在法定期限内答复。",
        "四、政府信息公开行政复议、行政诉讼情况": "全年发生政府信息公开行政复议案件1件，结果维持。",
        "六、其他需要报告的事项": "本年度未收取信息处理费。",
    }


COUNTY_2024 = Applications(new=[6, 1, 0, 0, 0, 0], carried_in=[0, 0, 0, 0, 0, 0],
                           results={"（一）予以公开": [4, 1, 0, 0, 0, 0], "1.本机关不掌握相关政府信息": [1, 0, 0, 0, 0, 0]},
                           carried_out=[1, 0, 0, 0, 0, 0])
COUNTY_2025 = Applications(new=[8, 2, 0, 0, 1, 0], carried_in=[1, 0, 0, 0, 0, 0],
                           results={"（一）予以公开": [6, 1, 0, 0, 1, 0],
                                    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）": [1, 0, 0, 0, 0, 0],
                                    "2.重复申请": [1, 1, 0, 0, 0, 0]},
                           carried_out=[1, 0, 0, 0, 0, 0])
DEPT = "示范县市场监督管理局"
DEPT_TEXTS_2025 = {
    "一、总体情况": "2025年，我局围绕市场监管重点工作，主动公开行政许可、行政处罚等执法信息，依法办理依申请公开事项。",
    "二、主动公开政府信息情况": "全年主动公开行政许可信息和行政处罚信息，更新执法公示栏目。",
    "三、收到和处理政府信息公开申请情况": "全年收到政府信息公开申请，依法办理。",
    "四、政府信息公开行政复议、行政诉讼情况": "全年发生政府信息公开行政复议案件1件。",
    "五、存在的主要问题及改进情况": "执法信息公开的及时性仍需提高。2026年将建立执法信息七日内公开的工作机制，并开展专项检查。",
    "六、其他需要报告的事项": "本年度未收取信息处理费。",
}
DEPT_TEXTS_2024 = {
    "一、总体情况": "2024年，我局推进双随机一公开监管信息公开，完成政府信息公开目录梳理。",
    "二、主动公开政府信息情况": "主动公开双随机抽查结果和企业信用信息。",
    "三、收到和处理政府信息公开申请情况": "全年收到的政府信息公开申请均已办结。",
    "四、政府信息公开行政复议、行政诉讼情况": "全年未发生政府信息公开行政复议、行政诉讼案件。",
    "五、存在的主要问题及改进情况": "主要问题是公开目录更新不够及时，将明确专人负责，按月核查。",
    "六、其他需要报告的事项": "本年度未收取信息处理费。",
}
DEPT_2024 = Applications(new=[3, 1, 0, 0, 0, 0], carried_in=[0, 0, 0, 0, 0, 0],
                         results={"（一）予以公开": [2, 1, 0, 0, 0, 0]}, carried_out=[1, 0, 0, 0, 0, 0])
# （一）予以公开 of 自然人 miscounted as 4: the items sum to 6 but （七）总计 says 7 (and 7 ≠ 8 in 总计).
DEPT_2025 = Applications(new=[7, 1, 0, 0, 0, 0], carried_in=[1, 0, 0, 0, 0, 0],
                         results={"（一）予以公开": [4, 1, 0, 0, 0, 0], "1.本机关不掌握相关政府信息": [2, 0, 0, 0, 0, 0]},
                         results_total=[7, 1, 0, 0, 0, 0], carried_out=[1, 0, 0, 0, 0, 0])


def website_report_xlsx(site: str) -> bytes:
    """A 政府网站工作年度报表 as a small workbook (the fields of the 报表 template)."""
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "政府网站工作年度报表"
    for row in (("政府网站工作年度报表",), ("网站名称", site), ("首页网址", "/"), ("独立用户访问总量（个）", 12650),
                ("网站总访问量（次）", 86342), ("信息发布总数（条）", 512), ("留言办理：收到留言数量（条）", 37),
                ("办结留言数量（条）", 37)):
        sheet.append(list(row))
    sheet.merge_cells("A1:B1")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _placeholders(texts: dict[str, str]) -> dict[str, str]:
    """The page texts with the years as the portal's placeholders, so the pages stay current."""
    return {k: v.replace("2026", "{{y:0}}").replace("2025", "{{y:-1}}").replace("2024", "{{y:-2}}")
            for k, v in texts.items()}


def write_portal() -> None:
    """The report pages' bodies (between the markers) and the PDF and XLSX files of the demo portal.
    demo-county's report for last year lacks 六、其他需要报告的事项 (AR02) and repeats 一 and 五 of the year
    before (AR05); demo-dept's is a PDF whose application table does not add up (AR03); demo-jcms's is a
    scan (AR02, unreadable)."""
    targets = {
        PORTAL_DIR / "main/zwgk/ndbg/content_8001.html": report_html(
            "{{y:-1}}", COUNTY, _county("{{y:-1}}"), COUNTY_2025, omit=("六、其他需要报告的事项",)),
        PORTAL_DIR / "main/zwgk/ndbg/content_8002.html": report_html(
            "{{y:-2}}", COUNTY, _county("{{y:-2}}"), COUNTY_2024),
        PORTAL_DIR / "gbk/ndbg/content_402.html": report_html(
            "{{y:-2}}", DEPT, _placeholders(DEPT_TEXTS_2024), DEPT_2024),
    }
    for path, body in targets.items():
        text = path.read_text(encoding="utf-8")
        start, end = "<!-- report:begin -->", "<!-- report:end -->"
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        path.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")
    (PORTAL_DIR / "gbk/ndbg/2025ndbg.pdf").write_bytes(report_pdf(
        "示范县市场监督管理局2025年政府信息公开工作年度报告", 2025, DEPT, DEPT_TEXTS_2025, DEPT_2025))
    (PORTAL_DIR / "jcms/module/download/2025ndbg.pdf").write_bytes(scanned_pdf())
    (PORTAL_DIR / "main/uploads/wzndbb.xlsx").write_bytes(website_report_xlsx("示范县人民政府门户网站"))
    (PORTAL_DIR / "jcms/module/download/wzndbb.xlsx").write_bytes(website_report_xlsx("示范县卫生健康委员会网站"))
    (PORTAL_DIR / "trs/images/wzndbb.xlsx").write_bytes(website_report_xlsx("示范县住房和城乡建设局网站"))


if __name__ == "__main__":
    write_portal()
