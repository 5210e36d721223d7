"""Message boards (领导信箱, 在线咨询, 留言选登): the list of a board and each message's detail page.

A board's list is a table whose header names its columns (标题, 留言时间, 答复时间, 状态, 答复单位 … in any
order), or ``<li>`` items holding the message's link and labelled spans (``<span>留言时间：2026-06-01</span>``).
A detail page writes labelled fields: 留言时间 / 来信时间 / 提问时间, 答复时间 / 回复时间 / 办结时间, 答复单位 /
回复部门, 状态, and a 答复内容 block, which may be empty or say 未回复 / 待回复 / 处理中. Labels and values are
read from the page laid out in lines (a block element starts a line): "label：value" on one line, several
on a line, a label cell and its value cell, a ``dt`` and its ``dd``, or a heading and the block after it.

Dates are kept as text here and read by ``crawler.dates`` when the message is stored, against the
run's date (a reading kept from another night stays right).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import lxml.etree
import lxml.html

from crawler.dates import normalize, parse_date
from crawler.items import MessageItem
from crawler.metadata import _BLOCK, _SKIP  # the block and skipped elements of the labelled-text readers

# field -> the labels that name it (spaces ignored when matching).
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "title": ("标题", "留言标题", "来信标题", "信件标题", "咨询标题", "信件主题", "留言主题", "主题", "事项"),
    "asked": ("留言时间", "留言日期", "来信时间", "来信日期", "提问时间", "提问日期", "咨询时间", "咨询日期",
              "写信时间", "写信日期", "发信时间", "提交时间"),
    "replied": ("答复时间", "答复日期", "回复时间", "回复日期", "办结时间", "办结日期", "反馈时间", "反馈日期"),
    "unit": ("答复单位", "答复部门", "回复单位", "回复部门", "办理单位", "处理单位", "答复机构"),
    "status": ("状态", "办理状态", "处理状态", "回复状态", "答复状态", "办结状态"),
    "reply": ("答复内容", "回复内容", "答复意见", "回复意见", "办理结果", "处理结果", "答复"),
    # Read so that their values end where they start; no field of a message.
    "other": ("留言人", "来信人", "姓名", "留言内容", "来信内容", "咨询内容", "问题描述", "内容", "编号",
              "信件编号", "受理单位", "类型", "信件类型", "留言类型", "浏览次数", "点击数", "发布时间",
              # A footer's: 承办单位 there runs the site, it does not answer messages.
              "主办单位", "承办单位", "联系电话", "网站标识码"),
}
# What a 答复内容 or 状态 says when there is no answer yet.
PENDING = re.compile(r"^(?:暂|尚|还)?(?:未|待|没有)(?:回复|答复|办结|处理|反馈)|^(?:正在)?(?:处理|办理|受理)中"
                     r"|^待处理|^已受理$|^(?:暂|尚)?无(?:回复|答复)")
ANSWERED = re.compile(r"^已(?:回复|答复|办结|反馈|处理|公开)")

_LABEL_FIELD = {label: name for name, labels in FIELD_LABELS.items() for label in labels}
_CJK = "\u4e00-\u9fff"
_SEP = "\ue000"  # an element boundary inside a line
_ALTERNATION = "|".join(" ?".join(map(re.escape, label)) for label in sorted(_LABEL_FIELD, key=len, reverse=True))
# A label with its colon ("留言时间：") anywhere, or alone up to an element boundary or the line's end.
_LABEL = re.compile(rf"(?<![{_CJK}])(?P<label>{_ALTERNATION})\s*(?:(?P<colon>[:：﹕])|(?={_SEP}|$))")
_SPACES = re.compile(r"\s+")
_STRIP = f" {_SEP}|｜;；,，【】[]"
_CELLS = frozenset({"td", "th", "dt", "dd"})
_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
_HEADER_MAX = 12  # characters of a header cell ("留言时间", "办理状态")


@dataclass
class MessageFields:
    """What a board's row or a message's page says of one message; dates as written."""

    title: str | None = None
    asked_text: str | None = None  # 留言时间
    replied_text: str | None = None  # 答复时间
    unit: str | None = None  # 答复单位
    status: str | None = None  # 状态 / 办理状态
    reply: str | None = None  # 答复内容 (its first line); None when the page writes no such block
    labels: int = 0  # how many message labels were found


@dataclass
class BoardRow:
    """One message as a board's list shows it."""

    url: str
    fields: MessageFields


