"""Reading the text and tables of an attached document (PDF, DOCX, XLSX, XLS; DOC is recognised, not read).

Annual reports (政府信息公开工作年度报告) come as HTML pages and as attachments; the checks need their text
(sections) and their tables (arithmetic). Each format is read by a well-kept library: pdfplumber for
PDF text and tables, python-docx for DOCX, openpyxl for XLSX, xlrd for the old binary XLS. Word 97-2003
``.doc`` has no well-kept pure-Python reader: it is reported as unreadable with that reason.

Nothing here raises on bad input: a damaged, encrypted or oversized file becomes ``readable=False`` with a
Chinese reason, so the crawl goes on and the check can say why the report could not be read.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

# Attachments larger than this are not downloaded whole (Scrapy's per-request download_maxsize).
ATTACHMENT_MAX_BYTES = 15 * 1024 * 1024
# What is kept of a document's text: a report is some tens of thousands of characters.
TEXT_MAX_CHARS = 300_000
TABLES_MAX = 60
# A PDF whose pages yield fewer characters than this (after whitespace) has no text layer: a scan.
SCANNED_MIN_CHARS = 20
SCANNED = "扫描件，无文字层"
# A table ending below this share of its page's height, and one starting above that share of the next
# page's, with the same number of columns, are one table cut by the page break.
CONTINUED_BOTTOM = 0.8
CONTINUED_TOP = 0.2
FORMATS = ("pdf", "doc", "docx", "xls", "xlsx")

Grid = list[list[str]]

_SUFFIX = re.compile(r"\.(pdf|docx?|xlsx?)$", re.I)
_CONTENT_TYPES = {
    "application/pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class Extracted:
    """What one attachment read as."""

    format: str
    readable: bool
    error: str | None = None
    text: str = ""
    tables: list[Grid] = field(default_factory=list)


def suffix_format(url: str) -> str | None:
    """pdf/doc/docx/xls/xlsx from a URL's path (query and fragment ignored), else None."""
    path = url.split("#", 1)[0].split("?", 1)[0]
    match = _SUFFIX.search(path)
    return match.group(1).lower() if match else None


def attachment_format(url: str, content_type: str | None, body: bytes) -> str | None:
    """The document format of a response, from its bytes first (servers often say octet-stream), then its
    Content-Type, then its URL; None when it is none of the formats read here."""
    head = body[:8]
    hinted = suffix_format(url) or _CONTENT_TYPES.get((content_type or "").split(";")[0].strip().lower())
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return hinted if hinted in ("docx", "xlsx") else None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        return None
    if head == _OLE_MAGIC:
        # Word and Excel 97-2003 share the OLE container: the stream names tell them apart.
        if b"W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t" in body[:1 << 20]:
            return "doc"
        if b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k" in body[:1 << 20] or b"B\x00o\x00o\x00k" in body[:1 << 20]:
            return "xls"
        return hinted if hinted in ("doc", "xls") else None
    return hinted if hinted in FORMATS and body[:1] != b"<" else None


def extract(body: bytes, fmt: str) -> Extracted:
    """The text and tables of an attachment of format ``fmt``; never raises."""
    reader = _READERS.get(fmt)
    if reader is None:
        return Extracted(format=fmt, readable=False, error=f"不支持的附件格式：{fmt}")
    if not body:
        return Extracted(format=fmt, readable=False, error="附件为空文件")
    try:
        result = reader(body)
    except Exception as exc:  # noqa: BLE001 - any library error on a damaged file is the file's fault
        logger.info("could not read a %s attachment: %s: %s", fmt, type(exc).__name__, exc)
        return Extracted(format=fmt, readable=False, error=f"{fmt.upper()} 文件无法解析（{type(exc).__name__}）")
    result.text = result.text[:TEXT_MAX_CHARS]
    result.tables = [rectangular(grid) for grid in result.tables[:TABLES_MAX] if grid]
    return result


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def rectangular(grid: list[list[str]]) -> Grid:
    """Every row as long as the longest one."""
    width = max((len(row) for row in grid), default=0)
    return [[*row, *[""] * (width - len(row))] for row in grid]


# --- PDF ---------------------------------------------------------------------------------------------
def _fill_spans(rows: list[list[str | None]]) -> Grid:
    """pdfplumber gives a merged cell's text in its first cell and None in the others: repeat it, from the
    left for a cell spanning columns, from above for one spanning rows (a None in the first column)."""
    grid: Grid = []
    for r, row in enumerate(rows):
        out: list[str] = []
        for c, value in enumerate(row):
            if value is None:
                if c > 0:
                    out.append(out[c - 1])
                elif r > 0 and grid[r - 1]:
                    out.append(grid[r - 1][0])
                else:
                    out.append("")
            else:
                out.append(_cell(value))
        grid.append(out)
    return grid


