"""索引号: form, 统一社会信用代码 (GB 32100-2015) and 组织机构代码 (GB 11714) check characters."""

from __future__ import annotations

import pytest

from govaudit.index_number import (
    USCC_ALPHABET,
    IndexNumber,
    org_code_check_char,
    parse_index_number,
    uscc_check_char,
    validate_index_number,
)

# Published codes whose check characters were verified by hand against the standards' weights.
REAL_USCC = [
    "91350100M000100Y43",
    "11370100004189314T",
    "91110000100006485K",
    "914403001922038216",
]


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def _org(first8: str) -> str:
    return first8 + org_code_check_char(first8)


def test_uscc_check_character_matches_published_codes():
    for code in REAL_USCC:
        assert uscc_check_char(code[:17]) == code[17], code


def test_uscc_check_character_worked_example():
    # Weighted sum 811, 811 mod 31 = 5, 31 − 5 = 26, and the 26th character of the alphabet is T.
    assert uscc_check_char("11370100004189314") == "T"


def test_uscc_check_character_covers_the_whole_alphabet():
    # The 17th weight (28) is prime to 31, so varying that character reaches every residue once,
    # including remainder 0, whose check value is 0 and not 31.
    assert {uscc_check_char(f"1137010000418931{c}") for c in USCC_ALPHABET} == set(USCC_ALPHABET)


def test_org_code_check_character_including_x_and_zero():
    assert org_code_check_char("00418931") == "4"  # 172 mod 11 = 7, 11 − 7 = 4
    assert org_code_check_char("D2143569") == "X"  # 199 mod 11 = 1, 11 − 1 = 10, written X
    bodies = [f"{n:08d}" for n in range(200)]
    assert {"X", "0"} <= {org_code_check_char(b) for b in bodies}


def test_valid_index_numbers_with_either_unit_code():
    for text in (f"{code}/2025-00059" for code in REAL_USCC):
        assert validate_index_number(text) == [], text
    assert validate_index_number(_org("00418931") + "/2019-1") == []
    assert validate_index_number(_uscc("11440300MB2C9284R") + "/2024-000123") == []


def test_parse_splits_unit_year_serial():
    parsed = parse_index_number("11370100004189314T/2025-00059")
    assert parsed == IndexNumber("11370100004189314T", 2025, "00059")


def test_full_width_characters_and_spaces_are_normalised():
    text = "１１３７０１００００４１８９３１４Ｔ／２０２５－０００５９"
    assert parse_index_number(text) == IndexNumber("11370100004189314T", 2025, "00059")
    assert validate_index_number(" 11370100004189314T / 2025—00059\u3000") == []
    assert validate_index_number("11370100004189314t/2025-00059") == []


def test_wrong_check_character_is_reported_with_the_right_one():
    problems = validate_index_number("11370100004189314X/2025-00059")
    assert problems == ["统一社会信用代码“11370100004189314X”校验位错误（应为 T）"]
    assert validate_index_number("004189315/2025-00001") == ["组织机构代码“004189315”校验位错误（应为 4）"]


def test_uscc_with_letters_the_standard_excludes():
    problems = validate_index_number("1137010000418931IO/2025-00059")
    assert problems and "不允许的字符“IO”" in problems[0]


@pytest.mark.parametrize("text", [
    "XM001-2025-0012",
    "00418931-4/2025-00001",  # the hyphen of the printed 组织机构代码 is not part of the index number
    "11370100004189314T-2025-00059",
    "11370100004189314T/25-00059",
    "11370100004189314T/2025/00059",
    "1137010000418931/2025-00059",
    "11370100004189314T/2025-",
])
def test_malformed_forms(text):
    assert parse_index_number(text) is None
    assert validate_index_number(text) == [f"索引号“{text}”不符合“机构代码/年份-流水号”格式"]


def test_empty_and_implausible_year():
    assert validate_index_number("") == ["索引号为空"]
    assert validate_index_number(None) == ["索引号为空"]
    assert parse_index_number(None) is None
    assert validate_index_number("11370100004189314T/1899-00001") == ["索引号年份 1899 不合理"]


def test_division_code_must_be_digits():
    code = _uscc("11AB0100004189314")
    assert any("行政区划代码" in p for p in validate_index_number(f"{code}/2025-00001"))
