"""Annual-report attachments made by code for the tests (no opaque binaries): a PDF with a text layer and a
ruled table (fpdf2 with the machine's CJK font), a PDF that is only a picture (a scan), a DOCX with a
merged header cell (python-docx) and an XLSX with merged cells (openpyxl)."""

from __future__ import annotations

import io
from pathlib import Path

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

TITLE = "示范局2025年政府信息公开工作年度报告"
PARAGRAPHS = [
    "一、总体情况",
    "2025年，示范局认真贯彻落实《中华人民共和国政府信息公开条例》，主动公开政府信息。",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
]
# 本年新收 + 上年结转 = 办理结果总计 + 结转下年度继续办理, in a small table with a merged header.
TABLE = [
    ["本列数据的勾稽关系", "自然人", "法人或其他组织", "总计"],
    ["一、本年新收政府信息公开申请数量", "5", "2", "7"],
    ["二、上年结转政府信息公开申请数量", "1", "0", "1"],
]


def pdf_report(title: str = TITLE, paragraphs: list[str] = PARAGRAPHS, table: list[list[str]] = TABLE) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("zh", fname=str(CJK_FONT))
    pdf.set_font("zh", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    for paragraph in paragraphs:
        pdf.multi_cell(0, 8, paragraph, new_x="LMARGIN", new_y="NEXT")
    if table:
        with pdf.table(col_widths=(80, 30, 40, 30), headings_style=None, first_row_as_headings=False) as grid:
            for row in table:
                cells = grid.row()
                for value in row:
                    cells.cell(value)
    return bytes(pdf.output())


def scanned_pdf() -> bytes:
    """A page that is one picture and no text: what a scanner makes."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(picture).rectangle((20, 20, 380, 180), outline="black", width=3)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=10, y=10, w=180)
    return bytes(pdf.output())


def docx_report(title: str = TITLE, paragraphs: list[str] = PARAGRAPHS) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=4, cols=4)
    header = table.rows[0].cells
    header[0].text = "本列数据的勾稽关系"
    merged = header[1].merge(header[2])  # 申请人情况 spans 自然人 and 法人或其他组织
    merged.text = "申请人情况"
    header[3].text = "总计"
    for r, row in enumerate(TABLE, start=1):
        if r == 1:
            values = ["", "自然人", "法人或其他组织", ""]
        else:
            values = row
        for c, value in enumerate(values):
            if value:
                table.rows[r].cells[c].text = value
    table.rows[3].cells[0].text = TABLE[2][0]
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_report() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "收到和处理政府信息公开申请情况"
    sheet.append(["本列数据的勾稽关系", "申请人情况", None, "总计"])
    sheet.merge_cells("B1:C1")
    sheet.append([None, "自然人", "法人或其他组织", None])
    sheet.merge_cells("A1:A2")
    sheet.merge_cells("D1:D2")
    sheet.append(["一、本年新收政府信息公开申请数量", 5, 2, 7])
    sheet.append(["二、上年结转政府信息公开申请数量", 1, 0, 1])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
