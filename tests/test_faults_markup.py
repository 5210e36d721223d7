"""Fault matrix, markup and encodings: pages that are broken, huge, binary, empty or in another
encoding are stored as they are, named in the log, and the crawl of the site goes on."""

from __future__ import annotations

import datetime as dt

import pytest

from govaudit.models import Column, CrawlRun, Document, Listing, Page
from tests.mockserver import MockServer, Reply
from tests.test_crawler import crawl, page, rows, write_config
from tests.test_faults_network import with_raw_paths

HTML = {"Content-Type": "text/html"}
BIG = 21 * 1024 * 1024  # past the 20 MB the crawler loads of one page

MARKUP = {
    "/malformed.html": Reply("<html><head><title>标签错乱的页面</title><body><div><p>正文<table><tr><td>甲</div>"
                             "</span></b><p>乙<a href=/after-malformed.html>后<td></html></html><p>丙"),
    "/after-malformed.html": Reply(page("<p>错乱页面之后</p>", "错乱之后")),
    "/truncated.html": Reply('<html><head><meta charset="utf-8"><title>截断的页面</title></head><body><ul><li>'
                             '<a href="/after-truncation.html">后'),
    "/nested.html": Reply(page("<table><tr><td><table><tr><td><table class='xxgk'>"
                               "<tr><td>索引号：</td><td>000014349/2026-00042</td><td>发布机构：</td><td>县政府办公室</td></tr>"
                               "<tr><td>成文日期：</td><td>2026年6月9日</td><td>发布日期：</td><td>2026-06-10</td></tr>"
                               "</table></td></tr></table></td></tr></table><p>正文</p>", "嵌套表格的文件")),
    "/big.html": Reply(b"<html><body>" + b" " * BIG + b"</body></html>"),
    "/binary.html": Reply(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64, headers=HTML),
    "/empty.html": Reply(b"", headers=HTML),
    "/after-truncation.html": Reply(page("<p>截断页面之后</p>", "截断之后")),
}



