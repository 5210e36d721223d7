"""What a 政务新媒体 account's public page shows: its newest post date, or that the account is closed.

The page is an account's home or an archive list of its posts, as the platforms and their mirrors serve
it, read on a string of HTML:

- dates in the list items (2024-06-25, 2024年6月25日, year-less 06-25 — the one parser of
  ``crawler.dates``), and the relative times of feeds (刚刚, 5分钟前, 3小时前, 今天 10:20, 昨天, 前天,
  3天前, 2周前, 1个月前), counted back from the run's as-of date;
- dates in the page's scripts: publication keys holding an epoch (``"publish_time": 1717000000``,
  milliseconds too), a date string (``"pubDate": "2024-06-25 10:00"``, ISO 8601) or Weibo's
  ``"created_at": "Tue Jun 25 10:00:00 +0800 2024"``, WeChat's ``var ct = "1717000000";`` and the
  ``&quot;datetime&quot;:1717000000`` of its saved message list (``msgList``);
- notices that the account is gone: 该账号已注销, 已停止服务, 账号已迁移, 此帐号已被封禁, 该公众号已迁移 …
  (a short text of the page's own, not the title of a post — a post called "…系统已停止服务的公告" is news,
  not a notice — nor a post's longer text); and placeholders saying it has published nothing (暂无文章).

No date is ever guessed: a page where none is recognised says so (``status == "undated"``). Dates after
the as-of date (a wrong clock, a scheduled post) are not counted as posts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import unescape

from crawler.content import parse_html
from crawler.dates import find_date, normalize

# Post times are China's; epochs are read in its time zone (no daylight saving since 1991).
CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
# A year-less date or a relative time counts only as a short text of its own (a list item's time label),
# not inside a sentence, where "3-5" or "2天前" mean something else.
SHORT_TEXT = 30
# A notice is a short text of its own ("该账号已注销"); a post saying "旧版平台已停止服务，请……" is longer.
NOTICE_MAX = 40
DATE_TEXT_MAX = 200

_SKIP_TAGS = {"script", "style", "noscript", "template"}
_CN_NUMBERS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_NUMBER = r"(\d{1,3}|[一两二三四五六七八九十])"
_RELATIVE = (
    (re.compile(r"^(?:刚刚|刚才)$"), lambda n: 0),
    (re.compile(rf"^{_NUMBER}\s*(?:秒|秒钟)\s*前$"), lambda n: 0),
    (re.compile(rf"^{_NUMBER}\s*分钟\s*前$"), lambda n: 0),
    (re.compile(rf"^{_NUMBER}\s*(?:个)?\s*小时\s*前$"), lambda n: n // 24),
    (re.compile(r"^今天(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?$"), lambda n: 0),
    (re.compile(r"^昨天(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?$"), lambda n: 1),
    (re.compile(r"^前天(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?$"), lambda n: 2),
    (re.compile(rf"^{_NUMBER}\s*天\s*前$"), lambda n: n),
    (re.compile(rf"^{_NUMBER}\s*(?:周|星期)\s*前$"), lambda n: 7 * n),
    (re.compile(rf"^{_NUMBER}\s*(?:个)?\s*月\s*前$"), lambda n: 30 * n),
    (re.compile(rf"^{_NUMBER}\s*年\s*前$"), lambda n: 365 * n),
)
# Labels that precede a time in a feed ("发布于 3小时前", "更新时间：昨天 10:20").
_TIME_LABEL = re.compile(r"^(?:发布于|发表于|发布时间|更新时间|更新于|发布|时间)\s*[:：]?\s*")
# What may stand beside a year-less date in a time label: brackets, a time of day, those labels.
_LABEL_RESIDUE = re.compile(r"[\s\[\]()（）【】:：]|\d{1,2}:\d{2}(?::\d{2})?|发布于|发表于|发布时间|更新时间|更新于|发布|时间")

# Keys of a script's data that hold a post's publication time (not the server's clock or a profile's
# change: "svr_time", "timestamp", "update_time" would make every page look fresh).
_PUBLISH_KEYS = (r"publish_?time|publish_?date|publishTime|publishDate|pub_?time|pub_?date|pubTime|pubDate"
                 r"|create_?time|createTime|created_at|createdAt|post_?time|postTime|send_?time|sendTime"
                 r"|release_?time|releaseTime|ori_create_time|ct|datetime")
_SCRIPT_EPOCH = re.compile(rf"""["']?\b(?:{_PUBLISH_KEYS})\b["']?\s*[:=]\s*["']?(\d{{10}}|\d{{13}})(?!\d)""")
_SCRIPT_STRING = re.compile(rf"""["']?\b(?:{_PUBLISH_KEYS})\b["']?\s*[:=]\s*["']([^"'\\]{{6,40}})["']""")
_WEIBO_TIME = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} [+-]\d{4} \d{4}$")

# The account is gone: closed (注销), stopped (停止服务/运营), moved (迁移), banned or frozen (封禁 …).
_SUBJECT = r"(?:该|此|本)?\s*(?:微信)?(?:公众号|公众帐号|公众账号|账号|帐号|用户|微博|头条号|抖音号|快手号|视频号|号)"
_CLOSED = re.compile(
    rf"{_SUBJECT}\s*(?:已经|已)\s*(?:被\s*)?(?:自主)?(?:注销|迁移|停止服务|停止运营|停止使用|停止更新|关闭|封禁|封停|冻结|屏蔽)"
    rf"|{_SUBJECT}\s*(?:不存在|已不存在)"
    r"|已停止服务|已停止运营|已迁移至|已迁移到"
)
_EMPTY = re.compile(r"暂无(?:文章|内容|动态|作品|微博|视频|发布|数据|信息)|还没有(?:发布|发表|发文)|尚未(?:发布|发表)(?:任何)?(?:内容|文章)")


@dataclass
class AccountPage:
    """What one account page showed."""

    status: str  # ok empty undated closed
    title: str | None = None
    latest_post: dt.date | None = None
    latest_text: str | None = None  # the text the newest date was read from ("3小时前", "2024-06-25")
    # Dates read from the list or from the page's data, whichever gave more: roughly the posts shown.
    posts_seen: int = 0
    closed_notice: str | None = None  # the 已注销/已迁移 sentence, or the 暂无内容 placeholder


def relative_date(text: str, as_of: dt.date) -> dt.date | None:
    """A feed's relative time (3小时前, 昨天, 2天前, 1个月前) as a date counted back from ``as_of``."""
    text = _TIME_LABEL.sub("", normalize(text).strip())
    for pattern, days_back in _RELATIVE:
        match = pattern.match(text)
        if match:
            number = match.group(1) if match.groups() else None
            n = 0 if number is None else int(number) if number.isdigit() else _CN_NUMBERS[number]
            return as_of - dt.timedelta(days=days_back(n))
    return None


def text_date(text: str, as_of: dt.date) -> tuple[dt.date, str] | None:
    """A date written in one text of the page: a full date anywhere in it, a relative time or a
    year-less 06-25 only as a short text of its own."""
    text = " ".join(text.split())
    if not text:
        return None
    short = len(text) <= SHORT_TEXT
    if short:
        relative = relative_date(text, as_of)
        if relative is not None:
            return relative, text
    found = find_date(text, as_of=as_of, year_less=False)
    if found is None and short:
        # A year-less date is a time label only when it is all the text says ("06-25", "[06-25 10:20]").
        found = find_date(text, as_of=as_of)
        if found is not None and _LABEL_RESIDUE.sub("", normalize(text).replace(found[1], "", 1)):
            found = None
    return (found[0], found[1]) if found else None


def script_dates(script: str, as_of: dt.date) -> list[tuple[dt.date, str]]:
    """Publication dates held in a script's data: epochs (seconds or milliseconds) and date strings."""
    found = []
    # WeChat's saved archive holds its message list as HTML-escaped JSON in a string (&quot;datetime&quot;).
    script = unescape(script)
    for match in _SCRIPT_EPOCH.finditer(script):
        value = int(match.group(1))
        if len(match.group(1)) == 13:
            value //= 1000
        try:
            date = dt.datetime.fromtimestamp(value, CHINA).date()
        except (OverflowError, OSError, ValueError):
            continue
        if date.year >= 2000:
            found.append((date, match.group(0)[:DATE_TEXT_MAX]))
    for match in _SCRIPT_STRING.finditer(script):
        value = match.group(1).strip()
        date = None
        if _WEIBO_TIME.match(value):
            try:
                date = dt.datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").astimezone(CHINA).date()
            except ValueError:
                date = None
        else:
            date = _iso_date(value)
            if date is None:
                parsed = find_date(value, as_of=as_of, year_less=False)
                date = parsed[0] if parsed else None
        if date is not None:
            found.append((date, match.group(0)[:DATE_TEXT_MAX]))
    return found


def _iso_date(value: str) -> dt.date | None:
    """An ISO 8601 time with an offset, as a date in China ("2024-06-24T20:00:00Z" is the 25th there)."""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(CHINA).date() if moment.tzinfo else None


def _texts(tree, *, links: bool) -> list[str]:
    """The page's texts outside scripts and styles; with ``links=False`` outside links too (where an
    account's own notice is written, not the titles of its posts)."""
    hidden = _SKIP_TAGS if links else _SKIP_TAGS | {"a"}

    def shown(element) -> bool:
        return isinstance(element.tag, str) and element.tag not in hidden and not any(
            ancestor.tag in hidden for ancestor in element.iterancestors())

    texts = []
    for element in tree.iter():
        if element.text and shown(element):
            texts.append(element.text)
        parent = element.getparent()
        if element.tail and parent is not None and shown(parent):
            texts.append(element.tail)
    return texts


def _notice(texts: list[str], pattern: re.Pattern) -> str | None:
    for text in texts:
        shown = " ".join(text.split())
        if len(shown) <= NOTICE_MAX and pattern.search(normalize(shown)):
            return shown  # as the page wrote it
    return None


def read_account_page(html: str, as_of: dt.date) -> AccountPage:
    """Read an account page's HTML: its newest post date, a closed/migrated notice, or neither."""
    tree = parse_html(html)
    if tree is None:
        return AccountPage(status="undated")
    title = tree.findtext(".//title")
    title = " ".join(title.split())[:500] if title and title.strip() else None
    own = _texts(tree, links=False)
    closed = _notice(own, _CLOSED)
    listed = [found for text in _texts(tree, links=True) if (found := text_date(text, as_of)) is not None]
    scripted: list[tuple[dt.date, str]] = []
    for script in tree.iter("script"):
        scripted.extend(script_dates(script.text or "", as_of))
    listed = [(date, text) for date, text in listed if date <= as_of]
    scripted = [(date, text) for date, text in scripted if date <= as_of]
    dated = listed + scripted
    page = AccountPage(status="undated", title=title, posts_seen=max(len(listed), len(scripted)))
    if dated:
        page.latest_post, page.latest_text = max(dated, key=lambda pair: pair[0])
        page.latest_text = page.latest_text[:DATE_TEXT_MAX]
        page.status = "ok"
    if closed is not None:
        page.status, page.closed_notice = "closed", closed
    elif not dated:
        empty = _notice(own, _EMPTY)
        if empty is not None:
            page.status, page.closed_notice = "empty", empty
    return page
