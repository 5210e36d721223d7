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
from dataclasses import dataclass, field
from functools import lru_cache
from html import unescape
from urllib.parse import parse_qsl, quote, urldefrag, urljoin, urlsplit

import lxml.html
from lxml import etree
from w3lib.url import safe_url_string

from crawler.content import hidden_links, parse_html
from crawler.dates import find_date, normalize
from crawler.encoding import decode_body


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
    hidden: str | None = None  # why CSS hides it from a reader (crawler.content), if it does


@dataclass
class DataRequest:
    """A request a list page's scripts make for more of its entries; its answer goes to ``read_data``.

    Hanweb JCMS (大汉) jpage lists POST to ``dataproxy.jsp?startrecord=46&endrecord=90&perpage=15`` with the
    column's parameters as a form body, and get an XML ``<datastore>`` of records back.
    """

    url: str  # absolute
    method: str = "GET"  # "POST" for dataproxy.jsp
    body: str | None = None  # application/x-www-form-urlencoded body of a POST
    reader: str = ""  # which reader of read_data reads the answer, e.g. "hanweb-dataproxy"


@dataclass
class ListPage:
    """What a column's list page shows: its entries, its further pages, a 暂无信息 text, its sub-columns.

    ``data``: requests for entries its scripts load (beyond those in the HTML); ``text_length``: characters
    of the page's own text outside links, navigation, sidebars, pager and footer lines, so that a column
    that is one article (机构职能, 政府信息公开指南) tells itself from a blank one.
    """

    entries: list[Entry]
    next_pages: list[str]
    placeholder: str | None
    subcolumns: list[tuple[str, str]]
    reader: str
    text_length: int = 0
    data: list[DataRequest] = field(default_factory=list)


# Region flags of an element, inherited by its descendants.
_NAV = 1  # <nav>, <header>, <footer>, menus, breadcrumbs, top/bottom bars
_SIDE = 2  # sidebars (the sibling-column tree of a column page): navigation, but may hold a list
_PAGER = 4  # pagination bars

_NAV_SUBSTRINGS = ("nav", "menu", "daohang", "crumb", "header", "footer", "copyright")
_NAV_WORDS = "top|bottom|head|foot|dh|position|location|weizhi|dqwz|mbx|topbar|toolbar"
# No trailing digits: "top20" is a margin utility class, not a top bar.
_PART_SUFFIX = r"(?:[-_]?(?:box|bar|wrap|wrapper|div|area|part|tree|column|col|frame|panel|block|bg|nr|con))?"
_PART_PREFIX = r"(?:(?:main|sub|page|site|web|con|content|in|inner|the|g|m|w|lm|column|col)[-_]?)?"
_NAV_TOKEN = re.compile(rf"^{_PART_PREFIX}(?:{_NAV_WORDS}){_PART_SUFFIX}$")
# One part of a class token ("xxgk_left" → "xxgk", "left") holding a side word, maybe glued to a module
# prefix or suffix: nyleft, leftmenu, sidenav. Digits make it a utility ("left10" is a margin).
_SIDE_PART = re.compile(r"^(?P<pre>[a-z]{0,8}?)(?P<word>left|sidebar|sidenav|sidemenu|side|aside)(?P<post>[a-z]{0,10})$")
_RIGHT_PART = re.compile(r"^[a-z]{0,8}?right(?P<post>[a-z]{0,10})$")
# Parts that make "left" a utility class (pull-left, text-left, float-left, margin-left, fa-angle-left,
# t-left on a table cell = text-align) or an icon, never a page region.
_UTILITY_PARTS = frozenset({
    "pull", "push", "text", "txt", "float", "fl", "fr", "margin", "padding", "border", "align", "clear",
    "offset", "position", "pos", "is", "has", "to", "go", "turn", "arrow", "arrows", "chevron", "caret",
    "angle", "triangle", "icon", "ico", "icons", "fa", "glyphicon", "iconfont", "btn", "button", "slide",
    "fade", "scroll", "swiper", "carousel", "bg", "jt", "img", "pic", "flex", "items", "justify", "rounded",
    "radius", "ml", "mr", "pl", "pr", "mt", "mb", "pt", "pb", "auto", "full", "half", "top", "bottom",
})
_RIGHT_COMPANIONS = ("nav", "menu", "tree", "side", "sidebar", "lm", "dh", "daohang")