def is_pending(text: str | None) -> bool:
    """Whether a 答复内容 or 状态 says there is no answer yet (未回复, 待回复, 处理中 …)."""
    return bool(text) and bool(PENDING.search(_SPACES.sub("", normalize(text))))


def says_answered(text: str | None) -> bool:
    """Whether a 状态 says the message was answered (已回复, 已办结 …)."""
    return bool(text) and bool(ANSWERED.search(_SPACES.sub("", normalize(text))))


def _parse(html: str | lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    if not isinstance(html, str):
        return html
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html.encode("utf-8"), parser=_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return None


def _text(el: lxml.html.HtmlElement) -> str:
    return _SPACES.sub(" ", el.text_content() or "").strip()


def _label_of(text: str) -> str | None:
    """The field a header cell names ("留言时间", "答复 日期：") or None."""
    key = re.sub(r"[\s:：﹕]", "", normalize(text))
    if len(key) > _HEADER_MAX:
        return None
    return _LABEL_FIELD.get(key)


# --- detail pages ---------------------------------------------------------------------------

@dataclass
class _Line:
    text: str
    owner: lxml.html.HtmlElement  # the innermost block element holding the line
    cell: lxml.html.HtmlElement | None  # the innermost td/th/dt/dd holding it


def _lines(body: lxml.html.HtmlElement) -> list[_Line]:
    """The body's text as a browser breaks it into lines; inline element boundaries marked with _SEP."""
    lines: list[_Line] = []
    buffer: list[str] = []
    blocks = [body]
    cells: list[lxml.html.HtmlElement] = []

    def flush() -> None:
        text = _SPACES.sub(" ", "".join(buffer)).strip(f" {_SEP}")
        buffer.clear()
        if text.replace(_SEP, "").strip():
            lines.append(_Line(normalize(text), blocks[-1], cells[-1] if cells else None))

    def walk(el: lxml.html.HtmlElement) -> None:
        tag = el.tag
        if isinstance(tag, str) and tag not in _SKIP:
            block = tag in _BLOCK
            if block:
                flush()
                blocks.append(el)
            else:
                buffer.append(_SEP)
            if tag in _CELLS:
                cells.append(el)
            if el.text:
                buffer.append(el.text)
            for child in el:
                walk(child)
            if block:
                flush()
                blocks.pop()
            else:
                buffer.append(_SEP)
            if tag in _CELLS:
                cells.pop()
        if el.tail:
            buffer.append(el.tail)

    walk(body)
    flush()
    return lines


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text.replace(_SEP, " ")).strip(_STRIP)


