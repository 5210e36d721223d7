"""Decoding a fetched body the way a browser would, with the fallbacks old government CMSs need.

Order: a byte order mark; the Content-Type charset; a <meta> (or <?xml?>) declaration in the first 4 KB;
strict UTF-8; GB18030. The GBK family (gb2312, gbk, x-gbk, cp936, gb_2312-80 …) decodes as GB18030, its
superset. A declaration that does not decode the body strictly gives way to a later candidate that does,
because a wrong charset header is common on old CMSs; so does a Latin-1/ASCII label on a body with
non-ASCII bytes (a server default, never a Chinese page's real encoding), and any non-UTF-8 label on
non-ASCII bytes that are valid UTF-8. Parsing of headers and <meta> is w3lib's.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

# WHATWG labels of the GBK decoder that Python's codec registry does not know. Registering them lets
# w3lib (and Scrapy's own response decoding) resolve them too.
_EXTRA_GB_LABELS = frozenset({"x_gbk", "csgb2312", "gb_2312", "x_gb18030", "x_gb2312", "x_euc_cn"})

# Single-byte Western encodings are what servers send by default (Tomcat, Apache's AddDefaultCharset),
# and they decode any byte sequence; on a body with non-ASCII bytes they are tried last, not first.
_WEAK = frozenset({"cp1252", "latin-1", "iso8859-1", "ascii"})


def _search_extra_labels(name: str) -> codecs.CodecInfo | None:
    return codecs.lookup("gb18030") if name in _EXTRA_GB_LABELS else None


codecs.register(_search_extra_labels)


@dataclass(frozen=True)
class Decoded:
    """A decoded body: ``source`` is where the encoding came from (bom, header, meta, utf-8, gb18030)."""

    text: str
    encoding: str
    source: str


def _text_codec(name: str | None) -> str | None:
    """``name`` if it is a text encoding (``resolve_encoding`` also returns base64, rot-13, hex …)."""
    if not name:
        return None
    try:
        b"".decode(name)
    except LookupError:
        return None
    return name


def sniff_meta_charset(head: bytes) -> str | None:
    """The encoding a <meta charset>, <meta http-equiv content="…charset=…"> or <?xml encoding?> in the
    first 4 KB declares, as a Python codec name (gb2312 → gb18030), or None when absent or unknown.
    """
    name = _text_codec(html_body_declared_encoding(head[:4096]))
    # WHATWG: a <meta> can only declare an ASCII-compatible encoding; utf-16/32 there means utf-8.
    if name and name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return name


def _decodes(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_body(body: bytes, content_type: str | None) -> Decoded:
    """Decode ``body`` (the bytes of a response) given its Content-Type header value."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding and bom:
        # WHATWG: the BOM overrides every declaration; a browser shows its errors as U+FFFD.
        return Decoded(body[len(bom):].decode(bom_encoding, errors="replace"), bom_encoding, "bom")

    has_non_ascii = not body.isascii()
    candidates: list[tuple[str, str]] = []
    declared = [(_text_codec(http_content_type_encoding(content_type)), "header"),
                (sniff_meta_charset(body), "meta")]
    weak = []
    for name, source in declared:
        if name is None:
            continue
        (weak if has_non_ascii and name in _WEAK else candidates).append((name, source))
    candidates += [("utf-8", "utf-8"), ("gb18030", "gb18030")] + weak

    for name, source in candidates:
        text = _decodes(body, name)
        if text is None:
            continue
        if has_non_ascii and name != "utf-8" and source in ("header", "meta"):
            # Non-ASCII text that is valid UTF-8 is UTF-8 whatever the label says: GB18030 accepts
            # most UTF-8 byte runs as (wrong) characters, so a strict decode alone cannot catch it.
            utf8 = _decodes(body, "utf-8")
            if utf8 is not None:
                return Decoded(utf8, "utf-8", "utf-8")
        return Decoded(text, codecs.lookup(name).name, source)

    # Nothing decodes cleanly: the candidate that loses the fewest bytes, the earliest on a tie.
    decoded = [(body.decode(name, errors=_errors(name)), name, source) for name, source in candidates]
    text, name, source = min(decoded, key=lambda item: item[0].count("\ufffd"))
    return Decoded(text, codecs.lookup(name).name, source)


def _errors(name: str) -> str:
    # w3lib's handler decodes a lone 0x80 as the euro sign, as the WHATWG GB18030 decoder does.
    return "w3lib_gb18030_replace" if codecs.lookup(name).name == "gb18030" else "replace"

