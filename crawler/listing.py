"""Reading list pages (栏目列表), the home page's dated items, links and the main menu from HTML.

Government portals are built on a handful of CMSs (TRS WCM, Hanweb JCMS, 拓尔思/大汉/方正/自建 …) and
none share markup, so nothing here keys on one CMS's class names. A page is read as regions (navigation,
sidebar, pagination, content, decided from tags and class/id words) and groups of sibling items that each
carry one primary link and, usually, a date. Every function takes a string of HTML and the page's URL
and never raises on bad markup.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

import lxml.html
from lxml import etree
from w3lib.url import safe_url_string

from crawler.dates import find_date, normalize


@dataclass
class Entry:
    """One item of a list: a document's title, its URL and the date shown next to it."""

    title: str
    url: str
    date: dt.date | None
    date_text: str | None


@dataclass
class FoundLink:
    """One <a href> or <area href> of a page; ``in_nav`` when it sits in navigation, header, footer or sidebar."""

    url: str
    anchor: str
    in_nav: bool


@dataclass
class ListPage:
    """What a column's list page shows: its entries, its further pages, a 暂无信息 text, its sub-columns."""

    entries: list[Entry]
    next_pages: list[str]
    placeholder: str | None
    subcolumns: list[tuple[str, str]]
    reader: str


# Region flags of an element, inherited by its descendants.
_NAV = 1  # <nav>, <header>, <footer>, menus, breadcrumbs, top/bottom bars
_SIDE = 2  # sidebars (the sibling-column tree of a column page): navigation, but may hold a list
_PAGER = 4  # pagination bars

_NAV_SUBSTRINGS = ("nav", "menu", "daohang", "crumb", "header", "footer", "copyright")
_NAV_WORDS = "top|bottom|head|foot|dh|position|location|weizhi|dqwz|mbx|topbar|toolbar"
_SIDE_WORDS = "left|side|sidebar|aside|leftbar"
# No trailing digits: "top20" is a margin utility class, not a top bar.
_PART_SUFFIX = r"(?:[-_]?(?:box|bar|wrap|wrapper|div|area|part|tree|column|col|frame|panel|block|bg|nr|con))?"
_PART_PREFIX = r"(?:(?:main|sub|page|site|web|con|content|in|inner|the|g|m|w|lm|column|col)[-_]?)?"
_NAV_TOKEN = re.compile(rf"^{_PART_PREFIX}(?:{_NAV_WORDS}){_PART_SUFFIX}$")
_SIDE_TOKEN = re.compile(rf"^{_PART_PREFIX}(?:{_SIDE_WORDS}){_PART_SUFFIX}$")
_PAGER_TOKEN = re.compile(
    r"^(?:[a-z]+[-_])?(?:page|pages|pager|pagination|paging|pagebar|pagenum|pagelist|pagenav|fenye|fy|"
    r"turnpage|turn[-_]page|page[-_](?:box|bar|nav|list|num|div|turn|btn|wrap|con))\d*$"
)

_ITEM_TAGS = frozenset({"li", "tr", "dd", "dt", "div", "p", "table", "ul", "dl", "article", "section"})
_DROPPED_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "vbscript:", "about:", "sms:", "file:")
_DOC_EXT = re.compile(r"\.(?:pdf|docx?|xlsx?|wps|et|pptx?|zip|rar|7z|txt|ofd|jpe?g|png|gif|mp4|mp3|avi)$", re.I)
# Article URLs of the common CMSs: TRS t20240625_123.html, Hanweb art_12_345.html, content_123.html …
_ARTICLE_PATH = re.compile(
    r"(?:/t\d{8}_\d+|/art_\d+_\d+|/content_\d+|/art/\d{4}/|/info/\d+/\d+|/\d{5,}\.s?html?$|/detail)", re.I
)
_INDEX_NAMES = re.compile(r"/(?:index|default|main)\.(?:s?html?|jsp|php|aspx?)$", re.I)
_PAGE_PATH = re.compile(r"(?:^|[/_-])(?:index|list|page|default|more|lists)[_-]?\d+\.\w+$|/page[_/-]?\d+/?$", re.I)
# Not "p" or "start": too often a document id or an offset of something else.
_PAGE_PARAMS = frozenset({"page", "pageno", "pagenum", "pageindex", "currpage", "curpage", "pn", "page_no",
                          "pagenumber", "currentpage", "startrecord"})