def _is_side_token(token: str) -> bool:
    """A sidebar class or id, with any module prefix: xxgk_left, ny-left, left_nav, leftmenu, col-left, sidebar.

    "right" alone is left out: on 政务公开 pages the right-hand block (ny_right, xxgk_right) is mostly the
    content beside a left column tree; only a right-hand menu (right_nav, rightmenu) is a sidebar.
    """
    parts = [part for part in re.split(r"[-_]+", token) if part]
    for index, part in enumerate(parts):
        side = _SIDE_PART.match(part)
        right = _RIGHT_PART.match(part) if side is None else None
        if side is None and right is None:
            continue
        before = parts[index - 1] if index else ""
        after = parts[index + 1] if index + 1 < len(parts) else ""
        glued = side["pre"] if side else ""
        post = side["post"] if side else right["post"]
        if (before in _UTILITY_PARTS or (len(before) == 1 and before not in "gw") or after.isdigit()
                or after in _UTILITY_PARTS or post in _UTILITY_PARTS
                or glued in _UTILITY_PARTS or len(glued) == 1):
            return False
        if side is not None:
            if glued and side["word"] != "left":
                continue  # a glued prefix only before "left": "inside", "beside" are words, not regions
            return True
        others = "".join(parts[:index] + parts[index + 1:]) + post
        return any(word in others for word in _RIGHT_COMPANIONS)
    return False


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
_HANWEB_RECORD_START = re.compile(r"<record\b[^>]*>", re.I)
_HANWEB_RECORD_END = re.compile(r"</record\s*>|</recordset\s*>|</datastore\s*>", re.I)
_HANWEB_NEXTGROUP = re.compile(r"<nextgroup\b[^>]*>(.*?)</nextgroup\s*>", re.S | re.I)
_HANWEB_HREF = re.compile(r"href\s*=\s*(['\"])(.*?)\1", re.S | re.I)
_HANWEB_READER = "hanweb-dataproxy"
_HANWEB_GROUP_SIZE = 3  # jpage's default: one data request brings three pages of records
# Parameters of the dataproxy query, not of the column: they never go into the form body.
_HANWEB_QUERY = frozenset({"page", "startrecord", "endrecord", "perpage"})
_MAX_DATA_REQUESTS = 2000  # a sanity bound against a garbled totalRecord, far above any crawl limit
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
    return _flags_of(el.tag, el.get("class"), el.get("id"))


@lru_cache(maxsize=16384)
def _flags_of(tag: str, classes: str | None, id_: str | None) -> int:
    """An element's own region flags, from its tag, class and id alone (templates repeat them on every
    page: worked out once)."""
    if tag in ("nav", "header", "footer"):
        return _NAV
    flags = _SIDE if tag == "aside" else 0
    for token in f"{classes or ''} {id_ or ''}".lower().split():
        # Pager first: "pagenav" is a pager, not a menu.
        if _PAGER_TOKEN.match(token):
            flags |= _PAGER
        elif any(s in token for s in ("header", "footer", "copyright", "crumb")):
            flags |= _NAV  # "header-left" is the left half of the page header, not a sidebar
        elif "sidebar" in token or _is_side_token(token):
            flags |= _SIDE
        elif any(s in token for s in _NAV_SUBSTRINGS) or _NAV_TOKEN.match(token):
            flags |= _NAV
    return flags


def _clean_url(url: str) -> str:
    return urldefrag(safe_url_string(url.strip()))[0]


