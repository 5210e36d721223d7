import codecs

import pytest

from crawler.encoding import decode_body, sniff_meta_charset

TEXT = "济南市国防动员办公室2025年度政务公开工作实施方案"


def html(head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}<title>{TEXT}</title></head><body><p>{TEXT}</p></body></html>"


def test_gbk_page_without_header_or_meta_falls_back_to_gb18030():
    decoded = decode_body(html().encode("gbk"), "text/html")

    assert TEXT in decoded.text
    assert (decoded.encoding, decoded.source) == ("gb18030", "gb18030")


def test_gbk_page_with_a_meta_charset():
    body = html('<meta http-equiv="Content-Type" content="text/html; charset=gb2312">').encode("gbk")

    decoded = decode_body(body, None)

    assert TEXT in decoded.text
    assert (decoded.encoding, decoded.source) == ("gb18030", "meta")


def test_utf8_page_without_any_declaration():
    decoded = decode_body(html().encode("utf-8"), None)

    assert TEXT in decoded.text
    assert (decoded.encoding, decoded.source) == ("utf-8", "utf-8")


def test_the_header_charset_comes_before_the_meta():
    body = html('<meta charset="utf-8">').encode("gb18030")

    decoded = decode_body(body, 'text/html; charset="GBK"')

    assert TEXT in decoded.text
    assert (decoded.encoding, decoded.source) == ("gb18030", "header")


def test_utf8_bom_wins_over_a_header_that_says_otherwise():
    body = codecs.BOM_UTF8 + html('<meta charset="gbk">').encode("utf-8")

    decoded = decode_body(body, "text/html; charset=gbk")

    assert decoded.text.startswith("<!DOCTYPE html>")
    assert TEXT in decoded.text
    assert (decoded.encoding, decoded.source) == ("utf-8", "bom")


def test_utf16_bom():
    decoded = decode_body(codecs.BOM_UTF16_LE + html().encode("utf-16-le"), None)

    assert TEXT in decoded.text
    assert decoded.source == "bom"


def test_iso_8859_1_header_on_a_gbk_body_is_a_server_default_and_gives_way():
    # Tomcat and Apache send ISO-8859-1 by default; it would decode any byte into mojibake.
    decoded = decode_body(html().encode("gbk"), "text/html; charset=ISO-8859-1")

    assert TEXT in decoded.text
    assert (decoded.encoding, decoded.source) == ("gb18030", "gb18030")


def test_iso_8859_1_header_on_a_gbk_body_with_meta_uses_the_meta():
    body = html('<meta charset="gbk">').encode("gbk")

    decoded = decode_body(body, "text/html; charset=iso-8859-1")

    assert TEXT in decoded.text
    assert decoded.source == "meta"


def test_iso_8859_1_header_on_an_ascii_body_is_kept():
    decoded = decode_body(b"<html><body>Hello</body></html>", "text/html; charset=iso-8859-1")

    assert decoded.text == "<html><body>Hello</body></html>"
    assert decoded.source == "header"


def test_utf8_header_on_a_gbk_body_gives_way_to_a_candidate_that_decodes():
    decoded = decode_body(html().encode("gbk"), "text/html; charset=utf-8")

    assert TEXT in decoded.text
    assert (decoded.encoding, decoded.source) == ("gb18030", "gb18030")


def test_gbk_meta_on_a_utf8_body_is_wrong_and_utf8_wins():
    # GB18030 accepts most UTF-8 byte runs as other characters, so a strict decode alone cannot tell.
    body = html('<meta charset="gb2312">').encode("utf-8")

    decoded = decode_body(body, None)

    assert TEXT in decoded.text
    assert (decoded.encoding, decoded.source) == ("utf-8", "utf-8")


@pytest.mark.parametrize("label", ["gb2312", "GBK", "x-gbk", "cp936", "gb_2312-80", "GB18030", "csgb2312"])
def test_gbk_family_labels_decode_as_gb18030(label):
    decoded = decode_body(html().encode("gbk"), f"text/html; charset={label}")

    assert (decoded.encoding, decoded.source) == ("gb18030", "header")


@pytest.mark.parametrize("label", ["bogus", "base64", "rot13", "utf-7"])
def test_unknown_or_non_text_labels_are_skipped(label):
    decoded = decode_body(html().encode("utf-8"), f"text/html; charset={label}")

    assert TEXT in decoded.text
    assert decoded.source == "utf-8"


def test_gb18030_characters_outside_gbk_survive():
    text = "㐀 䶵 𠀀"  # CJK extension A and B: GB18030 four-byte codes
    decoded = decode_body(f"<p>{text}</p>".encode("gb18030"), "text/html; charset=gbk")

    assert text in decoded.text


def test_undecodable_bytes_are_replaced_using_the_candidate_that_loses_least():
    body = html().encode("gbk") + b"\xff"

    decoded = decode_body(body, None)

    assert TEXT in decoded.text
    assert decoded.text.endswith("\ufffd")
    assert decoded.encoding == "gb18030"


@pytest.mark.parametrize(
    "head, expected",
    [
        (b'<meta charset="utf-8">', "utf-8"),
        (b"<meta charset=GB2312>", "gb18030"),
        (b'<meta http-equiv="Content-Type" content="text/html; charset=gbk" />', "gb18030"),
        (b"<META HTTP-EQUIV='content-type' CONTENT='text/html;charset=x-gbk'>", "gb18030"),
        (b'<?xml version="1.0" encoding="gb2312"?><html>', "gb18030"),
        (b'<meta charset="utf-16">', "utf-8"),
        (b"<!-- <meta charset=gbk> --><meta charset=utf-8>", "utf-8"),
        (b'<meta name="keywords" content="charset">', None),
        (b'<meta charset="no-such-charset">', None),
        (b"<html><head><title>x</title></head>", None),
        (b" " * 5000 + b'<meta charset="gbk">', None),
    ],
)
def test_sniff_meta_charset(head, expected):
    assert sniff_meta_charset(head) == expected
