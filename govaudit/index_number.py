"""The one parser for 索引号 (index numbers of disclosed documents).

The form used by the 政府信息公开目录 is ``<unit code>/<year>-<serial>``, e.g.
``11370100004189314T/2025-00059``. The unit code is the publisher's 18-character 统一社会信用代码
(GB 32100-2015) or, on older catalogues, its 9-character 组织机构代码 (GB 11714-1997); both end in a
check character, which is verified here.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# GB 32100-2015: 31 characters, no I O S V Z (they look like digits).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714-1997: the body is digits and capital letters (A = 10 ... Z = 35).
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Dashes pages use where the serial separator should be; NFKC does not fold them to "-".
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−"), "-")
_INDEX_NUMBER = re.compile(r"^(?P<unit>[0-9A-Z]{18}|[0-9A-Z]{9})/(?P<year>\d{4})-(?P<serial>\d{1,10})$")
MIN_YEAR = 1949
MAX_YEAR = 2100


@dataclass(frozen=True)
class IndexNumber:
    unit_code: str
    year: int
    serial: str


def normalise_index_number(text: str) -> str:
    """Full-width characters folded (／ → /, －/— → -, Ａ → A), spaces removed, letters upper-cased."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return re.sub(r"\s+", "", text).upper()


def uscc_check_char(body: str) -> str | None:
    """The 18th character of a 统一社会信用代码 whose first 17 are ``body``; None if not computable."""
    if len(body) != 17 or any(c not in USCC_ALPHABET for c in body):
        return None
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body: str) -> str | None:
    """The 9th character of a 组织机构代码 whose first 8 are ``body``; None if not computable."""
    if len(body) != 8 or not re.fullmatch(r"[0-9A-Z]{8}", body):
        return None
    total = sum(int(c, 36) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def unit_code_problems(code: str) -> list[str]:
    """Why an 18- or 9-character unit code is not a valid 统一社会信用代码 / 组织机构代码."""
    return list(_unit_code_problems(code))


@functools.lru_cache(maxsize=4096)  # a site's documents carry a few dozen unit codes, each thousands of times
def _unit_code_problems(code: str) -> tuple[str, ...]:
    return tuple(_judge_unit_code(code))


def _judge_unit_code(code: str) -> list[str]:
    if len(code) == 18:
        if any(c not in USCC_ALPHABET for c in code):
            bad = "".join(sorted({c for c in code if c not in USCC_ALPHABET}))
            return [f"统一社会信用代码“{code}”含不允许的字符“{bad}”"]
        problems = []
        if not code[2:8].isdigit():
            problems.append(f"统一社会信用代码“{code}”第 3–8 位应为行政区划代码（数字）")
        expected = uscc_check_char(code[:17])
        if expected != code[17]:
            problems.append(f"统一社会信用代码“{code}”校验位错误（应为 {expected}）")
        return problems
    if len(code) == 9:
        expected = org_code_check_char(code[:8])
        if expected is None:
            return [f"组织机构代码“{code}”含不允许的字符"]
        if expected != code[8]:
            return [f"组织机构代码“{code}”校验位错误（应为 {expected}）"]
        return []
    return [f"机构代码“{code}”应为 18 位统一社会信用代码或 9 位组织机构代码"]


def parse_index_number(text: str | None) -> IndexNumber | None:
    """``<unit code>/<year>-<serial>`` split into its parts, or None when it does not have that form.

    Only the form is checked here; ``validate_index_number`` also checks the unit code's check digit.
    """
    if not text:
        return None
    return _parse_normal(normalise_index_number(text))


def _parse_normal(normal: str) -> IndexNumber | None:
    match = _INDEX_NUMBER.match(normal)
    if match is None:
        return None
    return IndexNumber(match["unit"], int(match["year"]), match["serial"])


def validate_index_number(text: str | None) -> list[str]:
    """What is wrong with an index number, in Chinese; an empty list when it is valid."""
    return inspect_index_number(text)[2]


def inspect_index_number(text: str | None) -> tuple[str, IndexNumber | None, list[str]]:
    """An index number folded (``normalise_index_number``), parsed (``parse_index_number``) and judged
    (``validate_index_number``), folded once."""
    normal = normalise_index_number(text) if text else ""
    if not normal:
        return normal, None, ["索引号为空"]
    parsed = _parse_normal(normal)
    if parsed is None:
        return normal, None, [f"索引号“{(text or '').strip()}”不符合“机构代码/年份-流水号”格式"]
    problems = unit_code_problems(parsed.unit_code)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        problems.append(f"索引号年份 {parsed.year} 不合理")
    return normal, parsed, problems
