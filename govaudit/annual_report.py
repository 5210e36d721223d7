"""Reading 政府信息公开工作年度报告 (annual reports on government information disclosure).

Pure functions over a report's title, text and tables; no database, no network. The layout they
expect is the 2021 format of 国办公开办函〔2021〕30号 (《中华人民共和国政府信息公开工作年度报告格式》):
six sections, and three tables — 主动公开政府信息情况 (第二十条第（一）/（五）/（六）/（八）项),
收到和处理政府信息公开申请情况 (rows 一 本年新收, 二 上年结转, 三 本年度办理结果 （一）…（七）总计,
四 结转下年度继续办理; columns 自然人, 法人或其他组织 with its five kinds, 总计) and
政府信息公开行政复议、行政诉讼情况 (行政复议; 行政诉讼 未经复议直接起诉 / 复议后起诉; each with
结果维持, 结果纠正, 其他结果, 尚未审结, 总计).

A table reaches this module as a :data:`Grid`: rows of cell strings with every row the same length.
:func:`html_tables` builds grids from HTML and repeats a merged cell's text in every cell it spans;
extractors of PDF, DOCX and XLSX files often leave the covered cells blank (``""`` or ``None``)
instead. The arithmetic accepts both: labels are read from the whole stack of header cells above a
column and from all label cells left of a row, so a blank under a merged label loses nothing, and a
blank *number* cell counts as 0, as the format's readers take it. What it cannot tell apart is a
merged *number* repeated over several columns from equal numbers in them (no real report merges
count cells of the application table, and the 主动公开 table, where 行政许可 and the like do span three
columns, has no sums to check).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import lxml.etree
import lxml.html

Grid = list[list[str]]

SECTIONS: tuple[str, ...] = (
    "总体情况",
    "主动公开政府信息情况",
    "收到和处理政府信息公开申请情况",
    "政府信息公开行政复议、行政诉讼情况",
    "存在的主要问题及改进情况",
    "其他需要报告的事项",
)
APPLICATION_TABLE = SECTIONS[2]
REVIEW_TABLE = SECTIONS[3]

# ---------------------------------------------------------------------------------------------
# Small text helpers

_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−﹣－"), "-")
# 二〇二五, also typed with ○, 零 or a letter O (Ｏ folds to O).
_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_YEAR = re.compile(r"[〇○零O一二三四五六七八九]{4}(?=\s*年)")
_ARABIC_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=\s*年)")
MIN_YEAR, MAX_YEAR = 1990, 2100


def _norm(cell: str | None) -> str:
    """A cell or line as it is matched: NFKC (full-width folded, （一） → (一)), no whitespace, and
    其它 read as 其他 (其它结果, 其它需要报告的事项 are common spellings)."""
    if not cell:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", cell)).replace("其它", "其他")


def _cn_year(chinese: str) -> str:
    return "".join(str(_CN_DIGITS[ch]) for ch in chinese)


def report_year(title: str) -> int | None:
    """The year a report is about: ``某县2025年政府信息公开工作年度报告`` → 2025 (also 二〇二五年).

    When a title names several years (``关于公布2024年政府信息公开工作年度报告的通知（2025年1月）``),
    the last one before 政府信息公开 wins; without 政府信息公开, the first.
    """
    text = unicodedata.normalize("NFKC", title or "")
    text = _CN_YEAR.sub(lambda m: _cn_year(m.group(0)), text)
    years = [(m.start(), int(m.group(1))) for m in _ARABIC_YEAR.finditer(text)]
    years = [(pos, y) for pos, y in years if MIN_YEAR <= y <= MAX_YEAR]
    if not years:
        return None
    anchor = text.find("政府信息公开")
    before = [y for pos, y in years if anchor != -1 and pos < anchor]
    return before[-1] if before else years[0][1]


# Titles that mention the report without being it: the 政府网站工作年度报表, 财政 reports (not the
# 财政局's own report), the notices that ask for reports, the format itself, 解读/图解 pages about one.
_NOT_A_REPORT = re.compile(r"报表|财政(?!局|厅)|通知|编制|格式|解读|图解|发布会|征集")


def is_annual_report_title(title: str) -> bool:
    """Whether a title is a 政府信息公开工作年度报告's (年度报告, 年报, 年度 … 工作报告)."""
    text = _norm(title)
    if "政府信息公开" not in text or _NOT_A_REPORT.search(text):
        return False
    return bool(re.search(r"年度报告|年报", text)) or ("年度" in text and "工作报告" in text)


def number(cell: str | None) -> int | None:
    """A count cell as an int: full-width digits folded, ``1,234`` → 1234, a trailing 件/条/人次 dropped.

    Blank, ``—``, ``-``, ``/`` and ``无`` mean 0 (the format's tables leave nothing-to-report cells
    blank or dashed); ``None`` (a merged area an extractor left empty) is 0 too. Anything else —
    words, fractions, negative numbers — is None: not a count.
    """
    if cell is None:
        return 0
    text = _norm(cell).translate(_DASHES)
    if re.fullmatch(r"-*|/+|\\|无|空", text):
        return 0
    text = re.sub(r"\(?(?:人次|件|条|个|次|项|人|家|份)\)?$", "", text).replace(",", "")
    match = re.fullmatch(r"\+?(\d+)(?:\.0+)?", text)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------------
# HTML: tables and text

_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 "
    "h4 h5 h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_SKIP_TAGS = frozenset(("script", "style", "noscript", "template", "head", "title"))
