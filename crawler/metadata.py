"""The one parser for a disclosure page's metadata block (公开要素: 索引号, 发布机构, 成文日期 …).

Portals write the block in many markups: table rows of label/value cells (several pairs a row, th or td,
with or without a colon), dl/dt/dd, "label：value" inside one li/p/span/div, label and value as sibling
elements, spaced labels ("索 引 号"). One walk over the body turns it into lines the way a browser lays
them out (a block element or <br> starts a line, inline elements stay on it), then labels are read
from the lines:

- a label followed by a colon, or standing alone in its element, opens a value that runs to the next
  label on the same line or the line's end;
- a label that ends its line takes the next cell (td/th → the next td/th of the row, dt → its dd) or,
  outside tables, the next line, unless that starts with a label itself (an empty value);
- short "中文：" labels that are not known fields (公开方式, 文件登记号 …) end the value before them and
  are kept in ``raw``.

The first cluster of labels (neighbouring lines) holding two known fields and a value is the block;
a field missing there is taken from elsewhere in the body only when the page writes it exactly once,
after a colon (a sidebar or related-documents list repeats its 发布日期). <meta> tags (ArticleTitle,
PubDate, ContentSource, a 索引号 meta) fill only the fields the body does not write at all: a label
written with an empty value stays None, as a reader sees it.

主题词 is the keywords line of an official document (公文主题词), not its topic: it goes to ``raw`` only.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import lxml.etree
import lxml.html

from crawler.dates import parse_date

# field -> the labels that name it (spaces are ignored when matching).
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "index_number": ("索引号", "信息索引号", "文件索引号", "索取号"),
    "publisher": ("发布机构", "发文机关", "发文单位", "发布单位", "制发机关", "公开主体", "发布机关"),
    # 生成日期 is the Zhejiang-style (GB/T 21063 catalogue) name for when a document was made: 成文日期.
    "written_date": ("成文日期", "成文时间", "印发日期", "制发日期", "发文日期", "生成日期"),
    "published_date": ("发布日期", "发布时间", "公开日期", "公开时间"),
    "doc_number": ("文号", "发文字号", "文件编号", "发文文号", "文件字号"),
    "validity": ("有效性", "时效性", "效力状态", "有效状态", "是否有效"),
    "topic": ("主题分类", "组配分类", "所属主题", "信息分类"),
    "title": ("标题", "名称", "文件名称", "信息名称", "文件标题"),
}
# Labels of the block that are no field of ours; recognised even without a colon so that a table cell
# holding one is not read as a value.
OTHER_LABELS = ("主题词", "关键词", "公开方式", "公开范围", "公开形式", "公开时限", "体裁分类", "服务对象",
                "信息来源", "文件登记号", "登记号", "统一编号", "生效日期", "废止日期", "失效日期", "内容概述",
                "责任部门")

# <meta name> (lower-cased) -> field, for CMSs that put the metadata in the head.
META_FIELDS = {
    "articletitle": "title",
    "pubdate": "published_date",
    "contentsource": "publisher",
    "indexnumber": "index_number",
    "index_number": "index_number",
}

_LABEL_FIELD = {label: name for name, labels in FIELD_LABELS.items() for label in labels}
_LABEL_FIELD.update(dict.fromkeys(OTHER_LABELS))

_SEP = "\ue000"  # marks an inline element boundary inside a line (private use: never in real text)
_CJK = "\u4e00-\u9fff"
_COLON = "[:：﹕]"
_ALTERNATION = "|".join(" ?".join(map(re.escape, label)) for label in sorted(_LABEL_FIELD, key=len, reverse=True))
# A known label ends at a colon, at an element boundary or at the line's end; it must not be the tail of a
# longer word (登记文号 is not 文号).
_KNOWN = re.compile(rf"(?<![{_CJK}])(?:{_ALTERNATION})(?=[ {_SEP}]*{_COLON}|{_SEP}|$)")
_TERMINATOR = re.compile(rf"[ {_SEP}]*{_COLON}")
# Any other short label: a few Chinese characters and a colon, not the tail of a longer Chinese text.
_OTHER = re.compile(rf"(?<![{_CJK}])[{_CJK}]{{2,8}}(?=[ {_SEP}]*{_COLON})")
_SPACES = re.compile(r"\s+")
_STRIP = f" {_SEP}|｜;；,，"

_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "center", "dd", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "html", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "ul",
})
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "iframe", "object", "svg", "select",
                   "textarea", "button"})
_NEXT_CELL = {"td": ("td", "th"), "th": ("td", "th"), "dt": ("dd",)}
_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
_CLUSTER_GAP = 6  # lines between two known labels of one block (a row of cells, other labels between)


@dataclass
class DocumentMeta:
    """A document page's metadata; dates are parsed, everything else is the text as found."""

    index_number: str | None = None  # 索引号
    publisher: str | None = None  # 发布机构
    written_date: date | None = None  # 成文日期
    published_date: date | None = None  # 发布日期
    doc_number: str | None = None  # 文号
    validity: str | None = None  # 有效性
    topic: str | None = None  # 主题分类
    title: str | None = None  # 标题/名称 when the block has one
    raw: dict[str, str] = field(default_factory=dict)  # every label -> value as found (normalised label)
    found: bool = False  # a metadata block (>= 2 known labels) was found
    # The date fields' text as written: a year-less date is read against the run's date, so a reading
    # kept from an earlier night (crawler.reuse) is dated again with ``redate``.
    date_texts: dict[str, str] = field(default_factory=dict)