@lru_cache(maxsize=65536)
def _resolve(base: str, href: str) -> str | None:
    """An href as an absolute http(s) URL against a base, or None (a fragment, mailto:, javascript: …)."""
    href = re.sub(r"[\r\n\t]", "", href).strip()
    if not href or href.startswith("#") or href.lower().startswith(_DROPPED_SCHEMES):
        return None
    try:
        url = _clean_url(urljoin(base, href))
    except ValueError:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


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

    def __init__(self, html: str, url: str, as_of: dt.date | None = None, css: bool = False) -> None:
        self.url = _clean_url(url)
        self.as_of = as_of
        self.scripts: list[str] = []
        self.root = parse_html(html)
        self.base = self.url
        self.flags: dict[etree._Element, int] = {}
        self.href: dict[etree._Element, str] = {}
        self.datastore = False
        self.records = 0  # Hanweb datastore records in the page
        self.nextgroup: str | None = None  # the datastore's dataproxy.jsp URL, as written
        self.date_columns: dict[etree._Element, int | None] = {}
        self.hidden: dict[etree._Element, str] = {}
        self.css = css
        if self.root is None:
            return
        if css:  # read before the page's scripts and styles are removed
            self.hidden = hidden_links(self.root)
        base = self.root.find(".//base[@href]")
        if base is not None and base.get("href", "").strip():
            self.base = urljoin(self.url, base.get("href").strip())
        self._inline_scripts()
        self._mark_regions()
        for a in self.root.iter("a", "area"):
            resolved = self.resolve(a.get("href"))
            if resolved:
                self.href[a] = resolved

    def _inline_scripts(self) -> None:
        """Keep script texts for pagination; put Hanweb's ``<datastore>`` records in the tree as HTML."""
        for script in list(self.root.iter("script")):
            text = script.text or ""
            self.scripts.append(text)
            if self.nextgroup is None and "<nextgroup" in text.lower():
                self.nextgroup = _hanweb_nextgroup(text)
            records = _hanweb_records(text)
            self.records += len(records)
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
            # (Text outside links is at most all the text: the links' walk only when that is large enough.)
            if own and page_text >= 100 and _text_size(el) > 0.75 * page_text \
                    and _plain_length(el) > 0.75 * page_text:
                own = 0
            flags = inherited | own
            self.flags[el] = flags
            stack.extend((child, flags) for child in el)

    def resolve(self, href: str | None) -> str | None:
        if not href:
            return None
        # The menus and footers of every page repeat the same absolute and root-relative links, whose
        # resolution depends on the base's origin only: resolved once (a tenth of the crawl's reading time).
        if href.startswith(("http://", "https://")):
            return _resolve("", href)
        if href.startswith("/") and not href.startswith("//"):
            parts = urlsplit(self.base)
            return _resolve(f"{parts.scheme}://{parts.netloc}/", href)
        return _resolve(self.base, href)

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
            outside = _text_outside(el, primary)
            # A full date first, then a day card (<b>12</b><span>2026-06</span>), whose "06-12" half
            # alone would read as a year-less date, then a year-less date.
            found = find_date(outside, as_of=self.as_of, year_less=False)
            if found is None:
                card = _card_date(_pieces(el, primary), self.as_of)
                found = card[1] if card else find_date(outside, as_of=self.as_of)
        if found is None:
            # <a><span class="date">2024-06-25</span>标题</a>: a date label of its own inside the link, before
            # or after the title; the title is the link's other text.
            label = _date_label(primary, self.as_of)
            if label is not None:
                found = label[1]
                text = _collapse(_text_outside(primary, *label[0]))
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


def _date_label(link: etree._Element,
                as_of: dt.date | None) -> tuple[list[etree._Element], tuple[dt.date, str]] | None:
    """Elements inside a link whose whole text is a date (and maybe a time or a 发布时间 label), or a day card."""
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
            return [child], found
    pieces = _pieces(link)
    card = _card_date(pieces, as_of)
    if card is None:
        return None
    # Only the card's own elements leave the title; a card written as bare text stays in it.
    owners = [piece.owner for piece in card[0] if piece.owner is not None and piece.owner is not link]
    return (owners, card[1]) if owners else None


# -- day cards: <div class="date"><b>12</b><span>2026-06</span></div> ----------------------------------------

_CARD_TEXT_MAX = 16  # a text node this short is split at spaces: "12 2026-06" is two parts
_CARD_YM = re.compile(r"((?:19|20)\d{2})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?")
_CARD_MD = re.compile(r"(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?")
_CARD_Y = re.compile(r"((?:19|20)\d{2})\s*年?")
_CARD_M = re.compile(r"(\d{1,2})\s*月|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?", re.I)
_CARD_D = re.compile(r"(\d{1,2})\s*日?")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Counters and row numbers beside a date are numbers too: 浏览 12, hits 12, 序号 3.
_COUNTER_PART = re.compile(
    r"(?:view|click|hit|read|liulan|browse|visit|comment|like|zan|count|counter|llcs|llcount|djl|djs|fwl|pv"
    r"|num|no|index|rank|order|sort|xh)(?:s|num|count|times|cs)?"
)