_MAX_COLSPAN = 1000  # the HTML limit


def _parse_html(html: str | bytes) -> lxml.html.HtmlElement | None:
    if isinstance(html, bytes):
        try:
            html = html.decode("utf-8")
        except UnicodeDecodeError:
            pass  # GBK and the like: lxml follows the page's <meta charset>
    if isinstance(html, str):
        # lxml refuses a str that still carries an XML encoding declaration.
        html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
    if not html or not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None


def _cell_text(element: lxml.html.HtmlElement) -> str:
    """A cell's own text: nested tables left out, <br> and blocks as spaces, whitespace collapsed."""
    parts: list[str] = []

    def walk(node: lxml.html.HtmlElement) -> None:
        parts.append(node.text or "")
        for child in node:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag and tag != "table" and tag not in _SKIP_TAGS:
                if tag in _BLOCK_TAGS:
                    parts.append(" ")
                walk(child)
                if tag in _BLOCK_TAGS:
                    parts.append(" ")
            elif tag == "table":
                parts.append(" ")
            parts.append(child.tail or "")

    walk(element)
    return re.sub(r"\s+", " ", "".join(parts).replace("\xa0", " ")).strip()


def _own_rows(table: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    rows = []
    for child in table:
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in child if row.tag == "tr")
    return rows


def _span(value: str | None, limit: int) -> int:
    match = re.match(r"\s*(\d+)", value or "")
    if not match:
        return 1
    span = int(match.group(1))
    return limit if span == 0 else max(1, min(span, limit))


def _expand(table: lxml.html.HtmlElement) -> Grid:
    rows = _own_rows(table)
    cells: dict[tuple[int, int], str] = {}
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            if cell.tag not in ("td", "th"):
                continue
            while (r, c) in cells:
                c += 1
            rowspan = _span(cell.get("rowspan"), len(rows) - r)  # rowspan="0": to the table's end
            colspan = _span(cell.get("colspan"), _MAX_COLSPAN)
            text = _cell_text(cell)
            for dr in range(rowspan):
                for dc in range(colspan):
                    cells[(r + dr, c + dc)] = text
            c += colspan
    if not cells:
        return []
    width = max(c for _, c in cells) + 1
    return [[cells.get((r, c), "") for c in range(width)] for r in range(len(rows))]


def html_tables(html: str | bytes) -> list[Grid]:
    """Every <table> of a page, in document order, as a Grid with rowspan/colspan expanded.

    A nested table is a grid of its own and is left out of the cells of the table around it (a layout
    table holding the report yields its own, mostly empty, grid before the report's tables). Tables
    without a single cell are skipped.
    """
    root = _parse_html(html)
    if root is None:
        return []
    return [grid for table in root.iter("table") if (grid := _expand(table))]


def html_text(html: str | bytes) -> str:
    """A page's text with one line per block (paragraph, heading, table row; cells tab-separated),
    the input :func:`find_sections` expects."""
    root = _parse_html(html)
    if root is None:
        return ""
    parts: list[str] = []

    def walk(node: lxml.html.HtmlElement, in_cell: bool) -> None:
        parts.append(node.text or "")
        for child in node:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag and tag not in _SKIP_TAGS:
                inner = in_cell and tag != "table"  # a table nested in a cell has rows of its own
                if tag in ("td", "th"):
                    opener = "\t"
                elif tag in _BLOCK_TAGS:
                    opener = " " if inner else "\n"
                else:
                    opener = ""
                parts.append(opener)
                walk(child, inner or tag in ("td", "th"))
                parts.append(opener)
            parts.append(child.tail or "")

    body = root.find("body")
    walk(body if body is not None else root, False)
    lines = (
        re.sub(r"[ \xa0\u3000]+", " ", re.sub(r"[ \xa0\u3000]*\t[\t \xa0\u3000]*", "\t", line)).strip()
        for line in "".join(parts).split("\n")
    )
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------------------------------------
# Sections

_NUMERALS = "一二三四五六七八九十"
_NUMBERING = re.compile(
    r"(?:第(?P<part>[一二三四五六七八九十]+)部分"
    r"|(?P<comma>[一二三四五六七八九十]+)[、.,]"
    r"|\((?P<paren>[一二三四五六七八九十]+)\)"
    r"|(?P<digit>\d{1,2})(?:[、.,](?!\d)|\))"
    r")[:：、.]?"
)

# For each section: a strong title pattern (recognised at any number) and a weak one (recognised only
# under the number the format gives it, e.g. 二、主动公开情况, so that the （一）主动公开情况 subheading
# inside 总体情况 is never taken for section 二).
_TITLES: tuple[tuple[str, str], ...] = (
    (r"(?:政府信息公开(?:工作)?)?总体情况", r"(?:工作)?(?:概述|概况|基本情况)"),
    (r"主动公开政府信息(?:的)?(?:工作)?情况", r"主动公开(?:政府信息)?(?:工作)?(?:的)?情况?"),
    (
        r"(?:收到|受理)(?:和|及|与|、)?(?:处理|办理)(?:政府信息公开)?申请(?:的)?(?:情况)?",
        r"(?:依申请公开|政府信息公开申请)(?:政府信息)?(?:的)?(?:办理|工作)?(?:情况)?",
    ),
    (
        r"(?:因|涉及)?(?:政府信息公开)?(?:工作)?(?:被申请|引起的?|被|的)?行政复议[、,和及与]*(?:被?提起)?行政诉讼",
        r"行政复议",
    ),
    (
        r"(?:政府信息公开)?(?:工作)?存在(?:的)?(?:主要)?问题(?:及|和|与|以及|、)?(?:改进|整改)",
        r"(?:主要)?问题(?:及|和|与|、)?(?:改进|整改)|改进(?:情况|措施)",
    ),
    (r"其他(?:需要|需)?(?:报告|说明)(?:的)?事项", r"其他(?:事项)?$"),
)