def streamed(chunked: bool):
    """Over 20 MB with no Content-Length: chunked, or delimited by closing the connection. The crawler
    learns the size only while it reads, so the cap must hold as the bytes arrive."""
    def action(handler) -> None:
        HITS[handler.path] = HITS.get(handler.path, 0) + 1
        if chunked:
            handler.protocol_version = "HTTP/1.1"
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Transfer-Encoding" if chunked else "Connection", "chunked" if chunked else "close")
        handler.end_headers()
        block = b"<p>" + "很长的页面".encode() * 4000 + b"</p>\n"
        try:
            for data in (b"<html><body>", *(block for _ in range(BIG // len(block) + 1))):
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            if chunked:
                handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the crawler hung up at its cap: what it should do
        handler.close_connection = True
    return action


HITS: dict[str, int] = {}
STREAMED = {"/streamed.html": streamed(chunked=False), "/chunked.html": streamed(chunked=True)}

ENCODED = "兴国县人民政府信息公开"
ENCODINGS = {
    # path: (body bytes, Content-Type)
    "/gbk-bare.html": (f"<html><head><title>{ENCODED}（GBK）</title></head><body>政务公开</body></html>"
                       .encode("gbk"), "text/html"),
    "/gb2312-meta.html": (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
                          f"<title>{ENCODED}（GB2312）</title></head><body>政务公开</body></html>".encode("gb2312"),
                          "text/html"),
    "/gb18030-header.html": (f"<html><head><title>{ENCODED}（GB18030 䶮）</title></head><body>政务</body></html>"
                             .encode("gb18030"), "text/html; charset=GB18030"),
    "/wrong-header.html": (f"<html><head><title>{ENCODED}（错标）</title></head><body>政务公开</body></html>"
                           .encode("gbk"), "text/html; charset=utf-8"),
    "/bom.html": (("\ufeff" + f"<html><head><title>{ENCODED}（BOM）</title></head><body>政务公开</body></html>")
                  .encode("utf-8"), "text/html; charset=gbk"),
    "/mojibake.html": ("<html><head><title>联通</title></head><body>联通</body></html>".encode("gbk"), "text/html"),
}
TITLES = {"/gbk-bare.html": f"{ENCODED}（GBK）", "/gb2312-meta.html": f"{ENCODED}（GB2312）",
          "/gb18030-header.html": f"{ENCODED}（GB18030 䶮）", "/wrong-header.html": f"{ENCODED}（错标）",
          "/bom.html": f"{ENCODED}（BOM）", "/mojibake.html": "联通"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One crawl of a site that has every kind of odd page (a crawl costs seconds; the rows share it)."""
    tmp_path = tmp_path_factory.mktemp("markup")
    links = "".join(f'<a href="{path}">{path}</a>' for path in [*MARKUP, *ENCODINGS, *STREAMED]
                    if not path.startswith("/after-"))
    full_width = page('<ul class="list"><li><a href="/art/fw.html">全角日期的通知</a><span>２０２６－０６－１０</span></li>'
                      '<li><a href="/art/fw2.html">全角年月日的通知</a><span>２０２６年６月８日</span></li></ul>', "通知公告")
    routes = {"/": Reply(page(f'<div class="nav"><a href="/">首页</a><a href="/col/notice/">通知公告</a></div>{links}')),
              "/col/notice/": Reply(full_width),
              "/art/fw.html": Reply(page("<p>正文</p>")), "/art/fw2.html": Reply(page("<p>正文</p>"))}
    routes |= MARKUP
    routes |= {path: Reply(body, headers={"Content-Type": kind}) for path, (body, kind) in ENCODINGS.items()}
    with MockServer(routes) as server:
        with_raw_paths(server, STREAMED)
        column = f'    columns:\n      - {{name: 通知公告, url: "{server.url("/col/notice/")}", category: notice}}\n'
        result, factory = crawl(tmp_path, write_config(tmp_path, server, columns=column))
        yield server, result, factory


def pages_of(site) -> dict[str, Page]:
    server, _, factory = site
    return {p.url.removeprefix(f"http://{server.host}"): p for p in rows(factory, Page)}


def test_the_run_completes_whatever_the_pages_are(site):
    _, result, factory = site
    assert result.runs[0].status == "completed"
    with factory() as session:
        assert session.get(CrawlRun, result.runs[0].id).stats["pages"] >= len(MARKUP) + len(ENCODINGS)


def test_malformed_html_is_read_and_its_links_followed(site):
    pages = pages_of(site)
    assert (pages["/malformed.html"].title, pages["/after-malformed.html"].title) == ("标签错乱的页面", "错乱之后")


def test_truncated_html_is_read_and_its_links_followed(site):
    pages = pages_of(site)
    assert (pages["/truncated.html"].status, pages["/truncated.html"].title) == (200, "截断的页面")
    assert pages["/after-truncation.html"].title == "截断之后"


def test_a_metadata_table_nested_in_layout_tables_is_read(site):
    server, _, factory = site
    [doc] = rows(factory, Document, Document.url == server.url("/nested.html"))
    assert (doc.index_number, doc.published_date) == ("000014349/2026-00042", dt.date(2026, 6, 10))


def test_a_page_over_20_mb_is_not_loaded_and_is_reported_with_site_and_url(site):
    server, result, _ = site
    big = pages_of(site)["/big.html"]
    assert (big.status, big.error) == (None, "response too large or cancelled")
    log = result.logs["mock"].read_text(encoding="utf-8")
    assert f"mock: {server.url('/big.html')}: response too large or cancelled" in log


@pytest.mark.parametrize("path", list(STREAMED))
def test_a_page_over_20_mb_without_content_length_is_capped_as_it_arrives(site, path):
    server, result, factory = site
    streamed_page = pages_of(site)[path]
    assert (streamed_page.status, streamed_page.error) == (None, "response too large or cancelled")
    log = result.logs["mock"].read_text(encoding="utf-8")
    assert f"mock: {server.url(path)}: response too large or cancelled" in log
    # Capped and gone on: the pages linked after it were crawled, the run completed.
    assert pages_of(site)["/mojibake.html"].title == "联通" and result.runs[0].status == "completed"
    assert HITS[path] == 1  # not fetched again: the cap is not a transient failure


def test_binary_served_as_html_is_stored_without_a_title_or_a_document(site):
    server, _, factory = site
    binary = pages_of(site)["/binary.html"]
    assert (binary.status, binary.title) == (200, None)
    assert rows(factory, Document, Document.url == server.url("/binary.html")) == []


def test_an_empty_200_answer_is_stored_as_an_empty_page(site):
    empty = pages_of(site)["/empty.html"]
    assert (empty.status, empty.size, empty.title, empty.error) == (200, 0, None, None)


@pytest.mark.parametrize("path", list(ENCODINGS))
def test_chinese_encodings_with_or_without_declarations_give_the_right_title(site, path):
    assert pages_of(site)[path].title == TITLES[path]


def test_mixed_encodings_on_one_site_are_each_decoded_by_their_own_page(site):
    encodings = {path: pages_of(site)[path].encoding for path in ("/", "/gbk-bare.html", "/bom.html")}
    assert encodings == {"/": "utf-8", "/gbk-bare.html": "gb18030", "/bom.html": "utf-8"}


def test_full_width_digits_in_list_dates_are_read(site):
    server, _, factory = site
    [column] = rows(factory, Column, Column.name == "通知公告")
    dates = {e.title: e.date for e in rows(factory, Listing, Listing.column_url == column.url)}
    assert dates == {"全角日期的通知": dt.date(2026, 6, 10), "全角年月日的通知": dt.date(2026, 6, 8)}