def _is_counter(el: etree._Element) -> bool:
    return any(_COUNTER_PART.fullmatch(part) for token in _tokens(el) for part in re.split(r"[-_]+", token))


@dataclass
class _Piece:
    """A short run of text in an item, with the element whose own text it is (None for a tail)."""

    text: str
    owner: etree._Element | None


def _pieces(el: etree._Element, skip: etree._Element | None = None) -> list[_Piece | None]:
    """The item's text in document order; None where a link, a counter or the edge of a block holding a link
    (another item, when ``el`` holds several) interrupts it, so that no card spans them."""
    found: list[_Piece | None] = []
    holders = {node for a in el.iter("a") for node in a.iterancestors() if node is not el}

    def add(text: str | None, owner: etree._Element | None) -> None:
        text = _collapse(text)
        if text:
            words = text.split(" ") if len(text) <= _CARD_TEXT_MAX else [text]
            found.extend(_Piece(word, owner) for word in words)

    walker = etree.iterwalk(el, events=("start", "end"))
    for event, node in walker:
        if not isinstance(node.tag, str):
            continue
        if node is el:
            if event == "start":
                add(node.text, node)
        elif event == "start":
            if node is skip or node.tag == "a" or _is_counter(node):
                found.append(None)
                walker.skip_subtree()
                continue
            if node in holders:
                found.append(None)
            add(node.text, node)
        else:
            if node in holders:
                found.append(None)
            add(node.tail, None)
    return found


def _card_fields(parts: list[str]) -> str | None:
    """Day-card parts joined as "Y-M-D" (or "M-D" without a year), None unless they make exactly one date."""
    year = month = day = None
    bare: list[str] = []
    for part in parts:
        text = normalize(part)
        if match := _CARD_YM.fullmatch(text):
            if year or month:
                return None
            year, month = match[1], match[2]
        elif match := _CARD_MD.fullmatch(text):
            if month or day:
                return None
            month, day = match[1], match[2]
        elif match := _CARD_Y.fullmatch(text):
            if year:
                return None
            year = match[1]
        elif match := _CARD_M.fullmatch(text):
            if month:
                return None
            month = match[1] or str(_MONTHS.index(match[2].lower()) + 1)
        elif match := _CARD_D.fullmatch(text):
            bare.append(match[1])
        else:
            return None
    if month is None and year and len(bare) == 2:  # <span>2026</span><span>06</span><span>12</span>
        month, day = bare
    elif day is None and len(bare) == 1:
        day = bare[0]
    elif bare:
        return None
    if not (month and day):
        return None
    return f"{year}-{month}-{day}" if year else f"{month}-{day}"


def _card_date(pieces: list[_Piece | None],
               as_of: dt.date | None) -> tuple[list[_Piece], tuple[dt.date, str]] | None:
    """A date written as two or three adjacent parts, each an element's whole text: a day and a year-month,
    a month-day and a year, or year, month and day apart. Parts must follow each other with nothing but
    markup between them, so a number elsewhere in the item is never taken for a day."""
    for start in range(len(pieces)):
        for size in (3, 2):
            run = pieces[start:start + size]
            if len(run) < size or any(piece is None for piece in run):
                continue
            joined = _card_fields([piece.text for piece in run])
            found = find_date(joined, as_of=as_of) if joined else None
            if found is not None:
                return run, (found[0], " ".join(piece.text for piece in run))
    return None


def _text_size(node: etree._Element) -> int:
    """Characters of an element's text, whitespace left out."""
    return len(_SPACE.sub("", node.text_content()))


def _plain_length(el: etree._Element) -> int:
    """Characters of text outside links, whitespace left out."""
    return _text_size(el) - sum(_text_size(a) for a in el.iter("a"))


def _text_outside(el: etree._Element, *skip: etree._Element) -> str:
    """The text of ``el`` without the text of the elements ``skip`` (whose tails are kept)."""
    parts: list[str] = []
    skipped = set(skip)
    walker = etree.iterwalk(el, events=("start", "end"))
    for event, node in walker:
        if event == "start":
            if node in skipped:
                walker.skip_subtree()
            elif isinstance(node.tag, str):
                parts.append(node.text or "")
        elif node is not el:
            parts.append(node.tail or "")
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