_TITLE_END = r"(?:的)?(?:工作)?(?:情况|措施)?"
# Where a page's footer starts after the last section: the text of 其他需要报告的事项 ends there.
_FOOTER = re.compile(r"^(?:主办|承办|协办|版权所有|网站标识码|联系我们|【|\[|扫一扫|分享到|相关(?:链接|文件|阅读)|上一篇|下一篇)|ICP备")


@dataclass(frozen=True)
class _Heading:
    line: int
    body: int  # the line the section's text starts on (a wrapped heading takes two)
    section: int
    style: str
    ordinal: int
    strong: bool
    rest: str  # what follows the title on the heading line


def _ordinal(match: re.Match[str]) -> tuple[str, int]:
    for style in ("part", "comma", "paren", "digit"):
        value = match.group(style)
        if value:
            if style == "digit":
                return style, int(value)
            if value == "十":
                return style, 10
            if value.startswith("十"):
                return style, 10 + _NUMERALS.index(value[1]) + 1
            if len(value) == 1:
                return style, _NUMERALS.index(value) + 1
            return style, 0
    return "", 0


def _normalised_with_index(line: str) -> tuple[str, list[int]]:
    """The line as :func:`_norm` folds it, and for each of its characters the index in ``line``."""
    chars, index = [], []
    for i, ch in enumerate(line):
        for folded in unicodedata.normalize("NFKC", ch):
            if not folded.isspace():
                chars.append("他" if folded == "它" and chars[-1:] == ["其"] else folded)
                index.append(i)
    return "".join(chars), index


def _title(title_part: str) -> tuple[int, bool, int] | None:
    """(section, strong, length of the title) of the title a heading's text starts with."""
    for section, (strong, weak) in enumerate(_TITLES):
        for pattern, is_strong in ((strong, True), (weak, False)):
            match = re.match(f"(?:{pattern}){_TITLE_END}", title_part)
            if match:
                return section, is_strong, match.end()
    return None


# A heading line this short may continue on the next line (a PDF's narrow column wraps 四、因政府信息
# 公开工作被申请行政复议、提起行政诉讼情 / 况); the continuation is a fragment, not a paragraph.
_WRAP_LINE, _WRAP_REST = 30, 12


def _headings(lines: Sequence[str]) -> list[_Heading]:
    found = []
    normalised = [_normalised_with_index(line) for line in lines]
    for n, (norm, index) in enumerate(normalised):
        numbering = _NUMBERING.match(norm)
        if not numbering:
            continue
        style, ordinal = _ordinal(numbering)
        title = _title(norm[numbering.end():])
        body, rest = n + 1, ""
        if n + 1 < len(lines) and len(norm) <= _WRAP_LINE:
            after, after_index = normalised[n + 1]
            wrapped = _title(norm[numbering.end():] + after) if 0 < len(after) <= _WRAP_REST else None
            if wrapped and numbering.end() + wrapped[2] > len(norm) and not _NUMBERING.match(after):
                end = numbering.end() + wrapped[2] - len(norm)
                title, body = wrapped, n + 2
                rest = lines[n + 1][after_index[end]:] if end < len(after_index) else ""
        if title is None:
            continue
        section, strong, length = title
        if body == n + 1:
            end = numbering.end() + length
            rest = lines[n][index[end]:] if end < len(index) else ""
        found.append(_Heading(n, body, section, style, ordinal, strong, rest.lstrip("。:：.， \t")))
    return found


def find_sections(text: str) -> dict[str, str | None]:
    """The six sections' texts by their SECTIONS key; None for a section the report lacks.

    A heading is a line that starts with a number (一、 / （一） / 1. / 第一部分) and the section's
    title, in the format's wording or a minor variant (主动公开政府信息的情况; 因政府信息公开工作被申请
    行政复议、提起行政诉讼情况; 存在问题及改进情况 …). The numbering style most headings use is the
    report's own; a heading numbered as the format numbers it is preferred, and a renumbered one (五
    after a missing 四) is accepted with the full title. A section runs to the next heading found; a
    heading with nothing under it gives "" (present, empty).
    """
    lines = (text or "").splitlines()
    candidates = _headings(lines)
    # The report's own numbering style: the one under which most sections carry the format's number.
    numbered = {(h.section, h.style) for h in candidates if h.ordinal == h.section + 1}
    styles = Counter(style for _, style in numbered)
    style = styles.most_common(1)[0][0] if styles else None
    chosen: dict[int, _Heading] = {}
    after = -1
    for section in range(len(SECTIONS)):
        mine = [h for h in candidates if h.section == section and h.line > after]
        pick = (
            next((h for h in mine if h.style == style and h.ordinal == section + 1), None)
            or next((h for h in mine if h.style == style and h.strong), None)
            or next((h for h in mine if h.strong and h.ordinal == section + 1), None)
        )
        if pick is not None:
            chosen[section] = pick
            after = pick.line
    starts = sorted(h.line for h in chosen.values())
    result: dict[str, str | None] = dict.fromkeys(SECTIONS)
    for section, heading in chosen.items():
        end = next((line for line in starts if line > heading.line), None)
        if end is None:
            end = next((n for n in range(heading.body, len(lines)) if _FOOTER.search(_norm(lines[n]))), len(lines))
        body = [heading.rest] if heading.rest.strip() else []
        body.extend(lines[heading.body:end])
        result[SECTIONS[section]] = "\n".join(body).strip()
    return result


