"""The one parser for dates as Chinese government pages write them.

2024-06-25, 2024/6/25, 2024年6月25日, 2024.06.25, 20240625 (in TRS-style URLs), 二〇二四年六月二十五日,
full-width digits and punctuation, and year-less forms ([06-25], 6月25日) whose year is the latest one
that does not put the date after "today" (the run's as-of date).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}

_SEP = r"\s*[-/.．_]\s*"
_FULL = re.compile(
    rf"(?<!\d)(?P<y>(?:19|20)\d{{2}})(?:{_SEP}(?P<m>\d{{1,2}}){_SEP}(?P<d>\d{{1,2}})(?!\d)"
    rf"|\s*年\s*(?P<m2>\d{{1,2}})\s*月\s*(?P<d2>\d{{1,2}})\s*日?)"
)
_COMPACT = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?!\d)")
# After normalize() a full-width Ｏ written for 〇 is a Latin O.
_CN_FULL = re.compile(r"(?P<y>[〇○零ＯO一二三四五六七八九]{4})\s*年\s*(?P<m>[一二三四五六七八九十]{1,3})\s*月"
                      r"\s*(?P<d>[一二三四五六七八九十]{1,3})\s*日")
# Year-less: "06-25", "6/25", "6月25日"; a dot is too often a decimal ("增长1.5%") to be read as one.
_MONTH_DAY = re.compile(
    r"(?<![\d/.\-])(?P<m>0?[1-9]|1[0-2])(?:\s*[-/]\s*|\s*月\s*)(?P<d>0?[1-9]|[12]\d|3[01])(?:\s*日)?(?![\d/.\-%])"
)


def normalize(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII; no-break and ideographic spaces to spaces."""
    return unicodedata.normalize("NFKC", text)


def _cn_number(text: str) -> int:
    """十 → 10, 十二 → 12, 二十五 → 25, 三十一 → 31."""
    if "十" not in text:
        return _CN_DIGITS.get(text, -1)
    tens, _, ones = text.partition("十")
    tens_value = _CN_DIGITS.get(tens, -1) if tens else 1
    ones_value = _CN_DIGITS.get(ones, -1) if ones else 0
    return -1 if min(tens_value, ones_value) < 0 else tens_value * 10 + ones_value


def _make(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _infer_year(month: int, day: int, as_of: dt.date | None) -> dt.date | None:
    today = as_of or dt.date.today()
    # Four years back reaches the last 29 February.
    for year in range(today.year, today.year - 5, -1):
        date = _make(year, month, day)
        if date is not None and date <= today:
            return date
    return None


def find_date(text: str | None, *, as_of: dt.date | None = None,
              year_less: bool = True) -> tuple[dt.date, str] | None:
    """The first date written in ``text``, with the text that wrote it.

    A year-less date ([06-25], 6月25日) is used only when the text holds no full date at all, and
    ``year_less=False`` turns it off where a bare "6-25" would more likely be something else.
    """
    if not text:
        return None
    norm = normalize(text)
    best: tuple[int, dt.date, str] | None = None
    # An impossible full date (2023年2月29日) must not come back as its year-less tail (2月29日).
    impossible: list[tuple[int, int]] = []
    for pattern in (_FULL, _CN_FULL, _COMPACT):
        for match in pattern.finditer(norm):
            if pattern is _CN_FULL:
                year = int("".join(str(_CN_DIGITS[c]) for c in match["y"]))
                date = _make(year, _cn_number(match["m"]), _cn_number(match["d"]))
            else:
                month = match.groupdict().get("m") or match.groupdict().get("m2")
                day = match.groupdict().get("d") or match.groupdict().get("d2")
                date = _make(int(match["y"]), int(month), int(day))
            if date is None:
                impossible.append(match.span())
            else:
                if best is None or match.start() < best[0]:
                    best = (match.start(), date, match.group(0).strip())
                break
    if best is not None:
        return best[1], best[2]
    if year_less:
        for match in _MONTH_DAY.finditer(norm):
            if any(start <= match.start() < end for start, end in impossible):
                continue
            date = _infer_year(int(match["m"]), int(match["d"]), as_of)
            if date is not None:
                return date, match.group(0).strip()
    return None


def parse_date(text: str | None, *, as_of: dt.date | None = None, year_less: bool = True) -> dt.date | None:
    """The first date in ``text``, or None."""
    found = find_date(text, as_of=as_of, year_less=year_less)
    return found[0] if found else None
