import datetime as dt

import pytest

from crawler.dates import find_date, normalize, parse_date

AS_OF = dt.date(2026, 1, 3)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-06-25", dt.date(2024, 6, 25)),
        ("2024/6/25", dt.date(2024, 6, 25)),
        ("2024年6月25日", dt.date(2024, 6, 25)),
        ("2024 年 06 月 25 日", dt.date(2024, 6, 25)),
        ("2024.06.25", dt.date(2024, 6, 25)),
        ("2024-6-5 10:30:00", dt.date(2024, 6, 5)),
        ("http://www.example.gov.cn/art/202406/t20240625_4567.html", dt.date(2024, 6, 25)),
        ("二〇二四年六月二十五日", dt.date(2024, 6, 25)),
        ("二○二四年十二月三十一日", dt.date(2024, 12, 31)),
        ("二零二四年十月一日", dt.date(2024, 10, 1)),
        ("２０２４－０６－２５", dt.date(2024, 6, 25)),
        ("２０２４年６月２５日", dt.date(2024, 6, 25)),
        ("２０２４／０６／２５", dt.date(2024, 6, 25)),
        ("2024．06．25", dt.date(2024, 6, 25)),
    ],
)
def test_full_dates_in_every_written_form(text, expected):
    assert parse_date(text, as_of=AS_OF) == expected


def test_full_width_letter_o_in_a_chinese_numeral_year_is_read_as_zero():
    assert parse_date("二Ｏ二四年六月一日") == dt.date(2024, 6, 1)


@pytest.mark.parametrize("text", ["2024-13-45", "2024-02-30", "2023年2月29日", "二〇二四年十三月一日", ""])
def test_impossible_dates_are_none(text):
    assert parse_date(text, as_of=AS_OF) is None


def test_none_text_is_none():
    assert parse_date(None) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[12-30]", dt.date(2025, 12, 30)),
        ("[01-03]", dt.date(2026, 1, 3)),
        ("[01-04]", dt.date(2025, 1, 4)),
        ("12月30日", dt.date(2025, 12, 30)),
        ("06/25", dt.date(2025, 6, 25)),
    ],
)
def test_year_less_dates_take_the_latest_year_not_after_as_of(text, expected):
    assert parse_date(text, as_of=AS_OF) == expected


def test_year_less_leap_day_goes_back_to_the_last_leap_year():
    assert parse_date("[02-29]", as_of=dt.date(2026, 3, 1)) == dt.date(2024, 2, 29)


def test_year_less_dates_can_be_turned_off():
    assert parse_date("[12-30]", as_of=AS_OF, year_less=False) is None


def test_a_full_date_wins_over_an_earlier_year_less_one():
    assert parse_date("06-01 更新；发布于 2024-05-30", as_of=AS_OF) == dt.date(2024, 5, 30)


@pytest.mark.parametrize(
    "text, expected, written",
    [
        ("发布日期：2024-06-25  浏览次数：123", dt.date(2024, 6, 25), "2024-06-25"),
        ("关于做好2024年防汛工作的通知 2024年6月3日", dt.date(2024, 6, 3), "2024年6月3日"),
        ("成文日期：二〇二四年三月八日，发布日期：2024-03-10", dt.date(2024, 3, 8), "二〇二四年三月八日"),
        ("·市政府召开常务会议[2025-12-31]", dt.date(2025, 12, 31), "2025-12-31"),
    ],
)
def test_the_first_date_inside_longer_text_with_how_it_was_written(text, expected, written):
    assert find_date(text, as_of=AS_OF) == (expected, written)


@pytest.mark.parametrize(
    "text",
    ["浙政办发〔2024〕12号", "国办发[2024]3号", "赣府厅字（2023）105号", "鲁政字【2025】1号", "11370100004189314T/2025-00059"],
)
def test_document_numbers_and_index_numbers_are_not_dates(text):
    assert parse_date(text, as_of=AS_OF) is None


def test_a_document_number_next_to_a_date_does_not_hide_it():
    assert parse_date("浙政办发〔2024〕12号 2024年5月6日", as_of=AS_OF) == dt.date(2024, 5, 6)


def test_normalize_turns_full_width_and_no_break_spaces_to_ascii():
    assert normalize("２０２４：\u00a0Ａ\u3000") == "2024: A "


def test_decimals_and_percentages_are_not_year_less_dates():
    from crawler.dates import find_date

    assert find_date("全县生产总值增长1.5%") is None
    assert find_date("同比增长3-5%") is None