# "首页" is left out: in a pager it is page 1, elsewhere the home page.
_NEXT_WORDS = frozenset({"下一页", "下页", "后页", "后一页", "尾页", "末页", "最后一页", "最末页", "上一页", "上页",
                         "前页", "前一页", "next", "last", "prev", "previous"})
_ARROWS = frozenset({">", ">>", "›", "»", "<", "<<", "‹", "«", "→", "←"})
_HOME_ANCHORS = frozenset({"首页", "网站首页", "返回首页", "主页", "回到首页", "home"})
_PLACEHOLDER = re.compile(
    r"暂无(?:相关|任何|更多)?(?:公开)?(?:信息|数据|内容|记录|文章|文件|资料|新闻|公告)?"
    r"|没有(?:找到)?(?:相关|任何|符合条件的)?(?:信息|数据|内容|记录|文章|文件)"
    r"|(?:信息|内容|数据|栏目|页面)?正在(?:更新|建设|完善|维护|整理)中?"
    r"|(?:栏目|页面)建设中|敬请期待|无相关(?:信息|数据|内容|记录)"
)
_CREATE_PAGE = re.compile(r"createPageHTML\s*\(([^)]*)\)")
_JS_VAR = r"(?:var|let|const)?\s*{name}\s*=\s*['\"]?(\d+)"
_HANWEB_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_SPACE = re.compile(r"\s+")
_MAX_PAGES = 200
_SUBCOLUMN_MAX = 12
_TITLE_MIN = 10  # median anchor length (characters) for an undated group to count as document titles

_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)


def _collapse(text: str | None) -> str:
    """Whitespace (also ideographic and no-break spaces) collapsed; full-width characters kept as written."""
    return _SPACE.sub(" ", (text or "").replace("\u200b", "")).strip()


def _tokens(el: etree._Element) -> list[str]:
    return f"{el.get('class') or ''} {el.get('id') or ''}".lower().split()


def _own_flags(el: etree._Element) -> int:
    tag = el.tag
    if tag in ("nav", "header", "footer"):
        return _NAV
    flags = _SIDE if tag == "aside" else 0
    for token in _tokens(el):
        # Pager first: "pagenav" is a pager, not a menu.
        if _PAGER_TOKEN.match(token):
            flags |= _PAGER
        elif any(s in token for s in _NAV_SUBSTRINGS) or _NAV_TOKEN.match(token):
            flags |= _NAV
        elif "sidebar" in token or _SIDE_TOKEN.match(token):
            flags |= _SIDE
    return flags


def _clean_url(url: str) -> str:
    return urldefrag(safe_url_string(url.strip()))[0]


def _same_page(a: str, b: str) -> bool:
    """``/tzgg/`` and ``/tzgg/index.html`` are one page."""
    def norm(u: str) -> str:
        parts = urlsplit(u)
        path = _INDEX_NAMES.sub("/", parts.path) or "/"
        return f"{parts.netloc.lower()}{path}?{parts.query}"
    return norm(a) == norm(b)


def _directory(path: str) -> str:
    return path[: path.rfind("/") + 1] or "/"


@dataclass
class _Item:
    element: etree._Element
    title: str
    url: str
    date: dt.date | None
    date_text: str | None


