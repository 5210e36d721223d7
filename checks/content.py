"""SC — content safety (内容安全): personal data in page text, serious wording errors, hidden links (暗链)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from checks.base import AuditContext, Check, Finding
from checks.common import found_on, home_urls, url_key
from govaudit.config import host_allowed
from govaudit.models import Link, Page

EXAMPLES_MAX = 10

# --- SC01: personal data --------------------------------------------------------------------------

# GB 11643-1999: weights of the first 17 digits and the check character by the sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# 省级行政区划代码 (GB/T 2260): the first two digits of every 居民身份证号.
_PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                        50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82})
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z/-])(\d{17}[\dXx])(?![0-9A-Za-z/-])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z/-])(1[3-9]\d{9})(?![0-9A-Za-z/-])")
# 16-19 digits, written whole or in groups of four.
_CARD = re.compile(r"(?<![0-9A-Za-z/-])(\d{4}(?: ?\d{4}){2}(?: ?\d{1,4}){1,2})(?![0-9A-Za-z/-])")
# Labels that say a number belongs to a person (mobile) or a bank account (card).
_PERSON_LABELS = ("姓名", "联系人", "电话", "手机", "联系方式", "负责人", "申请人", "户主", "监护人",
                  "本人", "法定代表人", "经办人", "家属")
_CARD_LABELS = ("卡号", "账号", "帐号", "银行", "开户行", "银行卡", "社保卡")
# Labels that say the number is not a person's: 索引号, 统一社会信用代码, order and serial numbers.
_NOT_PERSONAL = re.compile(r"(索引号|信用代码|机构代码|订单|流水号|编号|文号|登记号|批准号|许可证号|证书号)[^\n]{0,12}$")
# A personal name standing in its own cell or before a separator: a common surname and one or two
# more characters (公示名单: "张三 男 139…", "李四（138…）").
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
             "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
             "覃武戴莫孔向汤")
_NAME = re.compile(rf"(?:^|[\s,，、;；:：(（\[【|])[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}(?=$|[\s,，、;；:：(（)）\]】|])")
_KINDS = {"id": "身份证号", "mobile": "手机号码", "card": "银行卡号"}


@dataclass
class PersonalNumber:
    kind: str  # id mobile card
    value: str


def id_number_valid(number: str, as_of: dt.date, max_age: int = 120) -> bool:
    """A 居民身份证号: a province code, a real birth date not after ``as_of`` and at most ``max_age`` years
    before it, and the GB 11643 check character."""
    if len(number) != 18 or not number[:17].isdigit() or int(number[:2]) not in _PROVINCES:
        return False
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born > as_of or born.year < as_of.year - max_age:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check bank card numbers carry."""
    if not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask(value: str) -> str:
    """The first four and last four characters, the rest as ``*``: 3601**********1234."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def _before(text: str, start: int, chars: int) -> str:
    return text[max(0, start - chars):start]


# Every number judged below lies in a run of at least 11 digits, spaces and Xs (ending in a digit or X).
# The runs are found first, once, by a pattern that starts with a digit (the regex engine skips to the next
# digit in C); the three patterns, which start with a lookbehind and so were tried at every character of
# every page, then look inside the runs only (a lookbehind sees the character before a run; ``endpos`` keeps
# the one after it in view). SC01 over a 100,000-page run: 3.2 s before, most of it those three scans.
_NUMBER_RUN = re.compile(r"\d[\d Xx]{9,}[\dXx]")


def personal_numbers(text: str, as_of: dt.date, context: int = 40) -> list[PersonalNumber]:
    """The 居民身份证号, mobile numbers next to a person and bank card numbers in a page's text.

    A mobile number counts when a name or a personal label (姓名, 联系人, 电话 …) stands within
    ``context`` characters before it; a card number (Luhn-valid, 16–19 digits) when a bank label
    (卡号, 账号, 银行 …) does. Numbers labelled as 索引号, 信用代码, 订单, 编号, 文号 … are not personal.
    """
    runs = [(run.start(), min(len(text), run.end() + 1)) for run in _NUMBER_RUN.finditer(text)]
    if not runs:
        return []

    def within_runs(pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:  # pattern.finditer(text), the same
        for start, end in runs:
            yield from pattern.finditer(text, start, end)

    found: list[PersonalNumber] = []
    taken: list[tuple[int, int]] = []

    def labelled_otherwise(start: int) -> bool:
        line = _before(text, start, 20).split("\n")[-1]
        return bool(_NOT_PERSONAL.search(line)) and "身份证" not in line and "证件" not in line

    for match in within_runs(_ID_NUMBER):
        number = match[1].upper()
        if id_number_valid(number, as_of) and not labelled_otherwise(match.start()):
            found.append(PersonalNumber("id", number))
            taken.append(match.span())
    for match in within_runs(_MOBILE):
        if any(s <= match.start() < e for s, e in taken) or labelled_otherwise(match.start()):
            continue
        near = _before(text, match.start(), context)
        if any(label in near for label in _PERSON_LABELS) or _NAME.search(near):
            found.append(PersonalNumber("mobile", match[1]))
    for match in within_runs(_CARD):
        digits = match[1].replace(" ", "")
        if not 16 <= len(digits) <= 19 or any(s <= match.start() < e for s, e in taken):
            continue
        near = _before(text, match.start(), context)
        if (luhn_valid(digits) and any(label in near for label in _CARD_LABELS)
                and not labelled_otherwise(match.start())):
            found.append(PersonalNumber("card", digits))
    return found


def _page_where(ctx: AuditContext, page: Page) -> dict[str, Any]:
    column = ctx.column_by_url(page.column_url)
    return {"column": column.name if column else None, "unit": ctx.unit_for(column)}


def _read_pages(ctx: AuditContext) -> Iterator[Page]:
    """Pages whose text the crawler read (HTML pages of the site that answered), but for those copied
    unchanged from a run whose audit holds (``AuditContext.fresh``): SC01 and SC02 judge a page by its
    title and text alone. (SC01 also by the run's date, through an ID number's birth date: a number
    whose holder was born after the earlier run cannot be on a page that was already there then.)"""
    for page in ctx.stream(Page, Page.text.is_not(None), ctx.fresh(Page),
                           columns=("url", "title", "text", "status", "column_url")):
        if page.status is not None and page.status < 400:
            yield page


class SC01(Check):
    """A page publishes personal data: an ID number, a person's mobile number or a bank card number.

    Rule:
        In the visible text of every crawled page (scripts and styles left out): an 18-digit
        居民身份证号 whose first two digits are a province code, whose birth date is a real date not
        after the run and at most 120 years before it, and whose check character is right (GB 11643);
        an 11-digit mobile number (1[3-9]…) with a personal name or a personal label (姓名, 联系人,
        电话, 手机, 申请人 …) within ``context_chars`` characters before it; a 16–19 digit number
        passing the Luhn check with a bank label (卡号, 账号, 银行 …) before it. Numbers labelled
        索引号, 信用代码, 订单, 编号, 文号 are not personal; numbers failing validation are ignored.
        One finding per page; the evidence shows each value masked (first and last four digits).
        Attachment text (PDF, DOC) is not read yet.

    Source:
        PLAN (保密审查、个人信息保护：公示名单应对身份证号、手机号码等作去标识化处理).

    Bad:
        A 公示 list of subsidy recipients shows ``张三 360121198003151234 13907971234``.

    Good:
        The list shows ``张三 3601**********1234 139****1234``; the page's 索引号 and order numbers
        stay as they are.

    Fix:
        Mask the numbers (keep at most the first and last digits), republish the page and check the
        attachments too.
    """

    code: ClassVar[str] = "SC01"
    name: ClassVar[str] = "泄露个人信息"
    family: ClassVar[str] = "SC"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "PLAN"
    defaults: ClassVar[dict[str, Any]] = {"context_chars": 40}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        context = ctx.threshold(SC01, "context_chars")
        for page in _read_pages(ctx):
            numbers = personal_numbers(page.text or "", ctx.as_of, context)
            if not numbers:
                continue
            counts = Counter(_KINDS[n.kind] for n in numbers)
            summary = "、".join(f"{kind}{count}个" for kind, count in counts.items())
            yield self.finding(
                page.url, f"页面公开了未脱敏的个人信息（{summary}），应作去标识化处理",
                evidence={"count": len(numbers), "kinds": dict(counts),
                          "examples": [f"{_KINDS[n.kind]} {mask(n.value)}" for n in numbers[:EXAMPLES_MAX]]},
                **_page_where(ctx, page),
            )


# --- SC02: serious wording errors -------------------------------------------------------------------

# Wrong wording -> the right one. Exact strings only: no fuzzy matching, so no false alarms on names.
DEFAULT_WORDING_ERRORS: dict[str, str] = {
    "中华人名共和国": "中华人民共和国",
    "中华人民共合国": "中华人民共和国",
    "中国共产党党员代表大会": "中国共产党全国代表大会",
    "中国共产党第二十次全国人民代表大会": "中国共产党第二十次全国代表大会",
    "中国共产党第十九次全国人民代表大会": "中国共产党第十九次全国代表大会",
    "中国人民政治协商委员会": "中国人民政治协商会议",
    "全国人民代表大会常务委员员会": "全国人民代表大会常务委员会",
    "中国特色社会注意": "中国特色社会主义",
    "社会注意核心价值观": "社会主义核心价值观",
    "习近平总数记": "习近平总书记",
    "习近平新时代中国特色社会主义思维": "习近平新时代中国特色社会主义思想",
    "国务院总里": "国务院总理",
    "中国共青团": "中国共产主义青年团（共青团）",
    "中共中央办公室": "中共中央办公厅",
    "国务院办公室": "国务院办公厅",
}
# A web address written in the text runs to whitespace or Chinese punctuation (paths may hold 汉字).
_URL_IN_TEXT = re.compile(r"(?:https?://|www\.)[^\s，。；、！？（）《》【】“”‘’]+", re.IGNORECASE)
SNIPPET_CHARS = 15


def wording_errors(text: str, terms: dict[str, str]) -> list[tuple[str, str, int, str]]:
    """(wrong, right, count, snippet around the first one) for each configured error in the text;
    web addresses written in the text are left out."""
    # Leaving the addresses out only takes matches away: a text holding none of the terms is done (the
    # substitution cost SC02 most of its time, on every page).
    if not any(wrong and wrong in text for wrong in terms):
        return []
    text = _URL_IN_TEXT.sub(" ", text)
    found = []
    for wrong, right in terms.items():
        if not wrong:
            continue
        count = text.count(wrong)
        if count:
            at = text.index(wrong)
            snippet = text[max(0, at - SNIPPET_CHARS):at + len(wrong) + SNIPPET_CHARS].replace("\n", " ")
            found.append((wrong, right, count, snippet))
    return found


class SC02(Check):
    """A page carries a serious wording error (wrong name of the country, the Party or an institution).

    Rule:
        The page's title and visible text (web addresses left out) contain one of the configured wrong
        wordings, exactly. ``terms`` (wrong -> right) is the list; its default holds the commonest
        serious errors inspectors cite (中华人名共和国, 中国共产党党员代表大会, 中国人民政治协商委员会,
        社会注意 …); ``extra_terms`` adds to it without repeating it. One finding per page.

    Source:
        IND 单项否决 — 严重表述错误.

    Bad:
        A news article says “庆祝中华人名共和国成立75周年”.

    Good:
        “庆祝中华人民共和国成立75周年”.

    Fix:
        Correct the wording, republish the page, and review the article's proof-reading (三审三校).
    """

    code: ClassVar[str] = "SC02"
    name: ClassVar[str] = "严重表述错误"
    family: ClassVar[str] = "SC"
    severity: ClassVar[str] = "veto"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {"terms": DEFAULT_WORDING_ERRORS, "extra_terms": {}}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        terms = {**ctx.threshold(SC02, "terms"), **ctx.threshold(SC02, "extra_terms")}
        terms = {str(k): str(v) for k, v in terms.items()}
        for page in _read_pages(ctx):
            errors = wording_errors(f"{page.title or ''}\n{page.text or ''}", terms)
            if not errors:
                continue
            shown = "；".join(f"“{wrong}”应为“{right}”" for wrong, right, _, _ in errors)
            yield self.finding(
                page.url, f"页面存在严重表述错误：{shown}",
                evidence={"errors": [f"{wrong} → {right}（{count}处）" for wrong, right, count, _ in errors],
                          "context": [snippet for *_, snippet in errors]},
                **_page_where(ctx, page),
            )


# --- SC03: hidden links ---------------------------------------------------------------------------


class SC03(Check):
    """A page carries a hidden link (暗链) to an outside site.

    Rule:
        A link the crawler found hidden by CSS — ``display:none``, ``visibility:hidden``, ``opacity:0``,
        off-screen positioning (left/top/margin or text-indent of -500px or less), zero width or
        height with ``overflow:hidden``, ``font-size:0``, a clip of no area, or text in the colour of
        its background — on the element or an ancestor, by inline style or the page's ``<style>``
        rules, pointing to a host that is neither in ``allowed_hosts`` nor in ``service_hosts``.
        Dropdown menus shown on hover or by a script are not hidden. One finding per target; the URL
        is the home page when it carries the link, else the first page that does.

    Source:
        IND 单项否决 (安全: 网站被植入暗链) and inspection notices.

    Bad:
        The footer holds ``<div style="position:absolute;left:-9999px"><a href="http://bet.example/">…``.

    Good:
        A visible 友情链接 to ``http://www.gov.cn/``; a dropdown of 部门网站 shown on hover.

    Fix:
        Remove the link, find how it was planted (template, CMS account, server files), change the
        passwords and scan the server.
    """

    code: ClassVar[str] = "SC03"
    name: ClassVar[str] = "暗链"
    family: ClassVar[str] = "SC"
    severity: ClassVar[str] = "veto"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        own_hosts = [*ctx.site.allowed_hosts, *ctx.site.service_hosts]
        targets: dict[str, list[Link]] = {}
        for link in ctx.links(Link.hidden.is_not(None)):
            if not host_allowed(link.to_url, own_hosts):
                targets.setdefault(link.to_url, []).append(link)
        homes = {url_key(u) for u in home_urls(ctx)}
        for target, links in targets.items():
            pages = sorted({link.from_url for link in links})
            at_home = [url for url in pages if url_key(url) in homes]
            url = at_home[0] if at_home else pages[0]
            first = next(link for link in links if link.from_url == url)
            anchor = f"“{first.anchor.strip()}”" if first.anchor and first.anchor.strip() else ""
            page = ctx.page(url)
            where = _page_where(ctx, page) if page is not None else {"column": None, "unit": ctx.site.unit}
            yield self.finding(
                url, f"页面存在隐藏的外部链接（暗链）{anchor}：{target}（{first.hidden}）",
                key=target,
                evidence={"target": target, "anchor": first.anchor, "hidden": first.hidden, **found_on(pages)},
                **where,
            )


CHECKS = [SC01, SC02, SC03]