# ---------------------------------------------------------------------------------------------
# Similarity (雷同)

_ANY_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)|[〇○零O一二三四五六七八九]{4}(?=年)")
_SHINGLE = 3


def _fingerprint(text: str) -> str:
    text = _ANY_YEAR.sub("#", unicodedata.normalize("NFKC", text or ""))
    return "".join(ch for ch in text if ch == "#" or unicodedata.category(ch)[0] in "LN")


def similarity(a: str, b: str) -> float:
    """How alike two texts are, 0..1 (≥ 0.9 is 雷同): the Dice coefficient of their character 3-gram
    multisets after whitespace and punctuation are dropped and every year (2024, 二〇二四年) is masked,
    so last year's text with only the year changed scores 1.0 and reordered paragraphs barely count.
    An empty text is like nothing: 0.0.
    """
    fa, fb = _fingerprint(a), _fingerprint(b)
    if not fa or not fb:
        return 0.0
    if len(fa) < _SHINGLE or len(fb) < _SHINGLE:
        return 1.0 if fa == fb else 0.0
    ga = Counter(fa[i:i + _SHINGLE] for i in range(len(fa) - _SHINGLE + 1))
    gb = Counter(fb[i:i + _SHINGLE] for i in range(len(fb) - _SHINGLE + 1))
    return 2 * sum((ga & gb).values()) / (sum(ga.values()) + sum(gb.values()))


# ---------------------------------------------------------------------------------------------
# Arithmetic


@dataclass(frozen=True)
class Disagreement:
    """One place where a report's numbers contradict each other.

    ``left`` and ``right`` are the two sides of ``equation`` as the report fills them. When the
    cells that break several equations meet in one cell that a single correction would fix, the
    disagreement names that cell (``stated`` what the report says, ``expected`` what its equations
    imply) and lists the other equations it breaks in ``related``. A total column left blank in
    several rows is one disagreement naming those rows (``left``/``right`` summed over them). Otherwise
    ``cell`` is the equation's total (or, for a column equation, the column). ``grid``/``row``/``col``
    are 0-based coordinates among the grids given; ``cell`` repeats them 1-based for people.
    """

    table: str
    cell: str
    equation: str
    left: int
    right: int
    grid: int | None = None
    row: int | None = None
    col: int | None = None
    stated: int | None = None
    expected: int | None = None
    related: tuple[str, ...] = field(default=())


_Key = tuple[int, int, int]  # grid, row, col


@dataclass
class _Equation:
    table: str
    text: str
    left: list[_Key]
    right: list[_Key]
    focus: _Key | None  # the cell the equation is about (a total); None for a column equation
    where: str  # how to name it when no single cell is to blame

    def sides(self, values: dict[_Key, int | None]) -> tuple[int, int] | None:
        left = [values.get(k) for k in self.left]
        right = [values.get(k) for k in self.right]
        if None in left or None in right:
            return None
        return sum(v for v in left if v is not None), sum(v for v in right if v is not None)


@dataclass
class _Labels:
    rows: dict[tuple[int, int], str] = field(default_factory=dict)  # (grid, row) -> label
    cols: dict[tuple[int, int], str] = field(default_factory=dict)  # (grid, col) -> label

    def name(self, key: _Key) -> str:
        grid, row, col = key
        parts = [label for label in (self.rows.get((grid, row)), self.cols.get((grid, col))) if label]
        return f"{' / '.join(parts)}（第{grid + 1}个表格第{row + 1}行第{col + 1}列）"


# --- the 收到和处理政府信息公开申请情况 table ---------------------------------------------------------

_APPLICANTS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")
_LEGAL_KINDS = _APPLICANTS[1:]
_TOTAL, _SUBTOTAL, _LEGAL = "总计", "小计", "法人或其他组织"