def _next_cell(cell: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    sibling = cell.getnext()
    if sibling is None:
        return None
    if cell.tag in ("td", "th") and sibling.tag in ("td", "th"):
        return sibling
    if cell.tag == "dt" and sibling.tag == "dd":
        return sibling
    return None


def _within(el: lxml.html.HtmlElement | None, ancestor: lxml.html.HtmlElement) -> bool:
    while el is not None:
        if el is ancestor:
            return True
        el = el.getparent()
    return False


def _following(lines: list[_Line], index: int, starts: list[bool]) -> str:
    """The value of a label that ends line ``index``: the next line, when it is the label cell's value
    cell, or (outside tables) a block beside the label's, and does not start with a label itself."""
    if index + 1 >= len(lines) or starts[index + 1]:
        return ""
    line, nxt = lines[index], lines[index + 1]
    if line.cell is not None:
        value_cell = _next_cell(line.cell)
        if value_cell is None or not _within(nxt.owner, value_cell):
            return ""
    else:
        parent = line.owner.getparent()
        if parent is None or not (_within(nxt.owner, line.owner) or _within(nxt.owner, parent)):
            return ""
        if nxt.cell is not None and not _within(line.owner, nxt.cell):
            return ""  # a table further on is not this heading's text
    return _clean(nxt.text)


def read_message(html: str | lxml.html.HtmlElement, *, lines: list | None = None) -> MessageFields | None:
    """The message fields of a detail page, or None when it writes neither a 留言时间 nor a reply field.

    ``lines``: the page's ``crawler.metadata.text_lines``, when the caller has them: the same walk with the
    same block, skipped and cell elements, so only their text is normalised here."""
    root = _parse(html)
    if root is None:
        return None
    if lines is not None:
        lines = [_Line(normalize(line.text), line.owner, line.cell) for line in lines]
    else:
        body = root.find(".//body")
        lines = _lines(body if body is not None else root)
    found: list[tuple[int, str, str]] = []  # (line, field, value)
    matches = [list(_LABEL.finditer(line.text)) for line in lines]
    starts = [bool(m) and m[0].start() == 0 for m in matches]
    for index, line in enumerate(lines):
        for number, match in enumerate(matches[index]):
            end = matches[index][number + 1].start() if number + 1 < len(matches[index]) else len(line.text)
            value = _clean(line.text[match.end():end])
            if not value and number + 1 == len(matches[index]):
                value = _following(lines, index, starts)
            found.append((index, _LABEL_FIELD[match.group("label").replace(" ", "")], value))
    fields = MessageFields()
    seen: set[str] = set()
    for _, name, value in found:
        if name == "other" or name in seen:
            continue  # the first of a repeated label wins (a sidebar's 发布时间 comes later)
        seen.add(name)
        fields.labels += 1
        if name == "asked":
            fields.asked_text = value or None
        elif name == "replied":
            fields.replied_text = value or None
        elif name == "reply":
            fields.reply = value  # "" is an empty reply block, not a missing one
        else:
            setattr(fields, name, value or None)
    if "asked" not in seen and not ({"replied", "reply"} & seen):
        return None
    return fields


# --- board lists ----------------------------------------------------------------------------

def _link(el: lxml.html.HtmlElement, base: str) -> tuple[str, str] | None:
    """(absolute URL, anchor text) of the first real link inside ``el``."""
    for a in el.iter("a"):
        href = (a.get("href") or "").strip()
        if href and not href.lower().startswith(("javascript:", "#", "mailto:")):
            return urljoin(base, href), _text(a) or (a.get("title") or "").strip()
    return None


def _table_rows(root: lxml.html.HtmlElement, base: str) -> list[BoardRow]:
    rows: list[BoardRow] = []
    for table in root.iter("table"):
        columns: dict[int, str] | None = None
        for tr in table.iter("tr"):
            if _nearest_table(tr) is not table:
                continue  # a row of a table nested inside this one
            cells = [c for c in tr if c.tag in ("td", "th")]
            if columns is None:
                named = {i: _label_of(_text(c)) for i, c in enumerate(cells)}
                named = {i: name for i, name in named.items() if name and name != "other"}
                if len(named) >= 2 and ({"asked", "replied", "status"} & set(named.values())):
                    columns = named
                continue
            link = _link(tr, base)
            if link is None:
                continue
            fields = MessageFields(title=link[1] or None)
            for i, name in columns.items():
                if i < len(cells):
                    value = _clean(normalize(_text(cells[i])))
                    if name == "title":
                        fields.title = value or fields.title
                    elif name == "asked":
                        fields.asked_text = value or None
                    elif name == "replied":
                        fields.replied_text = value or None
                    elif name in ("unit", "status"):
                        setattr(fields, name, value or None)
                    fields.labels += 1
            rows.append(BoardRow(link[0], fields))
    return rows


def _nearest_table(el: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    el = el.getparent()
    while el is not None and el.tag != "table":
        el = el.getparent()
    return el


def _item_rows(root: lxml.html.HtmlElement, base: str) -> list[BoardRow]:
    """``<li>`` (or ``<dl>``) items with a link and labelled spans: 留言时间：…, 状态：…"""
    rows: list[BoardRow] = []
    for item in root.iter("li", "dl"):
        link = _link(item, base)
        if link is None or any(child.tag in ("li", "dl") for child in item.iterdescendants()):
            continue
        fields = MessageFields(title=link[1] or None)
        lines = _lines(item)
        text = _SEP.join(line.text for line in lines)
        for match in _LABEL.finditer(text):
            if not match.group("colon"):
                continue  # in a list item only "label：value" is a field, not a bare word of the title
            rest = text[match.end():]
            nxt = _LABEL.search(rest)
            value = _clean(rest[:nxt.start()] if nxt else rest).split(_SEP)[0].strip()
            name = _LABEL_FIELD[match.group("label").replace(" ", "")]
            if name == "asked":
                fields.asked_text = value or None
            elif name == "replied":
                fields.replied_text = value or None
            elif name in ("unit", "status"):
                setattr(fields, name, value or None)
            elif name == "title":
                fields.title = value or fields.title
            else:
                continue
            fields.labels += 1
        if fields.asked_text or fields.replied_text or fields.status:
            rows.append(BoardRow(link[0], fields))
    return rows


def read_board(html: str | lxml.html.HtmlElement, url: str) -> list[BoardRow]:
    """The messages a board's list page shows, in page order; [] when it shows none in a known form."""
    root = _parse(html)
    if root is None:
        return []
    rows = _table_rows(root, url) or _item_rows(root, url)
    unique: dict[str, BoardRow] = {}
    for row in rows:
        unique.setdefault(row.url, row)
    return list(unique.values())


def merge(row: MessageFields | None, page: MessageFields | None) -> MessageFields:
    """A message from its board's row and its own page: what the page writes wins."""
    merged = MessageFields()
    for source in (row, page):
        if source is None:
            continue
        for name in ("title", "asked_text", "replied_text", "unit", "status"):
            value = getattr(source, name)
            if value:
                setattr(merged, name, value)
        if source.reply is not None:
            merged.reply = source.reply
        merged.labels += source.labels
    return merged


def has_reply(fields: MessageFields, replied: object) -> bool:
    """Answered: a reply date, or a reply text that is not a "pending" phrase; with neither (a page
    not read), a status that says 已回复 / 已办结."""
    if replied is not None:
        return True
    if fields.reply:
        return not is_pending(fields.reply)
    if fields.reply is None and fields.status:
        return says_answered(fields.status)
    return False


def _cut(text: str | None, size: int) -> str | None:
    return text[:size] if text else None


def join_messages(rows: dict[str, tuple[str, MessageFields]], pages: dict[str, MessageFields],
                  as_of: dt.date | None) -> list[MessageItem]:
    """The messages of the boards: each board row (URL -> (board URL, fields)) with what its page says,
    if it was read; dates read against the run's date."""
    items = []
    for url, (column_url, row) in rows.items():
        page = pages.get(url)
        fields = merge(row, page)
        replied = parse_date(fields.replied_text, as_of=as_of)
        items.append(MessageItem(
            column_url=column_url, url=url, title=_cut(fields.title, 500),
            asked=parse_date(fields.asked_text, as_of=as_of), asked_text=_cut(fields.asked_text, 80),
            replied=replied, replied_text=_cut(fields.replied_text, 80), reply_unit=_cut(fields.unit, 200),
            status=_cut(fields.status, 80), answered=has_reply(fields, replied), page_read=page is not None,
        ))
    return items