class _Page:
    """A parsed page: its tree (scripts removed, Hanweb data stores inlined), region flags and links."""

    def __init__(self, html: str, url: str, as_of: dt.date | None = None) -> None:
        self.url = _clean_url(url)
        self.as_of = as_of
        self.scripts: list[str] = []
        self.root = self._parse(html)
        self.base = self.url
        self.flags: dict[etree._Element, int] = {}
        self.href: dict[etree._Element, str] = {}
        self.datastore = False
        self.date_columns: dict[etree._Element, int | None] = {}
        if self.root is None:
            return
        base = self.root.find(".//base[@href]")
        if base is not None and base.get("href", "").strip():
            self.base = urljoin(self.url, base.get("href").strip())
        self._inline_scripts()
        self._mark_regions()
        for a in self.root.iter("a", "area"):
            resolved = self.resolve(a.get("href"))
            if resolved:
                self.href[a] = resolved

    @staticmethod
    def _parse(html: str) -> etree._Element | None:
        if not html or not html.strip():
            return None
        try:
            return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=_PARSER)
        except (etree.ParserError, ValueError):
            return None

    def _inline_scripts(self) -> None:
        """Keep script texts for pagination; put Hanweb's ``<datastore>`` records in the tree as HTML."""
        for script in list(self.root.iter("script")):
            text = script.text or ""
            self.scripts.append(text)
            records = _HANWEB_RECORD.findall(text) if "<record" in text else []
            if records:
                try:
                    box = lxml.html.fragment_fromstring("".join(records), create_parent="div", parser=_PARSER)
                except (etree.ParserError, ValueError):
                    continue
                box.set("data-govaudit", "datastore")
                box.tail = script.tail
                script.getparent().replace(script, box)
                self.datastore = True
        etree.strip_elements(self.root, "script", "style", "noscript", "template", with_tail=False)

    def _mark_regions(self) -> None:
        page_text = _plain_length(self.root)
        stack: list[tuple[etree._Element, int]] = [(self.root, 0)]
        while stack:
            el, inherited = stack.pop()
            if not isinstance(el.tag, str):
                continue
            own = _own_flags(el) if el.tag not in ("html", "body") else 0
            # A "top"/"left" class on a wrapper holding most of the page's text (outside links) is layout,
            # not navigation; a menu, however large, is nearly all link text.
            if own and page_text >= 100 and _plain_length(el) > 0.75 * page_text:
                own = 0
            flags = inherited | own
            self.flags[el] = flags
            stack.extend((child, flags) for child in el)

    def resolve(self, href: str | None) -> str | None:
        if not href:
            return None
        href = re.sub(r"[\r\n\t]", "", href).strip()
        if not href or href.startswith("#") or href.lower().startswith(_DROPPED_SCHEMES):
            return None
        try:
            url = _clean_url(urljoin(self.base, href))
        except ValueError:
            return None
        return url if urlsplit(url).scheme in ("http", "https") else None

    def internal(self, url: str) -> bool:
        return urlsplit(url).netloc.lower() == urlsplit(self.url).netloc.lower()

    def is_home(self, url: str) -> bool:
        return self.internal(url) and (urlsplit(url).path in ("", "/") or bool(_INDEX_NAMES.fullmatch(
            urlsplit(url).path)))

    def body(self) -> etree._Element | None:
        if self.root is None:
            return None
        found = self.root.find("body")
        return found if found is not None else self.root

    # -- items -------------------------------------------------------------------------------------------

    def anchor(self, a: etree._Element) -> str:
        text = _collapse(a.text_content())
        if not text:
            img = a.find(".//img")
            text = _collapse((img.get("alt") or img.get("title")) if img is not None else "") or _collapse(
                a.get("title"))
        return text

    def title(self, a: etree._Element) -> str:
        """The anchor text, or the title attribute where the text is cut short (“关于印发…”)."""
        text = self.anchor(a)
        attr = _collapse(a.get("title"))
        if attr and len(attr) > len(text.rstrip(".…")) and not attr.startswith("http"):
            return attr
        return text

    def read_item(self, el: etree._Element) -> _Item | None:
        """An item carrying one primary link (the one with the longest text) and maybe a date."""
        # Links in a breadcrumb or pager inside the item are not the item's own.
        own = self.flags.get(el, 0)
        links = [a for a in el.iter("a", "area") if a in self.href and not self.flags.get(a, 0) & ~own]
        urls = {self.href[a] for a in links}
        if not links or len(urls) > 3:
            return None
        primary = max(links, key=lambda a: len(self.anchor(a)))
        title = self.title(primary)
        if len(title) < 2 or _pager_word(title):
            return None
        found = None
        date_column = self.date_column(el) if el.tag == "tr" else None
        if date_column is not None:
            cells = [c for c in el if c.tag in ("td", "th")]
            if date_column < len(cells):
                found = find_date(cells[date_column].text_content(), as_of=self.as_of)
        if found is None:
            found = find_date(_text_outside(el, primary), as_of=self.as_of)
        if found is None:
            # <a><span class="date">2024-06-25</span>标题</a>: a date label of its own inside the link, before
            # or after the title; the title is the link's other text.
            label = _date_label(primary, self.as_of)
            if label is not None:
                found = label[1]
                text = _collapse(_text_outside(primary, label[0]))
                attr = _collapse(primary.get("title"))
                title = attr if attr and len(attr) > len(text.rstrip(".…")) else text or title
        if found is None:
            # "标题 (2024-06-25)" with the date inside the link itself: only a trailing full date counts.
            in_title = find_date(title, as_of=self.as_of, year_less=False)
            if in_title and title.rstrip(" )）]】").endswith(in_title[1]):
                found = in_title
                title = title[: title.rfind(in_title[1])].rstrip(" -–—(（[【") or title
        return _Item(el, title, self.href[primary], found[0] if found else None, found[1] if found else None)

    def date_column(self, tr: etree._Element) -> int | None:
        table = next(tr.iterancestors("table"), None)
        if table is None:
            return None
        if table not in self.date_columns:
            self.date_columns[table] = _table_date_column(table)
        return self.date_columns[table]


