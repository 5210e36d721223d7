"""Fault matrix, network and crawl traps: a site that answers badly, slowly or endlessly is recorded,
named in the log with site and URL, bounded, and the run completes."""

from __future__ import annotations

import socket
import struct
import threading
import time

from sqlalchemy import select

from govaudit.models import CrawlRun, FindingRecord, Page, Probe
from tests.mockserver import MockServer, Reply
from tests.test_crawler import crawl, edited, page, rows, write_config


def with_raw_paths(server: MockServer, raw: dict) -> None:
    """Paths answered by hand on the socket (reset, hang, drip); the others by the mock server."""
    original = server.httpd.RequestHandlerClass.do_GET

    def do_get(handler) -> None:
        action = raw.get(handler.path.split("?")[0])
        if action is None:
            return original(handler)
        return action(handler)

    server.httpd.RequestHandlerClass.do_GET = do_get


def reset(handler) -> None:
    """Close with an RST: the peer sees 'connection reset by peer'."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def hang(stop: threading.Event):
    def action(handler) -> None:
        stop.wait(30)
        handler.close_connection = True
    return action


def drip(stop: threading.Event):
    """Headers at once, then a byte every half second: never a whole page within the timeout."""
    def action(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        try:
            while not stop.wait(0.5):
                handler.wfile.write(b" ")
                handler.wfile.flush()
        except OSError:
            pass
        handler.close_connection = True
    return action


def fast(config, *extra: tuple[str, str]) -> str:
    """The test config with a 2 s timeout and quick rechecks (and further edits)."""
    text = edited(config, "timeout: 5, recheck_delay: 0.2}", "timeout: 2, recheck_delay: 0.1}")
    for old, new in extra:
        assert old in text
        text = text.replace(old, new)
    config.write_text(text, encoding="utf-8")
    return config


def findings(factory, check: str | None = None) -> list[FindingRecord]:
    with factory() as session:
        query = select(FindingRecord)
        if check:
            query = query.where(FindingRecord.check == check)
        return list(session.scalars(query))


def run_stats(factory, result) -> dict:
    with factory() as session:
        return session.get(CrawlRun, result.runs[0].id).stats


def test_error_statuses_are_stored_logged_with_site_and_url_and_each_reported_once(tmp_path):
    statuses = (404, 410, 500, 502, 503)
    plain = {"Content-Type": "text/plain"}
    routes = {"/": Reply(page("".join(f'<a href="/s{code}.html">链接{code}</a>' for code in statuses)
                              + '<a href="/busy.html">繁忙</a>'))}
    routes |= {f"/s{code}.html": Reply("error", status=code, headers=plain) for code in statuses}
    routes["/busy.html"] = Reply("busy", status=503, headers=plain | {"Retry-After": "0"})
    with MockServer(routes) as server:
        result, factory = crawl(tmp_path, write_config(tmp_path, server))
        assert result.runs[0].status == "completed"
        pages = {p.url: p.status for p in rows(factory, Page)}
        for code in statuses:
            assert pages[server.url(f"/s{code}.html")] == code
        assert pages[server.url("/busy.html")] == 503
        log = result.logs["mock"].read_text(encoding="utf-8")
        for code in statuses:
            assert f"mock: {server.url(f'/s{code}.html')}: HTTP {code}" in log
        broken = sorted(f.url for f in findings(factory, "AV02"))
        assert broken == sorted([server.url(f"/s{code}.html") for code in statuses] + [server.url("/busy.html")])
        # A 404 is not transient: asked once; a Retry-After 503 is waited for, not hammered without end.
        assert server.hits["/s404.html"] == 1
        assert server.hits["/busy.html"] <= 6


def test_a_connection_reset_a_hanging_and_a_dripping_page_become_stored_errors(tmp_path):
    stop = threading.Event()
    routes = {"/": Reply(page('<a href="/reset">重置</a><a href="/hang">无响应</a><a href="/drip">慢速</a>'
                              '<a href="/ok.html">正常</a>')),
              "/ok.html": Reply(page("<p>正常</p>", "正常页面"))}
    with MockServer(routes) as server:
        with_raw_paths(server, {"/reset": reset, "/hang": hang(stop), "/drip": drip(stop)})
        started = time.monotonic()
        try:
            result, factory = crawl(tmp_path, fast(write_config(tmp_path, server)))
        finally:
            stop.set()
        assert time.monotonic() - started < 40
        assert result.runs[0].status == "completed"
        errors = {p.url: p.error for p in rows(factory, Page)}
        assert errors[server.url("/reset")] == "connection lost"
        assert errors[server.url("/hang")] == "timeout"
        assert errors[server.url("/drip")] == "timeout"
        assert errors[server.url("/ok.html")] is None
        log = result.logs["mock"].read_text(encoding="utf-8")
        for path, reason in (("/reset", "connection lost"), ("/hang", "timeout"), ("/drip", "timeout")):
            assert f"mock: {server.url(path)}: {reason}" in log
        assert sorted(f.url for f in findings(factory, "AV02")) == sorted(
            server.url(p) for p in ("/reset", "/hang", "/drip"))


def test_a_tls_error_on_the_service_host_is_a_probe_error_named_in_the_log(tmp_path):
    # The service host speaks plain HTTP where the link says https: the TLS handshake fails.
    with MockServer({"/item/1": Reply(page("办事指南"))}) as service:
        target = f"https://{service.host}/item/1"
        with MockServer({"/": Reply(page(f'<a href="{target}">在线办理</a>'))}) as server:
            result, factory = crawl(tmp_path, fast(write_config(tmp_path, server, service=service)))
            assert result.runs[0].status == "completed"
            [probe] = rows(factory, Probe)
            assert (probe.url, probe.kind, probe.status, probe.error) == (target, "service", None, "TLS error")
            log = result.logs["mock"].read_text(encoding="utf-8")
            assert f"mock: {target}: TLS error" in log


def test_a_dns_failure_is_described_in_plain_words():
    from scrapy import Request
    from twisted.internet.error import DNSLookupError
    from twisted.python.failure import Failure

    from crawler.spiders.portal import describe_failure

    failure = Failure(DNSLookupError("no such host: gone.example.gov.cn"))
    failure.request = Request("http://gone.example.gov.cn/")
    assert describe_failure(failure) == "DNS lookup failed"


def test_a_redirect_loop_is_stored_as_an_error_of_its_page_not_as_robots_blocked(tmp_path):
    routes = {"/": Reply(page('<a href="/loop-a">循环</a>')),
              "/loop-a": Reply("", status=302, headers={"Location": "/loop-b"}),
              "/loop-b": Reply("", status=302, headers={"Location": "/loop-a"})}
    with MockServer(routes) as server:
        result, factory = crawl(tmp_path, fast(write_config(tmp_path, server)))
        assert result.runs[0].status == "completed"
        [loop] = rows(factory, Page, Page.url == server.url("/loop-a"))
        assert loop.error == "too many redirects"
        assert run_stats(factory, result)["robots_blocked"] == 0
        log = result.logs["mock"].read_text(encoding="utf-8")
        assert log.count(f"mock: {server.url('/loop-a')}: too many redirects") == 1
        assert server.hits["/loop-a"] <= 12  # bounded by REDIRECT_MAX_TIMES, fetched again at most once more


def test_a_redirect_chain_to_another_host_is_recorded_and_that_host_is_not_crawled(tmp_path):
    with MockServer({"/landing": Reply(page('<a href="/deeper.html">更多</a>', "外站")),
                     "/deeper.html": Reply(page("外站内页"))}) as other:
        routes = {"/": Reply(page('<a href="/moved">已迁移</a>')),
                  "/moved": Reply("", status=301, headers={"Location": "/moved-again"}),
                  "/moved-again": Reply("", status=302, headers={"Location": other.url("/landing")})}
        with MockServer(routes) as server:
            result, factory = crawl(tmp_path, fast(write_config(tmp_path, server)))
            assert result.runs[0].status == "completed"
            [moved] = rows(factory, Page, Page.url == server.url("/moved"))
            assert (moved.status, moved.final_url) == (200, other.url("/landing"))
            assert other.hits.get("/landing") == 1 and "/deeper.html" not in other.hits


def test_a_redirect_to_a_private_or_unspecified_address_is_refused(tmp_path):
    # 0.0.0.0 reaches this machine; it stands for any address a site must not send the crawler to.
    with MockServer({"/admin": Reply(page("内网"))}) as inside:
        target = f"http://0.0.0.0:{inside.httpd.server_address[1]}/admin"
        routes = {"/": Reply(page('<a href="/jump">跳转</a>')),
                  "/jump": Reply("", status=302, headers={"Location": target})}
        with MockServer(routes) as server:
            result, factory = crawl(tmp_path, fast(write_config(tmp_path, server)))
            assert result.runs[0].status == "completed"
            assert inside.hits == {}
            [jump] = rows(factory, Page, Page.url == server.url("/jump"))
            assert jump.error == "refused: a private or reserved address"
            log = result.logs["mock"].read_text(encoding="utf-8")
            assert f"mock: {server.url('/jump')}: refused: a private or reserved address" in log


def test_a_calendar_with_endless_next_month_links_is_bounded_and_reported_once(tmp_path):
    def calendar(month: int) -> str:
        return page(f'<a href="/cal?month={month + 1}">下月</a><a href="/cal?month={month - 1}">上月</a>')

    class Calendar(dict):
        def get(self, path, default=None):
            if path.startswith("/cal?month="):
                return Reply(calendar(int(path.split("=")[1])))
            return super().get(path, default)

    routes = Calendar({"/": Reply(page('<a href="/cal?month=0">日历</a>'))})
    with MockServer(routes) as server:
        config = fast(write_config(tmp_path, server), ("recheck_delay: 0.1}", "recheck_delay: 0.1, depth: 50, "
                                                                               "query_variants: 10}"))
        result, factory = crawl(tmp_path, config)
        assert result.runs[0].status == "completed"
        calendar_hits = [path for path in server.hits if path.startswith("/cal")]
        assert len(calendar_hits) == 10
        stats = run_stats(factory, result)
        assert stats["truncated"] is True and stats["capped_paths"] == [server.url("/cal")]
        log = result.logs["mock"].read_text(encoding="utf-8")
        assert log.count(f"mock: {server.url('/cal')}: more than 10 query variants") == 1


def test_session_ids_in_urls_do_not_make_one_page_many(tmp_path):
    def with_session(count: int) -> Reply:
        # Every answer hands out a fresh session id, as old Java and PHP CMSs do.
        return Reply(page(f'<a href="/art/1.html;jsessionid=A{count}">文章</a>'
                          f'<a href="/list.jsp?id=7&PHPSESSID=B{count}">列表</a>'
                          f'<a href="/list.jsp?sid={count:032x}&id=7">列表</a>'))

    routes = {"/": with_session, "/art/1.html": with_session, "/list.jsp?id=7": with_session}
    with MockServer(routes) as server:
        result, factory = crawl(tmp_path, fast(write_config(tmp_path, server)))
        assert result.runs[0].status == "completed"
        assert sorted(p.url for p in rows(factory, Page)) == sorted(
            server.url(p) for p in ("/", "/art/1.html", "/list.jsp?id=7"))
        assert server.hits["/art/1.html"] == 1 and server.hits["/list.jsp?id=7"] == 1