@dataclass
class _Line:
    text: str
    owner: lxml.html.HtmlElement  # the innermost block element holding the line
    cell: lxml.html.HtmlElement | None  # the innermost td/th/dt/dd holding the line


@dataclass
class _Label:
    line: int
    label: str  # without spaces
    field: str | None
    value: str
    colon: bool
    cell: lxml.html.HtmlElement | None


def _lines(body: lxml.html.HtmlElement) -> list[_Line]:
    """The body's text as a browser would break it into lines, inline boundaries marked with _SEP."""
    lines: list[_Line] = []
    buffer: list[str] = []
    cells: list[lxml.html.HtmlElement] = []
    blocks: list[lxml.html.HtmlElement] = [body]

    def flush() -> None:
        text = _SPACES.sub(" ", "".join(buffer)).strip(f" {_SEP}")
        buffer.clear()
        if text.replace(_SEP, "").strip():
            lines.append(_Line(text, blocks[-1], cells[-1] if cells else None))

    def walk(element: lxml.html.HtmlElement) -> None:
        tag = element.tag
        if isinstance(tag, str) and tag not in _SKIP:
            block = tag in _BLOCK
            if block:
                flush()
                blocks.append(element)
            else:
                buffer.append(_SEP)
            if tag in _NEXT_CELL or tag == "dd":
                cells.append(element)
            if element.text:
                buffer.append(element.text)
            for child in element:
                walk(child)
            if block:
                flush()
                blocks.pop()
            else:
                buffer.append(_SEP)
            if tag in _NEXT_CELL or tag == "dd":
                cells.pop()
        if element.tail:
            buffer.append(element.tail)

    walk(body)
    flush()
    return lines


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text.replace(_SEP, "")).strip(_STRIP)


def _matches(text: str) -> list[tuple[int, int, str]]:
    """(start, end of label and colon, label) for every label on a line, in order."""
    found = []
    for match in _KNOWN.finditer(text):
        terminator = _TERMINATOR.match(text, match.end())
        found.append((match.start(), terminator.end() if terminator else match.end(), match.group()))
    for match in _OTHER.finditer(text):
        if not any(start <= match.start() < end for start, end, _ in found):
            found.append((match.start(), _TERMINATOR.match(text, match.end()).end(), match.group()))
    return sorted(found)