_DATE_LABEL_MAX = 25  # characters of a date label: "[2024-06-25]", "2024-06-25 10:30:00", "发布时间：06-25"
_LABEL_WORDS = re.compile(r"发布|时间|日期|[年月日\s\[\]【】()（）:：/.\-]")


def _date_label(link: etree._Element, as_of: dt.date | None) -> tuple[etree._Element, tuple[dt.date, str]] | None:
    """An element inside a link whose whole text is a date (and maybe a time or a 发布时间 label)."""
    for child in link.iter(etree.Element):
        if child is link or child.tag in ("br", "img"):
            continue
        text = normalize(_collapse(child.text_content()))
        if not text or len(text) > _DATE_LABEL_MAX:
            continue
        found = find_date(text, as_of=as_of)
        if found is None:
            continue
        rest = _LABEL_WORDS.sub("", text.replace(normalize(found[1]), "", 1))
        if not rest or rest.isdigit():  # nothing else, or the digits of a time (10:30:00)
            return child, found
    return None


def _plain_length(el: etree._Element) -> int:
    """Characters of text outside links, whitespace left out."""
    def size(node: etree._Element) -> int:
        return len(_SPACE.sub("", node.text_content()))
    return size(el) - sum(size(a) for a in el.iter("a"))


def _text_outside(el: etree._Element, skip: etree._Element) -> str:
    """The text of ``el`` without the text of the link ``skip`` (whose tail is kept)."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node is not skip:
            parts.append(node.text or "")
            for child in node:
                if isinstance(child.tag, str):
                    walk(child)
                parts.append(child.tail or "")

    walk(el)
    return " ".join(p for p in parts if p.strip())


def _table_date_column(table: etree._Element) -> int | None:
    """Which cell of the table's rows holds the 发布日期, from its header row (cells without links)."""
    for row in table.iter("tr"):
        cells = [c for c in row if c.tag in ("td", "th")]
        if len(cells) < 2 or row.find(".//a") is not None:
            continue
        labels = [_collapse(c.text_content()) for c in cells]
        for wanted in ("发布", "公开", "日期", "时间"):
            for index, label in enumerate(labels):
                if wanted in label and ("日期" in label or "时间" in label) and "成文" not in label:
                    return index
        return None
    return None