def _hanweb_records(text: str) -> list[str]:
    """The records of a Hanweb ``<datastore>`` as HTML: CDATA or escaped, a missing end tag tolerated."""
    if "<record" not in text.lower():
        return []
    records = []
    for chunk in _HANWEB_RECORD_START.split(text)[1:]:
        end = _HANWEB_RECORD_END.search(chunk)
        body = (chunk[: end.start()] if end else chunk).strip()
        if body.startswith("<![CDATA["):
            body = body[len("<![CDATA["):]
            body = body[: body.rfind("]]>")] if "]]>" in body else body
        elif "&lt;" in body:
            body = unescape(body)
        if body.strip():
            records.append(body)
    return records


def _hanweb_nextgroup(text: str) -> str | None:
    match = _HANWEB_NEXTGROUP.search(text)
    href = _HANWEB_HREF.search(match[1]) if match else None
    return unescape(href[2]).strip() or None if href else None


def _js_setting(text: str, name: str) -> int | None:
    """A jpage setting written as ``name: 15``, ``name = '15'``, or ``name: variable`` with ``var variable = 15``."""
    match = re.search(rf"\b{name}\b['\"]?\s*[:=]\s*['\"]?(\w+)", text, re.I)
    if match is None:
        return None
    return int(match[1]) if match[1].isdigit() else _js_number(match[1], text)


def _hanweb_settings(page: _Page) -> tuple[int | None, int | None, str | None]:
    """jpage's totalRecord, perPage and its #unit id, from its call or its variables."""
    text = "\n".join(page.scripts)
    total = _js_setting(text, "totalRecord")
    if total is None:
        tag = re.search(r"<totalrecord>\s*(\d+)", text, re.I)
        total = int(tag[1]) if tag else None
    unit = re.search(r"\$\(\s*['\"]#(\w+)['\"]\s*\)\s*\.jpage", text)
    return total, _js_setting(text, "perPage"), unit[1] if unit else None


def _hanweb_pages(page: _Page) -> list[str]:
    """Hanweb JCMS's jpage pager without a data store: ``?uid=<unit>&pageNum=N`` for the pages beyond the first."""
    if page.nextgroup is not None:
        return []  # the datastore's own dataproxy requests read them: see _hanweb_data
    total, per_page, unit = _hanweb_settings(page)
    if not (total and per_page and unit):
        return []
    count = math.ceil(total / per_page)
    base = urlsplit(page.url)._replace(query="").geturl()
    return [f"{base}?uid={unit}&pageNum={k}" for k in range(2, min(count, _MAX_PAGES) + 1)]


def _hanweb_data(page: _Page) -> list[DataRequest]:
    """The dataproxy.jsp requests jpage makes for the records after the datastore's first group.

    Records are numbered from 1; the page holds the first ``page.records``; each request asks for one group
    (groupSize pages of perPage records) up to totalRecord, as jpage does when a reader pages past them.
    """
    if page.nextgroup is None:
        return []
    total, per_page, _ = _hanweb_settings(page)
    group_pages = _js_setting("\n".join(page.scripts), "groupSize") or _HANWEB_GROUP_SIZE
    if not total or not (per_page or page.records) or page.records >= total:
        return []
    # Without perPage the datastore's own records are taken for one group.
    step = per_page * group_pages if per_page else page.records
    per_page = per_page or step
    target = urlsplit(page.resolve(page.nextgroup) or "")
    if target.scheme not in ("http", "https"):
        return []
    proxy = target._replace(query="", fragment="").geturl()
    # The form body is the nextgroup URL's column parameters (appid, webid, columnid, unitid, webname …),
    # kept as written but percent-encoded where a template left them raw.
    params = [part for part in target.query.split("&")
              if part and part.split("=", 1)[0].lower() not in _HANWEB_QUERY]
    if not any(part.split("=", 1)[0].lower() == "col" for part in params):
        params.insert(0, "col=1")
    body = "&".join(quote(part, safe="=%/:+,;@!$'()*~.-_") for part in params)
    requests = []
    for start in range(page.records + 1, total + 1, step):
        if len(requests) >= _MAX_DATA_REQUESTS:
            break
        end = min(start + step - 1, total)
        requests.append(DataRequest(f"{proxy}?startrecord={start}&endrecord={end}&perpage={per_page}",
                                    "POST", body, _HANWEB_READER))
    return requests


