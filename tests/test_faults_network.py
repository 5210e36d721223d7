"""Fault matrix, network and crawl traps: a site that answers badly, slowly or endlessly is recorded,
named in the log with site and URL, bounded, and the run completes."""

from __future__ import annotations

import socket
import struct
import threading

import pytest
from sqlalchemy import select

from govaudit.models import CrawlRun, FindingRecord, Link, Page, Probe
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


STATUSES = (404, 410, 500, 502, 503)
# RFC 6761: a name that never resolves; crawler.resolver fails it without sending a query.
GONE = "http://gone.example.invalid/page.html"
PLAIN = {"Content-Type": "text/plain"}


class Routes(dict):
    """Fixed routes, and a calendar whose every month links the next and the one before."""

    def get(self, path, default=None):
        if path.startswith("/cal?month="):
            month = int(path.split("=")[1])
            return Reply(page(f'<a href="/cal?month={month + 1}">下月</a><a href="/cal?month={month - 1}">上月</a>'))
        return super().get(path, default)


def with_session(count: int) -> Reply:
    # Every answer hands out a fresh session id, as old Java and PHP CMSs do.
    return Reply(page(f'<a href="/art/1.html;jsessionid=A{count}">文章</a>'
                      f'<a href="/list.jsp?id=7&PHPSESSID=B{count}">列表</a>'
                      f'<a href="/list.jsp?sid={count:032x}&id=7">列表</a>'))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One crawl of a site with every kind of bad answer and trap (a crawl costs seconds; rows share it)."""
    tmp_path = tmp_path_factory.mktemp("network")
    stop = threading.Event()
    with MockServer({"/item/1": Reply(page("办事指南")), "/landing": Reply(page('<a href="/deeper.html">更多</a>')),
                     "/deeper.html": Reply(page("外站内页")), "/admin": Reply(page("内网"))}) as other:
        links = [f"/s{code}.html" for code in STATUSES] + [
            "/busy.html", "/reset", "/hang", "/drip", "/ok.html", "/loop-a", "/moved", "/jump", "/cal?month=0",
            "/sessions.html", f"https://{other.host}/item/1", GONE]
        routes = Routes({"/": Reply(page("".join(f'<a href="{link}">{link}</a>' for link in links))),
                         "/ok.html": Reply(page("<p>正常</p>", "正常页面")),
                         "/busy.html": Reply("busy", status=503, headers=PLAIN | {"Retry-After": "0"}),
                         "/loop-a": Reply("", status=302, headers={"Location": "/loop-b"}),
                         "/loop-b": Reply("", status=302, headers={"Location": "/loop-a"}),
                         "/moved": Reply("", status=301, headers={"Location": "/moved-again"}),
                         "/moved-again": Reply("", status=302, headers={"Location": other.url("/landing")}),
                         # 0.0.0.0 reaches this machine; it stands for any address a site must not send
                         # the crawler to.
                         "/jump": Reply("", status=302, headers={
                             "Location": f"http://0.0.0.0:{other.httpd.server_address[1]}/admin"}),
                         "/sessions.html": with_session, "/art/1.html": with_session, "/list.jsp?id=7": with_session})
        routes |= {f"/s{code}.html": Reply("error", status=code, headers=PLAIN) for code in STATUSES}
        with MockServer(routes) as server:
            with_raw_paths(server, {"/reset": reset, "/hang": hang(stop), "/drip": drip(stop)})
            config = fast(write_config(tmp_path, server, service=other),
                          ("recheck_delay: 0.1}", "recheck_delay: 0.1, depth: 50, query_variants: 10}"))
            try:
                result, factory = crawl(tmp_path, config)
            finally:
                stop.set()
            yield server, other, result, factory


def pages_of(site) -> dict[str, Page]:
    server, _, _, factory = site
    return {p.url.removeprefix(f"http://{server.host}"): p for p in rows(factory, Page)}


def log_of(site) -> str:
    return site[2].logs["mock"].read_text(encoding="utf-8")


def test_the_run_completes_whatever_the_site_answers(site):
    assert site[2].runs[0].status == "completed"


def test_error_statuses_are_stored_logged_with_site_and_url_and_each_reported_once(site):
    server, _, _, factory = site
    pages = pages_of(site)
    for code in STATUSES:
        assert pages[f"/s{code}.html"].status == code
        assert f"mock: {server.url(f'/s{code}.html')}: HTTP {code}" in log_of(site)
    broken = [f.url for f in findings(factory, "AV02")]
    for path in [f"/s{code}.html" for code in STATUSES]:
        assert broken.count(server.url(path)) == 1
    assert server.hits["/s404.html"] == 1  # not transient: asked once


def test_a_503_with_retry_after_is_waited_for_but_not_hammered(site):
    server, _, _, factory = site
    assert pages_of(site)["/busy.html"].status == 503
    assert [f.url for f in findings(factory, "AV02")].count(server.url("/busy.html")) == 1
    # Twice Retry-After, then the second look after the crawl (again twice): no stock retries on top.
    assert server.hits["/busy.html"] == 6


@pytest.mark.parametrize(("path", "reason"), [("/reset", "connection lost"), ("/hang", "timeout"),
                                              ("/drip", "timeout")])
def test_a_reset_a_hanging_or_a_dripping_page_is_a_stored_error_named_in_the_log(site, path, reason):
    server, _, _, factory = site
    assert pages_of(site)[path].error == reason
    assert f"mock: {server.url(path)}: {reason}" in log_of(site)
    assert [f.url for f in findings(factory, "AV02")].count(server.url(path)) == 1


def test_a_tls_error_on_the_service_host_is_a_probe_error_named_in_the_log(site):
    # The service host speaks plain HTTP where the link says https: the TLS handshake fails.
    _, other, _, factory = site
    target = f"https://{other.host}/item/1"
    [probe] = rows(factory, Probe, Probe.url == target)
    assert (probe.kind, probe.status, probe.error) == ("service", None, "TLS error")
    assert f"mock: {target}: TLS error" in log_of(site)


def test_a_dns_failure_is_described_in_plain_words_naming_the_host():
    from scrapy import Request
    from twisted.internet.error import DNSLookupError
    from twisted.python.failure import Failure

    from checks.common import outcome
    from crawler.spiders.portal import describe_failure

    failure = Failure(DNSLookupError("no such host: gone.example.gov.cn"))
    failure.request = Request("http://gone.example.gov.cn/")
    assert describe_failure(failure) == "DNS lookup failed: gone.example.gov.cn"
    assert outcome(None, "DNS lookup failed: gone.example.gov.cn") == "域名 gone.example.gov.cn 无法解析"
    assert outcome(None, "DNS lookup failed") == "域名解析失败"


def test_a_linked_host_that_does_not_resolve_is_a_stored_error_a_log_line_and_a_finding(site):
    server, _, _, factory = site
    [probe] = rows(factory, Probe, Probe.url == GONE)
    assert (probe.kind, probe.status, probe.error) == ("external", None, "DNS lookup failed: gone.example.invalid")
    [link] = rows(factory, Link, Link.to_url == GONE)
    assert link.error == "DNS lookup failed: gone.example.invalid"
    assert f"mock: {GONE}: DNS lookup failed: gone.example.invalid" in log_of(site)
    [finding] = [f for f in findings(factory, "AV02") if f.url == GONE]
    assert finding.message == f"首页链接“{GONE}”无法访问（域名 gone.example.invalid 无法解析）：{GONE}"


def test_reserved_names_fail_without_a_dns_query(monkeypatch):
    """.invalid never reaches the system resolver (no packet leaves the machine); other names do."""
    import socket as socket_module

    from twisted.internet import reactor
    from twisted.internet.error import DNSLookupError

    from crawler.resolver import ReservedNameResolver

    asked = []

    def getaddrinfo(*args, **kwargs):
        asked.append(args[0])
        raise socket_module.gaierror(socket_module.EAI_NONAME, "no")

    monkeypatch.setattr(socket_module, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket_module, "gethostbyname", lambda name: getaddrinfo(name))
    resolver = ReservedNameResolver(reactor, 0, 5)
    failures = []
    resolver.getHostByName("gone.example.INVALID.").addErrback(failures.append)
    assert asked == [] and len(failures) == 1 and failures[0].check(DNSLookupError)
    assert "gone.example.INVALID." in str(failures[0].value)


def test_a_redirect_loop_is_stored_as_an_error_of_its_page_not_as_robots_blocked(site):
    server, _, result, factory = site
    assert pages_of(site)["/loop-a"].error == "too many redirects"
    assert run_stats(factory, result)["robots_blocked"] == 0
    assert log_of(site).count(f"mock: {server.url('/loop-a')}: too many redirects") == 1
    assert server.hits["/loop-a"] <= 6  # bounded by REDIRECT_MAX_TIMES, not fetched again


def test_a_redirect_chain_to_another_host_is_recorded_and_that_host_is_not_crawled(site):
    _, other, _, _ = site
    moved = pages_of(site)["/moved"]
    assert (moved.status, moved.final_url) == (200, other.url("/landing"))
    assert other.hits.get("/landing") == 1 and "/deeper.html" not in other.hits


def test_a_redirect_to_a_private_or_unspecified_address_is_refused(site):
    server, other, _, _ = site
    assert "/admin" not in other.hits
    assert pages_of(site)["/jump"].error == "refused: a private or reserved address"
    assert f"mock: {server.url('/jump')}: refused: a private or reserved address" in log_of(site)


def test_a_calendar_with_endless_next_month_links_is_bounded_and_reported_once(site):
    server, _, result, factory = site
    assert len([path for path in server.hits if path.startswith("/cal")]) == 10
    stats = run_stats(factory, result)
    assert stats["truncated"] is True and stats["capped_paths"] == [server.url("/cal")]
    assert log_of(site).count(f"mock: {server.url('/cal')}: more than 10 query variants") == 1


def test_session_ids_in_urls_do_not_make_one_page_many(site):
    server, _, _, _ = site
    pages = pages_of(site)
    assert sorted(path for path in pages if "art/" in path or "list.jsp" in path) == ["/art/1.html", "/list.jsp?id=7"]
    assert server.hits["/art/1.html"] == 1 and server.hits["/list.jsp?id=7"] == 1