@dataclass
class _Group:
    items: list[_Item]
    flags: int
    tag: str
    datastore: bool

    @property
    def dated(self) -> int:
        return sum(1 for item in self.items if item.date is not None)


def _groups(page: _Page) -> list[_Group]:
    """Groups of sibling items sharing tag and class; sibling containers of the same kind are merged."""
    buckets: dict[tuple, list[etree._Element]] = {}
    for parent in page.root.iter(etree.Element):
        grand = parent.getparent()
        for child in parent:
            if isinstance(child.tag, str) and child.tag in _ITEM_TAGS:
                key = (grand if grand is not None else parent, parent.tag, parent.get("class", "").strip(),
                       child.tag, child.get("class", "").strip())
                buckets.setdefault(key, []).append(child)
    groups = []
    for (_, _, _, tag, _), elements in buckets.items():
        items = [item for el in elements if (item := page.read_item(el)) is not None]
        if items and len(items) >= 0.4 * len(elements):
            flags = 0
            for item in items:
                flags |= page.flags.get(item.element, 0)
            in_store = any(a.get("data-govaudit") == "datastore" for a in items[0].element.iterancestors("div"))
            groups.append(_Group(items, flags, tag, in_store))
    return groups


def _looks_like_titles(page: _Page, group: _Group) -> bool:
    lengths = sorted(len(item.title) for item in group.items)
    median = lengths[len(lengths) // 2]
    articles = sum(1 for item in group.items if _ARTICLE_PATH.search(urlsplit(item.url).path)
                   or _DOC_EXT.search(urlsplit(item.url).path))
    return median >= _TITLE_MIN or (median >= 6 and articles >= 0.6 * len(group.items))


def _main_group(page: _Page) -> _Group | None:
    groups = _groups(page)

    def dated(allowed: int, minimum: int) -> _Group | None:
        candidates = [g for g in groups if not g.flags & ~allowed and g.dated >= minimum
                      and g.dated >= 0.5 * len(g.items)]
        return max(candidates, key=lambda g: (g.dated, len(g.items)), default=None)

    found = dated(0, 1)
    if found is None:
        undated = [g for g in groups if not g.flags and len(g.items) >= 2 and _looks_like_titles(page, g)]
        found = max(undated, key=lambda g: len(g.items), default=None)
    # A list inside a "left" block is more often the content than a sidebar's dated box is.
    return found or dated(_SIDE, 2)


def _dedupe(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    kept = []
    for entry in entries:
        if entry.url not in seen:
            seen.add(entry.url)
            kept.append(entry)
    return kept


# -- pagination ---------------------------------------------------------------------------------------------


def _in_family(page: _Page, url: str) -> bool:
    """Another page of this same list: same host, same folder (or below this page's own path)."""
    if not page.internal(url) or _same_page(url, page.url):
        return False
    here, there = urlsplit(page.url).path or "/", urlsplit(url).path or "/"
    return _directory(there) == _directory(here) or there.startswith(here.rstrip("/") + "/")


def _looks_paged(url: str) -> bool:
    parts = urlsplit(url)
    if _PAGE_PATH.search(parts.path):
        return True
    return any(key.lower() in _PAGE_PARAMS and value.isdigit() for key, value in parse_qsl(parts.query))


def _pager_word(text: str) -> bool:
    bare = re.sub(r"[\s<>›»«‹→←\[\]【】()]", "", normalize(text)).lower()
    # Four digits are more often a year filter (2023, 2024) than a page number.
    return bare in _NEXT_WORDS or (bare.isdigit() and len(bare) <= 3) or (
        not bare and normalize(text).strip() in _ARROWS)


def _next_pages(page: _Page) -> list[str]:
    found: list[str] = []
    for a, url in page.href.items():
        if not _in_family(page, url):
            continue
        flags = page.flags.get(a, 0)
        # A menu link next to the list's folder ("首页", a sibling column) must at least look like a page.
        if _looks_paged(url) or (_pager_word(page.anchor(a)) and (flags & _PAGER or not flags & _NAV)):
            found.append(url)
    found.extend(_trs_pages(page))
    found.extend(_hanweb_pages(page))
    unique: list[str] = []
    for url in found:
        if url not in unique and not _same_page(url, page.url):
            unique.append(url)
    return unique


def _js_number(arg: str, script: str) -> int | None:
    arg = arg.strip().strip("'\"")
    if arg.isdigit():
        return int(arg)
    match = re.search(_JS_VAR.format(name=re.escape(arg)), script) if re.fullmatch(r"\w+", arg) else None
    return int(match[1]) if match else None


def _trs_pages(page: _Page) -> list[str]:
    """TRS WCM writes its pager with ``createPageHTML(count, current, "index", "html")``."""
    pages: list[str] = []
    for script in page.scripts:
        for call in _CREATE_PAGE.finditer(script):
            args = [a.strip() for a in call[1].split(",")]
            quoted = [bool(re.fullmatch(r"(['\"]).*\1", a)) for a in args]
            for i in range(2, len(args) - 1):
                ext = args[i + 1].strip("'\"")
                if quoted[i] and quoted[i + 1] and re.fullmatch(r"s?html?|jsp|php|xhtml", ext):
                    count = _js_number(args[i - 2], script)
                    name = args[i].strip("'\"")
                    for k in range(min(count or 0, _MAX_PAGES)):
                        pages.append(_clean_url(urljoin(page.url, f"{name}_{k}.{ext}" if k else f"{name}.{ext}")))
                    break
    return pages


def _hanweb_pages(page: _Page) -> list[str]:
    """Hanweb JCMS's jpage pager: ``?uid=<unit>&pageNum=N`` for the pages beyond the first."""
    text = "\n".join(page.scripts)
    total = re.search(r"totalRecord\s*[:=]\s*['\"]?(\d+)|<totalrecord>\s*(\d+)", text, re.I)
    per_page = re.search(r"perPage\s*[:=]\s*['\"]?(\d+)", text)
    unit = re.search(r"\$\(\s*['\"]#(\w+)['\"]\s*\)\s*\.jpage", text)
    if not (total and per_page and unit) or int(per_page[1]) == 0:
        return []
    count = math.ceil(int(total[1] or total[2]) / int(per_page[1]))
    base = urlsplit(page.url)._replace(query="").geturl()
    return [f"{base}?uid={unit[1]}&pageNum={k}" for k in range(2, min(count, _MAX_PAGES) + 1)]


# -- public API -------------------------------------------------------------------------------------------


def read_list(html: str, url: str, *, as_of: dt.date | None = None) -> ListPage:
    """The main list of a column page, its further pages, its placeholder text and its sub-columns."""
    page = _Page(html, url, as_of)
    if page.root is None:
        return ListPage([], [], None, [], "none")
    group = _main_group(page)
    entries = _dedupe([Entry(i.title, i.url, i.date, i.date_text) for i in group.items]) if group else []
    if group is None:
        reader = "none"
    elif group.datastore:
        reader = "hanweb-datastore"
    else:
        reader = "html-table" if group.tag == "tr" else "html-list"
    placeholder = None if entries else _placeholder(page)
    subcolumns = [] if entries else _subcolumns(page)
    return ListPage(entries, _next_pages(page), placeholder, subcolumns, reader)


def _content_elements(page: _Page) -> list[etree._Element]:
    body = page.body()
    return [el for el in body.iter(etree.Element) if not page.flags.get(el, 0) & (_NAV | _SIDE)]


def _placeholder(page: _Page) -> str | None:
    for el in _content_elements(page):
        for text in (el.text, *(child.tail for child in el)):
            match = _PLACEHOLDER.search(normalize(text or ""))
            if match:
                return match[0]
    return None


def _subcolumns(page: _Page) -> list[tuple[str, str]]:
    """Short content-area links to other internal pages: the children of a pure navigation node.

    A link to an article (t20230110_1001.html, art_12_345.html …) is a document, not a sub-column, as in
    navigation_columns: a 目录 tree often leads straight to its 政府信息公开指南 article.
    """
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for el in _content_elements(page):
        url = page.href.get(el)
        if url is None or page.flags.get(el, 0) & _PAGER or url in seen:
            continue
        name = page.anchor(el)
        if (not name or len(name) > _SUBCOLUMN_MAX or name.lower() in _HOME_ANCHORS or _pager_word(name)
                or not page.internal(url) or _same_page(url, page.url) or page.is_home(url)
                or _DOC_EXT.search(urlsplit(url).path) or _ARTICLE_PATH.search(urlsplit(url).path)):
            continue
        seen.add(url)
        found.append((name, url))
    return found


def dated_items(html: str, url: str, *, as_of: dt.date | None = None) -> list[Entry]:
    """Every link outside header/footer/navigation shown with a date, in page order, one per URL."""
    page = _Page(html, url, as_of)
    entries: list[Entry] = []
    for a, target in page.href.items():
        if page.flags.get(a, 0) & _NAV:
            continue
        title = page.title(a)
        if len(title) < 4 or _pager_word(title) or normalize(title).lower().startswith(("更多", "more")):
            continue
        found = _date_beside(page, a)
        if found is not None:
            entries.append(Entry(title, target, found[0], found[1]))
    return _dedupe(entries)


def _date_beside(page: _Page, a: etree._Element) -> tuple[dt.date, str] | None:
    """The date written right after the link, or in the smallest enclosing item that holds only it."""
    following = a.getnext()
    beside = a.tail or ""
    if following is not None and following.tag != "a" and following.find(".//a") is None:
        text = following.text_content()
        # A short label ("<span>06-25</span>"), not a summary paragraph that mentions a date.
        if len(text.strip()) <= 40:
            beside += " " + text
    found = find_date(beside, as_of=page.as_of)
    if found:
        return found
    node = a
    for _ in range(4):
        node = node.getparent()
        if node is None or node.tag in ("body", "html"):
            return None
        item = page.read_item(node)
        if item is None or item.url != page.href[a]:
            return None
        if item.date is not None:
            return item.date, item.date_text
    return None


def extract_links(html: str, url: str) -> list[FoundLink]:
    """Every http(s) <a href> and <area href>, resolved against <base href>, in page order."""
    page = _Page(html, url)
    return [FoundLink(target, page.anchor(a), bool(page.flags.get(a, 0) & (_NAV | _SIDE)))
            for a, target in page.href.items()]


def navigation_columns(html: str, url: str) -> list[tuple[str, str]]:
    """The home page's main menu as (name, url), in order.

    The first menu block with five or more internal links, else the largest one with two or more: a top
    bar (无障碍, English, 登录) comes before the main menu on many portals and has fewer links.
    """
    page = _Page(html, url)
    body = page.body()
    if body is None:
        return []
    best: list[tuple[str, str]] = []
    for block in body.iter(etree.Element):
        if not _is_menu(block) or any(_is_menu(up) for up in block.iterancestors()):
            continue
        columns: list[tuple[str, str]] = []
        for a in block.iter("a", "area"):
            target = page.href.get(a)
            name = page.anchor(a)
            if (target is None or not name or name.lower() in _HOME_ANCHORS or not page.internal(target)
                    or page.is_home(target) or _same_page(target, page.url)
                    or _DOC_EXT.search(urlsplit(target).path) or _ARTICLE_PATH.search(urlsplit(target).path)
                    or any(target == seen for _, seen in columns)):
                continue
            columns.append((name, target))
        if len(columns) >= 5:
            return columns
        if len(columns) >= 2 and len(columns) > len(best):
            best = columns
    return best


def _is_menu(el: etree._Element) -> bool:
    """A menu block: <nav> or a nav/menu/daohang class, not a breadcrumb, footer or tool bar."""
    if el.tag == "nav":
        return True
    tokens = _tokens(el)
    if any(w in t for t in tokens for w in ("crumb", "foot", "bottom", "quick", "tool")):
        return False
    return any("nav" in t or "menu" in t or "daohang" in t or t == "dh" for t in tokens)