# -- public API -------------------------------------------------------------------------------------------


def parse_listing_page(html: str, url: str, *, as_of: dt.date | None = None) -> ListingPage:
    """One reading of a page's HTML for several readers: ``extract_links``, ``read_list``,
    ``dated_items`` and ``navigation_columns`` take it in place of the HTML (with the same URL and
    ``as_of``), so that a list page or the home page is parsed and laid out into regions once. None of
    them changes it."""
    return _Page(html, url, as_of, css=True)


ListingPage = _Page  # what parse_listing_page returns, for type hints

_UNDATED = object()  # a reader that reads no dates: any page's ``as_of`` will do


def _page_of(html: str | _Page, url: str, as_of: object, css: bool = False) -> _Page:
    if not isinstance(html, _Page):
        return _Page(html, url, None if as_of is _UNDATED else as_of, css)
    if html.url != _clean_url(url) or (as_of is not _UNDATED and html.as_of != as_of) or (css and not html.css):
        raise ValueError("a page parsed for another URL, date or reader")
    return html


def read_list(html: str | _Page, url: str, *, as_of: dt.date | None = None) -> ListPage:
    """The main list of a column page, its further pages, its placeholder text and its sub-columns."""
    page = _page_of(html, url, as_of)
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
    return ListPage(entries, _next_pages(page), placeholder, subcolumns, reader, _text_length(page),
                    _hanweb_data(page))


def read_data(text: str | bytes, url: str, reader: str, *, as_of: dt.date | None = None) -> ListPage:
    """The entries in the answer to a ``DataRequest``; ``reader`` is the request's, ``url`` the request's URL
    (record links are resolved against it: they sit on the column page's host and are mostly absolute paths).

    ``hanweb-dataproxy``: an XML ``<datastore>`` whose ``<record>``s each hold one list item as HTML in
    CDATA. Bytes are decoded from their XML declaration, else UTF-8 or GB18030; a record without a link is
    skipped, an unclosed one read up to the next.
    """
    if reader != _HANWEB_READER:
        raise ValueError(f"no data reader named {reader!r}")
    if isinstance(text, bytes):
        text = decode_body(text, None).text
    records = _hanweb_records(text.lstrip("\ufeff"))
    # Each record in a box of its own, so that one record is one item whatever its markup; table rows
    # need a table to survive parsing.
    boxes = "".join(f"<div>{'<table>' + r + '</table>' if r.lstrip()[:3].lower() == '<tr' else r}</div>"
                    for r in records)
    page = _Page(f"<html><body>{boxes}</body></html>", url, as_of)
    if page.root is None or not records:
        return ListPage([], [], None, [], reader)
    page.flags.clear()  # an answer has no navigation: every record's link is its own
    items = [page.read_item(box) for box in page.body() if isinstance(box.tag, str)]
    entries = _dedupe([Entry(i.title, i.url, i.date, i.date_text) for i in items if i is not None])
    return ListPage(entries, [], None, [], reader)


def _content_elements(page: _Page) -> list[etree._Element]:
    body = page.body()
    return [el for el in body.iter(etree.Element) if not page.flags.get(el, 0) & (_NAV | _SIDE)]


# Lines of a page's frame that are not its content: the footer's 主办/承办/备案 lines, the breadcrumb's
# label, an article's tool bar and a header's date line, wherever a template puts them.
_BOILERPLATE = re.compile(
    r"主\s*办|承\s*办|协\s*办|版权|copyright|©|icp|备案|备\d|标识码|公网安|联系电话|电\s*话|传\s*真|地\s*址|邮\s*编"
    r"|邮政编码|e-?mail|邮箱|技术支持|维护单位|位置|打印|关闭|返回顶部|分享|字号|浏览次数|访问量|点击数|阅读次数|浏览量"
    r"|分辨率|浏览器|今天是|星期[一二三四五六日天]|欢迎(?:访问|光临|您)|网站地图|无障碍",
    re.I,
)
_PLACEHOLDER_PHRASE = re.compile(rf"(?:本|该|此)?(?:栏目|页面|频道)?(?:{_PLACEHOLDER.pattern})")
_WORD_CHAR = re.compile(r"[^\W_]")
_BLOCK_TAGS = frozenset({
    "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "tbody", "thead", "dd", "dt", "dl", "h1", "h2", "h3",
    "h4", "h5", "h6", "br", "hr", "section", "article", "header", "footer", "nav", "aside", "form", "blockquote",
    "pre", "center", "main", "figure", "figcaption", "caption",
})
# Link text is never the page's own text; form controls are a search box's words.
_NOT_TEXT = frozenset({"a", "select", "option", "button", "textarea", "label", "input"})