_ROW_KINDS = (
    ("new", "一、本年新收政府信息公开申请数量", r"本年(?:度)?新收|新收(?:政府信息公开)?申请"),
    ("carried_in", "二、上年结转政府信息公开申请数量", r"上年(?:度)?结转"),
    ("carried_out", "四、结转下年度继续办理", r"结转下(?:一)?年"),
    ("results_total", "三、本年度办理结果（七）总计", r"(?:\(七\))?(?:总计|合计)$"),
)
_GROUPS = (
    ("不予公开", "（三）不予公开", r"不予公开"),
    ("无法提供", "（四）无法提供", r"无法提供"),
    ("不予处理", "（五）不予处理", r"不予处理"),
    ("其他处理", "（六）其他处理", r"其他处理"),
)
_ITEMS = (
    ("", "（一）予以公开", r"予以公开"),
    ("", "（二）部分公开", r"部分公开"),
    ("不予公开", "1.属于国家秘密", r"国家秘密"),
    ("不予公开", "2.其他法律行政法规禁止公开", r"法规禁止"),
    ("不予公开", "3.危及“三安全一稳定”", r"三安全一稳定|危及"),
    ("不予公开", "4.保护第三方合法权益", r"第三方合法权益"),
    ("不予公开", "5.属于三类内部事务信息", r"内部事务"),
    ("不予公开", "6.属于四类过程性信息", r"过程性信息"),
    ("不予公开", "7.属于行政执法案卷", r"行政执法案卷"),
    ("不予公开", "8.属于行政查询事项", r"行政查询事项"),
    ("无法提供", "1.本机关不掌握相关政府信息", r"不掌握"),
    ("无法提供", "2.没有现成信息需要另行制作", r"另行制作"),
    ("无法提供", "3.补正后申请内容仍不明确", r"不明确"),
    ("不予处理", "1.信访举报投诉类申请", r"信访|举报投诉"),
    ("不予处理", "2.重复申请", r"重复申请"),
    ("不予处理", "3.要求提供公开出版物", r"公开出版物"),
    ("不予处理", "4.无正当理由大量反复申请", r"大量反复"),
    ("不予处理", "5.要求行政机关确认或重新出具已获取信息", r"重新出具"),
    ("其他处理", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", r"不补正"),
    ("其他处理", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", r"缴纳费用|收费通知"),
    ("其他处理", "3.其他", r"(?:^|\d[.、])其他$"),
)


def _applicant_column(header: str) -> str | None:
    """Which applicant column a header cell names (商业 企业 and 商业企业 alike)."""
    if not header:
        return None
    for needle, key in (("自然人", "自然人"), ("商业", "商业企业"), ("科研", "科研机构"), ("公益", "社会公益组织"),
                        ("法律服务", "法律服务机构"), ("小计", _SUBTOTAL)):
        if needle in header:
            return key
    if header.startswith(("总计", "合计")):
        return _TOTAL
    if re.fullmatch(r"其他(?:组织)?", header):
        return "其他"
    if "法人" in header and "申请人" not in header:
        return _LEGAL
    return None


@dataclass
class ApplicationTable:
    """The 收到和处理政府信息公开申请情况 table of one report, read off its grid(s).

    ``columns`` maps an applicant column (自然人, 商业企业 … 其他, 小计 or 法人或其他组织 when the report
    has one, 总计) to its column; ``rows`` maps each row kind (new, carried_in, results_total,
    carried_out) to its row, and ``items`` / ``subtotals`` hold the 办理结果 rows. Rows count through
    the grids the table spans; :meth:`key` gives a cell's place among the report's grids.
    """

    grid: int
    columns: dict[str, int]
    rows: dict[str, int]
    items: list[tuple[str, str, int]]  # (group, label, row)
    subtotals: list[tuple[str, int]]  # (group, row) for reports that add a subtotal row per group
    labels: dict[int, str]  # row -> its label as the report is read
    values: dict[tuple[int, int], int | None]  # (row, col) -> number
    origin: list[tuple[int, int]]  # row -> (grid, row) it was read from (a table may span grids)

    def key(self, row: int, col: int) -> tuple[int, int, int]:
        """Where a cell of the table is among the report's grids: (grid, row, col)."""
        return (*self.origin[row], col)

    def value(self, row_kind: str, column: str) -> int | None:
        row, col = self.rows.get(row_kind), self.columns.get(column)
        if row is None or col is None:
            return None
        return self.values.get((row, col))


def _row_label(cells: Sequence[str | None]) -> list[str]:
    segments: list[str] = []
    for cell in cells:
        text = _norm(cell)
        if text and (not segments or segments[-1] != text):
            segments.append(text)
    return segments


def _classify_row(segments: list[str]) -> tuple[str, str, str]:
    """(kind, group, label): kind is a row kind, "item", "group" or ""."""
    last = segments[-1] if segments else ""
    joined = "".join(segments)
    group = next((g for g, _, pattern in _GROUPS if any(re.search(pattern, s) for s in segments)), "")
    for kind, label, pattern in _ROW_KINDS:
        if re.search(pattern, last) or (kind != "results_total" and re.search(pattern, joined)):
            return kind, "", label
    for item_group, label, pattern in _ITEMS:
        if re.search(pattern, last):
            return "item", item_group, label
    if group:
        return "group", group, next(label for g, label, _ in _GROUPS if g == group)
    return "", "", last


def _has_row(grid: Grid, kinds: Iterable[str]) -> bool:
    wanted = set(kinds)
    return any(_classify_row(_row_label(row))[0] in wanted for row in grid)


def _application_blocks(grids: Sequence[Grid]) -> list[tuple[Grid, list[tuple[int, int]]]]:
    """The application tables' rows with where each came from (grid, row). A grid that starts with
    本年新收 starts a table; a grid right after one, as wide, with 办理结果 or 结转下年度 rows and no
    本年新收 is its continuation (a PDF page break splits the 28-row table in two)."""
    blocks: list[tuple[Grid, list[tuple[int, int]]]] = []
    last = -2
    for g, grid in enumerate(grids):
        if not grid:
            continue
        if _has_row(grid, ("new",)):
            blocks.append(([list(row) for row in grid], [(g, r) for r in range(len(grid))]))
            last = g
        elif (blocks and last == g - 1 and len(grid[0]) == len(blocks[-1][0][0])
              and _has_row(grid, ("item", "results_total", "carried_out"))):
            blocks[-1][0].extend(list(row) for row in grid)
            blocks[-1][1].extend((g, r) for r in range(len(grid)))
            last = g
    return blocks


def _find_application(grids: Sequence[Grid]) -> list[ApplicationTable]:
    tables = []
    for grid, origin in _application_blocks(grids):
        first = next(r for r, row in enumerate(grid) if any(re.search(_ROW_KINDS[0][2], _norm(c)) for c in row))
        width = len(grid[first])
        columns: dict[str, int] = {}
        for c in range(width):
            stack = [_norm(grid[r][c]) for r in range(first)]
            key = next((k for cell in reversed(stack) if (k := _applicant_column(cell))), None)
            if key and key not in columns:
                columns[key] = c
        if not columns and width >= len(_APPLICANTS) + 2:
            # A table without its header: the format's column order, at the right-hand end.
            columns = {key: width - len(_APPLICANTS) - 1 + i for i, key in enumerate((*_APPLICANTS, _TOTAL))}
        if not columns:
            continue
        label_cols = range(min(columns.values()))
        table = ApplicationTable(origin[0][0], columns, {}, [], [], {}, {}, origin)
        group, in_results = "", False
        for r in range(first, len(grid)):
            row = grid[r]
            segments = _row_label([row[c] for c in label_cols])
            data = {c: row[c] for c in columns.values()}
            blank = all(not _norm(v) for v in data.values())
            kind, item_group, label = _classify_row(segments)
            # Rows between 二、上年结转 and （七）总计 are 办理结果 items, listed in the format or not.
            if kind in ("new", "carried_in"):
                in_results = True
            elif kind in ("results_total", "carried_out"):
                in_results = False
            if kind == "group" or (kind == "item" and item_group):
                group = item_group or group
            elif kind in ("new", "carried_in", "results_total", "carried_out") or (kind == "item" and not item_group):
                group = ""
            if kind in ("new", "carried_in", "results_total", "carried_out"):
                if kind in table.rows:
                    continue
                table.rows[kind] = r
            elif kind == "item":
                table.items.append((item_group or group, label, r))
            elif kind == "group" and not blank:
                table.subtotals.append((group, r))
            elif in_results and segments and all(number(v) is not None for v in data.values()) and not blank:
                # An item the format does not list (a repeated header on a new page is not one).
                table.items.append((group, segments[-1], r))
            else:
                continue
            table.labels[r] = label if kind else segments[-1]
            table.values.update(((r, c), number(v)) for c, v in data.items())
        # A group row with numbers and no items under it (（六）其他处理 as one row, as the 2019 format
        # had it) is itself an item of 办理结果, not a subtotal.
        for group, row in list(table.subtotals):
            if not any(item_group == group for item_group, _, _ in table.items):
                table.subtotals.remove((group, row))
                table.items.append((group, table.labels[row], row))
        table.items.sort(key=lambda item: item[2])
        if table.rows:
            tables.append(table)
    return tables


def _application_equations(t: ApplicationTable, labels: _Labels) -> list[_Equation]:
    for row, label in t.labels.items():
        labels.rows[t.origin[row]] = label
    for grid in {g for g, _ in t.origin}:
        for key, col in t.columns.items():
            labels.cols[(grid, col)] = key
    at = t.key
    eqs: list[_Equation] = []
    rows = t.rows
    # Columns: 本年新收 + 上年结转 = 办理结果总计 + 结转下年度继续办理; the 办理结果 items sum to 总计.
    for key, col in t.columns.items():
        if all(k in rows for k in ("new", "carried_in", "results_total", "carried_out")):
            grid = t.origin[rows["carried_out"]][0]
            eqs.append(_Equation(
                APPLICATION_TABLE, "本年新收 + 上年结转 = 办理结果总计 + 结转下年度继续办理",
                [at(rows["new"], col), at(rows["carried_in"], col)],
                [at(rows["results_total"], col), at(rows["carried_out"], col)],
                None, f"{key}列（第{grid + 1}个表格第{col + 1}列）",
            ))
        if "results_total" in rows and t.items:
            groups = list(dict.fromkeys(group or label for group, label, _ in t.items))
            text = " + ".join(_group_term(name) for name in groups) + " = （七）总计"
            total = at(rows["results_total"], col)
            eqs.append(_Equation(
                APPLICATION_TABLE, f"办理结果各项之和：{text}", [at(r, col) for _, _, r in t.items], [total], total, "",
            ))
        for group, sub_row in t.subtotals:
            members = [at(r, col) for item_group, _, r in t.items if item_group == group]
            if members:
                subtotal = at(sub_row, col)
                eqs.append(_Equation(
                    APPLICATION_TABLE, f"{_group_term(group)}各项之和 = {group}小计", members, [subtotal], subtotal, "",
                ))
    # Rows: the applicant columns add up to 总计.
    cols = t.columns
    kinds = [k for k in _LEGAL_KINDS if k in cols]
    parts = ["自然人"] if "自然人" in cols else []
    if _SUBTOTAL in cols:
        parts.append(_SUBTOTAL)
    elif kinds:
        parts.extend(kinds)
    elif _LEGAL in cols:
        parts.append(_LEGAL)
    for row in t.labels:
        if _SUBTOTAL in cols and kinds:
            subtotal = at(row, cols[_SUBTOTAL])
            eqs.append(_Equation(APPLICATION_TABLE, " + ".join(kinds) + " = 小计",
                                 [at(row, cols[k]) for k in kinds], [subtotal], subtotal, ""))
        if _TOTAL in cols and parts:
            total = at(row, cols[_TOTAL])
            eqs.append(_Equation(APPLICATION_TABLE, " + ".join(parts) + " = 总计",
                                 [at(row, cols[k]) for k in parts], [total], total, ""))
    return eqs


def _group_term(name: str) -> str:
    return next((label for group, label, _ in _GROUPS if group == name), name)


# --- the 政府信息公开行政复议、行政诉讼情况 table ----------------------------------------------------

_RESULTS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
_CASE_GROUPS = (
    ("复议后起诉", "行政诉讼·复议后起诉"),
    ("直接起诉", "行政诉讼·未经复议直接起诉"),
    ("行政复议", "行政复议"),
)


def _result_of(cell: str) -> str | None:
    if cell in _RESULTS:
        return cell
    if cell == "合计":
        return _TOTAL
    for result in _RESULTS:
        if cell.endswith(result) or cell.startswith(result):
            return result
    return None


def _case_group(cells: Iterable[str]) -> str | None:
    joined = "".join(cells)
    return next((name for needle, name in _CASE_GROUPS if needle in joined), None)


def _review_equations(grids: Sequence[Grid], labels: _Labels) -> tuple[list[_Equation], dict[_Key, int | None]]:
    eqs: list[_Equation] = []
    values: dict[_Key, int | None] = {}
    for g, grid in enumerate(grids):
        flat = {_norm(c) for row in grid for c in row}
        if not any("行政复议" in c for c in flat) or not any(_result_of(c) for c in flat):
            continue
        width = len(grid[0])
        # Header rows: those before the first row of numbers; a group header an extractor left blank
        # over its span is carried to the right.
        first = next(
            (r for r, row in enumerate(grid)
             if any(_norm(c) and number(c) is not None for c in row) and not any(_result_of(_norm(c)) for c in row)),
            len(grid),
        )
        header = [[_norm(c) for c in row] for row in grid[:first]]
        for row in header:
            if any(_case_group([c]) for c in row):
                for c in range(1, width):
                    if not row[c] and _case_group([row[c - 1]]):
                        row[c] = row[c - 1]
        for r in range(first, len(grid)):
            row = grid[r]
            label_group = _case_group(_norm(c) for c in row if number(c) is None)
            label_result = next((res for c in row if (res := _result_of(_norm(c)))), None)
            buckets: dict[str, dict[str, _Key]] = {}
            for c in range(width):
                stack = [h[c] for h in header]
                result = next((res for cell in reversed(stack) if (res := _result_of(cell))), None) or label_result
                group = _case_group(reversed(stack)) or label_group
                if result is None or group is None or (_norm(row[c]) and number(row[c]) is None):
                    continue
                key = (g, r, c)
                if result in buckets.setdefault(group, {}):
                    continue
                buckets[group][result] = key
                values[key] = number(row[c])
                labels.rows[(g, r)] = "" if label_group is None else label_group
                labels.cols[(g, c)] = f"{group}·{result}" if label_group is None else result
            for group, cells in buckets.items():
                if _TOTAL in cells and len(cells) == len(_RESULTS):
                    eqs.append(_Equation(
                        REVIEW_TABLE, f"{group}：结果维持 + 结果纠正 + 其他结果 + 尚未审结 = 总计",
                        [cells[res] for res in _RESULTS[:-1]], [cells[_TOTAL]], cells[_TOTAL], "",
                    ))
    return eqs, values


# --- localisation and the public checks -----------------------------------------------------------


def _disagreements(eqs: list[_Equation], values: dict[_Key, int | None], labels: _Labels,
                   blanks: set[_Key]) -> list[Disagreement]:
    sides = {i: s for i, e in enumerate(eqs) if (s := e.sides(values)) is not None}
    failing = {i for i, (left, right) in sides.items() if left != right}
    members: dict[_Key, list[int]] = {}
    for i in sides:
        for key in eqs[i].left + eqs[i].right:
            members.setdefault(key, []).append(i)
    # A cell every one of whose (two or more) equations fails, all fixed by one correction of it.
    blamed: list[tuple[_Key, list[int], int]] = []
    for key in sorted({k for i in failing for k in eqs[i].left + eqs[i].right}):
        mine = members[key]
        if len(mine) < 2 or not all(i in failing for i in mine):
            continue
        fixes = {(sides[i][1] - sides[i][0]) if key in eqs[i].left else (sides[i][0] - sides[i][1]) for i in mine}
        if len(fixes) == 1:
            blamed.append((key, mine, fixes.pop()))
    blamed.sort(key=lambda b: (-len(b[1]), b[0]))
    explained: set[int] = set()
    out = []
    for key, mine, fix in blamed:
        if explained.intersection(mine):
            continue
        explained.update(mine)
        # The equation to show: the one that totals this cell, else its row's sum (the easiest to read).
        primary = next(
            (i for i in mine if eqs[i].focus == key),
            next((i for i in mine if all(k[1] == key[1] for k in eqs[i].left + eqs[i].right)), mine[0]),
        )
        stated = values[key]
        out.append(Disagreement(
            eqs[primary].table, labels.name(key), eqs[primary].text, *sides[primary],
            grid=key[0], row=key[1], col=key[2], stated=stated,
            expected=None if stated is None else stated + fix,
            related=tuple(eqs[i].text for i in mine if i != primary),
        ))
    out.extend(_unfilled_totals(eqs, values, labels, blanks, sides, failing - explained, explained))
    for i in sorted(failing - explained):
        e = eqs[i]
        if e.focus is not None:
            name, (g, r, c) = labels.name(e.focus), e.focus
            out.append(Disagreement(e.table, name, e.text, *sides[i], grid=g, row=r, col=c, stated=values[e.focus]))
        else:
            g, _, c = e.right[-1]
            out.append(Disagreement(e.table, e.where, e.text, *sides[i], grid=g, col=c))
    out.sort(key=lambda d: (d.grid if d.grid is not None else -1, d.row if d.row is not None else -1, d.col or 0))
    return out


def _unfilled_totals(eqs: list[_Equation], values: dict[_Key, int | None], labels: _Labels, blanks: set[_Key],
                     sides: dict[int, tuple[int, int]], failing: set[int], explained: set[int]) -> list[Disagreement]:
    """Totals left blank in several rows of one column (the report did not fill its 总计 column in):
    one disagreement for the column, with the equations the blanks alone break (a column sum
    through them) folded into it, instead of one per row. ``explained`` is updated."""
    groups: dict[tuple[str, str, int, int], list[tuple[int, _Key]]] = {}
    for i in sorted(failing):
        focus = eqs[i].focus
        if focus is not None and eqs[i].right == [focus] and focus in blanks:
            groups.setdefault((eqs[i].table, eqs[i].text, focus[0], focus[2]), []).append((i, focus))
    out = []
    for (table, text, grid, col), members in groups.items():
        if len(members) < 2:
            continue
        rows = [i for i, _ in members]
        filled = dict(values)
        filled.update((focus, sides[i][0]) for i, focus in members)
        folded = [j for j in sorted(failing - set(rows)) if (s := eqs[j].sides(filled)) is not None and s[0] == s[1]]
        explained.update(rows, folded)
        names = "、".join(labels.rows.get((grid, focus[1]), "") for _, focus in members)
        numbers = "、".join(str(focus[1] + 1) for _, focus in members)
        out.append(Disagreement(
            table, f"{names} / {labels.cols.get((grid, col), '')}（空白；第{grid + 1}个表格第{numbers}行第{col + 1}列）",
            text, sum(sides[i][0] for i in rows), sum(sides[i][1] for i in rows),
            grid=grid, row=members[0][1][1], col=col, related=tuple(eqs[j].text for j in folded),
        ))
    return out


def _padded(grids: Sequence[Sequence[Sequence[str | None]]]) -> list[Grid]:
    """Grids as the checks read them: ragged rows (some extractors drop trailing empty cells) padded
    with "", merged areas left as None (both read as blank)."""
    out = []
    for grid in grids:
        width = max((len(row) for row in grid), default=0)
        out.append([[*row, *([""] * (width - len(row)))] for row in grid] if width else [])
    return out


def application_tables(grids: Sequence[Grid]) -> list[ApplicationTable]:
    """Every 收到和处理政府信息公开申请情况 table among a report's grids, recognised by its row labels
    (一、本年新收政府信息公开申请数量 …) and its 自然人 / 法人或其他组织 / 总计 header."""
    return _find_application(_padded(grids))


def check_arithmetic(grids: list[Grid], text: str = "") -> list[Disagreement]:
    """Every disagreement of a report's tables with their own totals.

    收到和处理政府信息公开申请情况, for every applicant column: 本年新收 + 上年结转 = 办理结果总计 +
    结转下年度继续办理, and the 办理结果 items （一）…（六） add up to （七）总计 (and to a group's 小计
    where the report adds one); for every row: 自然人 + the five 法人或其他组织 kinds (or their 小计) =
    总计. 政府信息公开行政复议、行政诉讼情况: in each of 行政复议, 未经复议直接起诉 and 复议后起诉,
    结果维持 + 结果纠正 + 其他结果 + 尚未审结 = 总计. The 主动公开政府信息情况 table has no equation
    inside it in the format and is not checked. Tables are recognised by their labels, wherever they
    are in ``grids``; ``text`` (the report's text) is accepted for callers that have it and is not
    needed. An equation with a cell that is not a number (``见附件``) is skipped.
    """
    del text  # the labels inside the tables identify them; kept in the signature for the contract
    grids = _padded(grids)
    labels = _Labels()
    eqs: list[_Equation] = []
    values: dict[_Key, int | None] = {}
    for table in _find_application(grids):
        eqs.extend(_application_equations(table, labels))
        values.update((table.key(r, c), v) for (r, c), v in table.values.items())
    review_eqs, review_values = _review_equations(grids, labels)
    eqs.extend(review_eqs)
    values.update(review_values)
    blanks = {key for key in values if not _norm(grids[key[0]][key[1]][key[2]])}
    return _disagreements(eqs, values, labels, blanks)


def carry_over(this_year: list[Grid], last_year: list[Grid]) -> list[Disagreement]:
    """This year's 二、上年结转政府信息公开申请数量 against last year's 四、结转下年度继续办理, column by
    column (matched by applicant, not position). Nothing to compare (a table or row missing in either
    report) gives no disagreement; :func:`application_tables` tells whether the tables were read."""
    now, before = _find_application(_padded(this_year)), _find_application(_padded(last_year))
    if not now or not before:
        return []
    current, previous = now[0], before[0]
    row = current.rows.get("carried_in")
    if row is None or "carried_out" not in previous.rows:
        return []
    out = []
    for key, col in current.columns.items():
        this, last = current.value("carried_in", key), previous.value("carried_out", key)
        if this is None or last is None or this == last:
            continue
        grid, grid_row, _ = current.key(row, col)
        out.append(Disagreement(
            APPLICATION_TABLE,
            f"二、上年结转政府信息公开申请数量 / {key}（第{grid + 1}个表格第{grid_row + 1}行第{col + 1}列）",
            "本年上年结转政府信息公开申请数量 = 上年报告结转下年度继续办理",
            this, last, grid=grid, row=grid_row, col=col, stated=this, expected=last,
        ))
    return out