def _read_pdf(body: bytes) -> Extracted:
    import pdfplumber

    texts: list[str] = []
    tables: list[Grid] = []
    # Whether the last table read ran to the bottom of its page: a table of the same width at the top of
    # the next page is its continuation (a page break cuts the application table in two).
    runs_on = False
    with pdfplumber.open(io.BytesIO(body)) as pdf:
        for page in pdf.pages:
            texts.append(page.extract_text() or "")
            found = page.find_tables()
            for i, table in enumerate(found):
                grid = _fill_spans(table.extract())
                top, bottom = table.bbox[1], table.bbox[3]
                if (i == 0 and runs_on and tables and grid and len(grid[0]) == len(tables[-1][0])
                        and top < page.height * CONTINUED_TOP):
                    tables[-1].extend(grid)
                else:
                    tables.append(grid)
                runs_on = bottom > page.height * CONTINUED_BOTTOM
            if not found:
                runs_on = False
            page.flush_cache()
    text = "\n".join(texts).strip()
    if len("".join(text.split())) < SCANNED_MIN_CHARS:
        return Extracted(format="pdf", readable=False, error=SCANNED)
    return Extracted(format="pdf", readable=True, text=text, tables=tables)


# --- DOCX --------------------------------------------------------------------------------------------
def _read_docx(body: bytes) -> Extracted:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(body))
    lines: list[str] = []
    tables: list[Grid] = []
    # Paragraphs and tables in the order they stand, so a table's heading precedes it in the text.
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            if block.text.strip():
                lines.append(block.text.strip())
        elif isinstance(block, Table):
            # row.cells repeats a merged cell (gridSpan, vMerge) in every grid cell it covers.
            grid = [[_cell(cell.text) for cell in row.cells] for row in block.rows]
            tables.append(grid)
            lines.extend(" ".join(cell for cell in row if cell) for row in grid)
    text = "\n".join(lines).strip()
    if not text:
        return Extracted(format="docx", readable=False, error="DOCX 文件中没有文字")
    return Extracted(format="docx", readable=True, text=text, tables=tables)


def _read_doc(body: bytes) -> Extracted:
    return Extracted(format="doc", readable=False,
                     error="DOC（Word 97-2003）格式无可靠的读取库，未读取正文；请另存为 DOCX 或 PDF 发布")


# --- XLSX / XLS --------------------------------------------------------------------------------------
def _sheets_text(tables: list[Grid], names: list[str]) -> str:
    lines: list[str] = []
    for name, grid in zip(names, tables, strict=True):
        lines.append(name)
        lines.extend(" ".join(cell for cell in row if cell) for row in grid if any(row))
    return "\n".join(lines).strip()


def _read_xlsx(body: bytes) -> Extracted:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(body), data_only=True)
    tables: list[Grid] = []
    names: list[str] = []
    for sheet in workbook.worksheets:
        grid = [[_cell(value) for value in row] for row in sheet.iter_rows(values_only=True)]
        for merged in sheet.merged_cells.ranges:
            value = grid[merged.min_row - 1][merged.min_col - 1] if grid else ""
            for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
                for c in range(merged.min_col - 1, min(merged.max_col, len(grid[r]))):
                    grid[r][c] = value
        grid = [row for row in grid if any(row)]
        if grid:
            tables.append(grid)
            names.append(sheet.title)
    workbook.close()
    text = _sheets_text(tables, names)
    if not text:
        return Extracted(format="xlsx", readable=False, error="XLSX 文件中没有内容")
    return Extracted(format="xlsx", readable=True, text=text, tables=tables)


def _read_xls(body: bytes) -> Extracted:
    import xlrd

    book = xlrd.open_workbook(file_contents=body, formatting_info=True)
    tables: list[Grid] = []
    names: list[str] = []
    for sheet in book.sheets():
        grid = [[_cell(sheet.cell_value(r, c)) for c in range(sheet.ncols)] for r in range(sheet.nrows)]
        for r0, r1, c0, c1 in sheet.merged_cells:
            value = grid[r0][c0]
            for r in range(r0, r1):
                for c in range(c0, c1):
                    grid[r][c] = value
        grid = [row for row in grid if any(row)]
        if grid:
            tables.append(grid)
            names.append(sheet.name)
    text = _sheets_text(tables, names)
    if not text:
        return Extracted(format="xls", readable=False, error="XLS 文件中没有内容")
    return Extracted(format="xls", readable=True, text=text, tables=tables)


_READERS = {"pdf": _read_pdf, "docx": _read_docx, "doc": _read_doc, "xlsx": _read_xlsx, "xls": _read_xls}