def _text_length(page: _Page) -> int:
    """Letters and digits of the page's own text outside links, frame regions and boilerplate lines.

    The text is cut into lines at block elements and <br>; a line naming a frame item (主办单位, ICP备,
    当前位置, 打印 …) is dropped whole, and a 暂无信息 placeholder is taken out of its line.
    """
    body = page.body()
    if body is None:
        return 0
    lines: list[list[str]] = [[]]
    counted: list[bool] = []  # per open element: is its own text the page's text

    def newline() -> None:
        if lines[-1]:
            lines.append([])

    walker = etree.iterwalk(body, events=("start", "end"))
    for event, node in walker:
        if not isinstance(node.tag, str):
            continue
        if event == "start":
            if node.tag in _BLOCK_TAGS:
                newline()
            own = (not counted or counted[-1]) and node.tag not in _NOT_TEXT and not (
                page.flags.get(node, 0) & (_NAV | _SIDE | _PAGER))
            counted.append(own)
            if own:
                lines[-1].append(node.text or "")
            else:
                walker.skip_subtree()
        else:
            counted.pop()
            if node.tag in _BLOCK_TAGS:
                newline()
            if node is not body and (not counted or counted[-1]):
                lines[-1].append(node.tail or "")
    total = 0
    for parts in lines:
        line = normalize(_collapse(" ".join(parts)))
        if line and not _BOILERPLATE.search(line):
            # Letters and digits only: a "|" between footer links or a "！" is no text.
            total += len(_WORD_CHAR.findall(_PLACEHOLDER_PHRASE.sub("", line)))
    return total


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


def dated_items(html: str | _Page, url: str, *, as_of: dt.date | None = None) -> list[Entry]:
    """Every link outside header/footer/navigation shown with a date, in page order, one per URL."""
    page = _page_of(html, url, as_of)
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
    pieces: list[_Piece | None] = [_Piece(word, None) for word in _collapse(beside).split(" ") if word]
    for _ in range(3):  # a day card may be two or three elements after the link
        if following is None or following.tag == "a" or following.find(".//a") is not None:
            break
        text = following.text_content()
        # A short label ("<span>06-25</span>"), not a summary paragraph that mentions a date.
        if len(text.strip()) > 40:
            break
        if following is a.getnext():
            beside += " " + text
        pieces.extend([None] if _is_counter(following) else _pieces(following))
        pieces.extend(_Piece(word, None) for word in _collapse(following.tail).split(" ") if word)
        following = following.getnext()
    found = find_date(beside, as_of=page.as_of, year_less=False)
    card = None if found else _card_date(pieces, page.as_of)
    found = found or (card[1] if card else find_date(beside, as_of=page.as_of))
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


def extract_links(html: str | _Page, url: str) -> list[FoundLink]:
    """Every http(s) <a href> and <area href>, resolved against <base href>, in page order, each with
    why CSS hides it, if it does."""
    page = _page_of(html, url, _UNDATED, css=True)
    return [FoundLink(target, page.anchor(a), bool(page.flags.get(a, 0) & (_NAV | _SIDE)), page.hidden.get(a))
            for a, target in page.href.items()]


def navigation_columns(html: str | _Page, url: str) -> list[tuple[str, str]]:
    """The home page's main menu as (name, url), in order.

    The first menu block with five or more internal links, else the largest one with two or more: a top
    bar (无障碍, English, 登录) comes before the main menu on many portals and has fewer links.
    """
    page = _page_of(html, url, _UNDATED)
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