def _value_cell(cell: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The cell that holds the value of a label cell: the next td/th of the row, a dt's dd."""
    if cell.tag not in _NEXT_CELL:
        return None
    sibling = cell.getnext()
    return sibling if sibling is not None and sibling.tag in _NEXT_CELL[cell.tag] else None


def _beside(label_owner: lxml.html.HtmlElement, value_owner: lxml.html.HtmlElement) -> bool:
    """Whether a line owned by ``value_owner`` sits where the value of a label line can be: in the same
    element, inside it, or in (a child of) one of its siblings, not in the next part of the page.
    """
    parent = label_owner.getparent()
    element: lxml.html.HtmlElement | None = value_owner
    for _ in range(4):
        if element is None:
            return False
        if element is label_owner or element.getparent() is parent:
            return True
        element = element.getparent()
    return False


def _next_value(lines: list[_Line], index: int, matches: list[list[tuple[int, int, str]]]) -> str:
    """The value of a label that ends line ``index``: the next line, unless it starts with a label or
    lies outside the cell or element group that should hold the value (an empty element writes no line).
    """
    if index + 1 >= len(lines):
        return ""
    line, following = lines[index], lines[index + 1]
    if line.cell is not None and following.cell is not line.cell:
        if following.cell is None or following.cell is not _value_cell(line.cell):
            return ""
    elif line.cell is None and not _beside(line.owner, following.owner):
        return ""
    first = matches[index + 1][0][0] if matches[index + 1] else len(following.text)
    return _clean(following.text[:first])


def _labels(lines: list[_Line]) -> list[_Label]:
    matches = [_matches(line.text) for line in lines]
    labels: list[_Label] = []
    for index, line in enumerate(lines):
        found = matches[index]
        for number, (start, end, label) in enumerate(found):
            if number + 1 < len(found):
                value = _clean(line.text[end:found[number + 1][0]])
            else:
                value = _clean(line.text[end:])
                if not value:
                    value = _next_value(lines, index, matches)
            name = _LABEL_FIELD.get(label.replace(" ", ""))
            colon = end > start + len(label)
            labels.append(_Label(index, label.replace(" ", ""), name, value, colon, line.cell))
    return labels


def _clusters(labels: list[_Label]) -> list[list[_Label]]:
    """Runs of known labels at most _CLUSTER_GAP lines apart, with the other labels between them and
    those on the line or in the table row / dl of the first or last (公开方式 in the row's other cells),
    not a breadcrumb's 当前位置 above the block or an 在线办理 in the text below it. A field written
    again starts a new run: that is the next block, or a list repeating its 发布日期.
    """
    runs: list[list[int]] = []
    fields: set[str] = set()
    for index, label in enumerate(labels):
        if label.field is None:
            continue
        if runs and label.field not in fields and label.line - labels[runs[-1][1]].line <= _CLUSTER_GAP:
            runs[-1][1] = index
        else:
            runs.append([index, index])
            fields.clear()
        fields.add(label.field)
    clusters = []
    for first, last in runs:
        while first > 0 and labels[first - 1].field is None and _together(labels[first - 1], labels[first]):
            first -= 1
        while last + 1 < len(labels) and labels[last + 1].field is None and _together(labels[last + 1], labels[last]):
            last += 1
        clusters.append(labels[first:last + 1])
    return clusters


def _together(other: _Label, known: _Label) -> bool:
    row = _row(known)
    return other.line == known.line or (row is not None and _row(other) is row)


def _row(label: _Label) -> lxml.html.HtmlElement | None:
    return label.cell.getparent() if label.cell is not None else None


def _is_block(cluster: list[_Label]) -> bool:
    known = [label for label in cluster if label.field]
    return len({label.field for label in known}) >= 2 and any(label.value for label in known)


def _set(meta: DocumentMeta, name: str, value: str, as_of: date | None) -> None:
    if name in ("written_date", "published_date"):
        meta.date_texts[name] = value
        setattr(meta, name, parse_date(value, as_of=as_of))
    else:
        setattr(meta, name, value or None)


def _parse_html(html: str | lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    if not isinstance(html, str):
        return html
    if not html.strip():
        return None
    try:
        # Bytes, so that an <?xml encoding?> declaration in a str does not make lxml refuse it.
        return lxml.html.document_fromstring(html.encode("utf-8"), parser=_PARSER)
    except lxml.etree.ParserError:
        return None  # a page of nothing but comments or a doctype



def text_lines(root: lxml.html.HtmlElement) -> list[_Line]:
    """A parsed page's body laid out in lines (or the whole tree's, without a body): what
    ``parse_metadata`` reads, and ``crawler.messages.read_message`` too (given as ``lines``, the page is
    laid out once for both)."""
    body = root if root.tag == "body" else root.find(".//body")
    return _lines(body if body is not None else root)


def parse_metadata(html: str | lxml.html.HtmlElement, *, as_of: date | None = None,
                   lines: list[_Line] | None = None) -> DocumentMeta:
    """Read the metadata block of a document page (HTML text or a parsed lxml document); ``lines``: its
    ``text_lines``, when the caller has them already."""
    meta = DocumentMeta()
    root = _parse_html(html)
    if root is None:
        return meta
    labels = _labels(lines if lines is not None else text_lines(root))

    block = next((cluster for cluster in _clusters(labels) if _is_block(cluster)), [])
    meta.found = bool(block)
    written: set[str] = set()  # fields the page writes, even empty; the first of a repeated label wins
    for label in block:
        meta.raw.setdefault(label.label, label.value)
        if label.field and label.field not in written:
            written.add(label.field)
            _set(meta, label.field, label.value, as_of)

    outside = [label for label in labels if label.field and label.field not in written]
    counts = Counter(label.field for label in outside)
    for label in outside:
        if counts[label.field] == 1 and label.colon and label.value:
            written.add(label.field)
            meta.raw.setdefault(label.label, label.value)
            _set(meta, label.field, label.value, as_of)

    for element in root.iter("meta"):
        name = (element.get("name") or "").strip()
        field_name = META_FIELDS.get(name.lower()) or _LABEL_FIELD.get(name.replace(" ", ""))
        content = _clean(element.get("content") or "")
        if field_name and content and field_name not in written:
            written.add(field_name)
            _set(meta, field_name, content, as_of)
    return meta


def redate(meta: DocumentMeta, as_of: date | None) -> DocumentMeta:
    """``meta`` with its dates read again from their text against ``as_of``."""
    for name, value in meta.date_texts.items():
        setattr(meta, name, parse_date(value, as_of=as_of))
    return meta
