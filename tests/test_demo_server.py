"""The demo portal: servers on free loopback ports, dated pages, GB18030 bytes, planted failures, and a
config and ground truth that match what is served."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
import socket
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

import pytest

from demo.server import PORTAL_DIR, serve_demo, today_in_china
from govaudit.config import parse_config
from tests.conftest import ANCHOR

CHECKS = {"AV01", "AV02", "AV03", "UP01", "UP02", "UP03", "UP04", "UP05",
          "MD01", "MD02", "MD03", "MD04", "MD05", "AR01", "AR02", "AR03", "AR04", "AR05", "AR06",
          "LK01", "IN01", "IN02", "NM01", "NM02", "SC01", "SC02", "SC03", "ID01", "ID02"}


def fetch(url: str, method: str = "GET", form: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request (a form body is sent urlencoded), redirects not followed."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                     body=form.encode() if form is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and not href.startswith(("javascript:", "#", "mailto:")):
            self.hrefs.append(href)


def crawl(portal, role: str) -> tuple[dict[str, int | None], dict[str, set[str]]]:
    """Every page of a role reachable from its home page, as a polite crawler sees it: robots.txt's
    /internal/ is not fetched. Returns target -> status (None: refused) and target -> linking pages."""
    home = portal.url(role)
    host = urlsplit(home).netloc
    status: dict[str, int | None] = {}
    sources: dict[str, set[str]] = {}
    queue = [home]
    while queue:
        url = queue.pop()
        if url in status:
            continue
        try:
            code, headers, body = fetch(url)
        except ConnectionRefusedError:
            status[url] = None
            continue
        if code in (301, 302):
            # Where it lands counts; what the landing page links is read from there, not from here.
            code = fetch(urljoin(url, headers["location"]))[0]
            queue.append(urljoin(url, headers["location"]))
        status[url] = code
        if (urlsplit(url).netloc != host or code != 200 or "location" in headers
                or not headers["content-type"].startswith("text/html")):
            continue
        parser = _Hrefs()
        parser.feed(body.decode("gb18030" if role == "gbk" else "utf-8"))
        for href in parser.hrefs:
            target = urljoin(url, href)
            sources.setdefault(target, set()).add(url)
            if not urlsplit(target).path.startswith("/internal/"):
                queue.append(target)
    return status, sources


def test_servers_listen_on_their_own_free_loopback_ports(demo_portal):
    assert set(demo_portal.hosts) == {"main", "gbk", "service", "down", "dead", "jcms", "trs", "outside", "media"}
    ports = [int(host.rsplit(":", 1)[1]) for host in demo_portal.hosts.values()]
    assert all(host.startswith("127.0.0.1:") for host in demo_portal.hosts.values())
    assert len(set(ports)) == 9 and 0 not in ports
    assert demo_portal.anchor == ANCHOR
    assert demo_portal.url("main", "/zwgk/index.html") == f"http://{demo_portal.hosts['main']}/zwgk/index.html"


def test_default_anchor_is_today_in_china():
    with serve_demo() as portal:
        assert portal.anchor == today_in_china()


def test_home_page_dates_are_relative_to_the_anchor(demo_portal):
    status, headers, body = fetch(demo_portal.url("main"))
    text = body.decode("utf-8")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert "<span class=\"date\">2026-06-14</span>" in text  # {{d:-1}}
    assert "[06-13]" in text  # {{d:-2:md}}
    assert "2026/6/11" in text  # {{d:-4:slash}}
    assert f"http://{demo_portal.hosts['service']}/item/101" in text
    assert "{{" not in text


def test_every_page_file_renders_with_its_placeholders_filled(demo_portal):
    rendered = 0
    for role in ("main", "gbk", "service", "jcms", "trs", "media"):
        for file in (PORTAL_DIR / role).rglob("*"):
            if file.suffix in (".html", ".txt", ".js", ".json") and not file.relative_to(
                    PORTAL_DIR / role).parts[0].startswith("_"):
                text = demo_portal.renderer.render(role, file.read_text(encoding="utf-8"))
                assert "{{" not in text and "}}" not in text, file
                rendered += 1
    assert rendered > 120


def test_gbk_site_sends_gb18030_bytes_without_a_charset_header(demo_portal):
    status, headers, body = fetch(demo_portal.url("gbk"))
    assert status == 200 and headers["content-type"] == "text/html"
    assert "工作动态" in body.decode("gb18030")
    assert b'<meta charset="gbk">' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    # A list page that declares no charset anywhere: only sniffing can read it.
    status, headers, body = fetch(demo_portal.url("gbk", "/gzdt/index.html"))
    assert status == 200 and headers["content-type"] == "text/html" and b"charset" not in body.lower()
    assert "县市场监管局开展食品安全专项检查" in body.decode("gb18030")


def test_missing_paths_are_404_and_the_down_site_is_503(demo_portal):
    assert fetch(demo_portal.url("main", "/no/such/page.html"))[0] == 404
    assert fetch(demo_portal.url("main", "/_inc/header.html"))[0] == 404  # fragments are not pages
    assert fetch(demo_portal.url("main", "/zwgk/yjgl/index.html"))[0] == 404
    assert fetch(demo_portal.url("down"))[0] == 503
    assert fetch(demo_portal.url("down", "/robots.txt"))[0] == 503
    assert fetch(demo_portal.url("gbk", "/cms/oldpage.jsp?id=52"))[0] == 500


def test_dead_host_refuses_connections(demo_portal):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", demo_portal.port("dead")), timeout=5).close()


def test_redirects_go_to_the_home_page_and_to_the_service_search(demo_portal):
    status, headers, _ = fetch(demo_portal.url("main", "/zwgk/sthj/index.html"))
    assert status == 302 and headers["location"] == "/"
    status, headers, _ = fetch(demo_portal.url("service", "/item/126"))
    assert status == 302 and headers["location"].startswith("/search?keyword=")
    assert fetch(demo_portal.url("service", headers["location"]))[0] == 200
    assert fetch(demo_portal.url("service", "/item/118"))[0] == 404
    status, _, body = fetch(demo_portal.url("service", "/item/130"))
    assert status == 200 and "<title>页面不存在" in body.decode("utf-8")
    assert fetch(demo_portal.url("service", "/item/101"))[0] == 200


def test_robots_txt_keeps_crawlers_out_of_internal_pages_the_home_page_links(demo_portal):
    status, _, body = fetch(demo_portal.url("main", "/robots.txt"))
    assert status == 200 and "Disallow: /internal/" in body.decode("utf-8")
    assert 'href="/internal/oa.html"' in fetch(demo_portal.url("main"))[2].decode("utf-8")


def test_config_text_is_a_valid_sites_file_for_the_running_ports(demo_portal, tmp_path):
    config = parse_config(demo_portal.config_text(), "demo/sites.yml")
    assert [site.id for site in config.sites] == ["demo-county", "demo-dept", "demo-down", "demo-jcms", "demo-trs"]
    county, dept, down, jcms, trs = config.sites
    assert county.url == demo_portal.url("main") and county.kind == "government"
    assert county.allowed_hosts == [demo_portal.hosts["main"]]
    assert all(site.service_hosts == [demo_portal.hosts["service"]] for site in config.sites)
    assert {column.category for column in county.columns} == {
        "news", "notice", "policy", "personnel", "plan", "report", "interaction", "service", "other"}
    assert len({county.column_unit(column) for column in county.columns}) >= 3
    assert "工作动态" not in {column.name for column in dept.columns}  # found in the menu instead
    assert down.columns == [] and down.url == demo_portal.url("down")
    # The CMS-style sites are read as a browser would where their HTML lists nothing.
    assert jcms.render == trs.render == "auto"
    assert jcms.allowed_hosts == [demo_portal.hosts["jcms"]] and trs.allowed_hosts == [demo_portal.hosts["trs"]]
    written = demo_portal.write_config(tmp_path / "demo" / "sites.yml")
    assert parse_config(written.read_text(encoding="utf-8")) == config


def test_ground_truth_covers_every_check_with_the_running_ports(demo_portal):
    truth = demo_portal.ground_truth()
    config = parse_config(demo_portal.config_text())
    assert {entry["check"] for entry in truth} == CHECKS
    ports = {str(demo_portal.port(role)) for role in demo_portal.hosts}
    for entry in truth:
        assert set(entry) == {"check", "site", "url", "severity", "note"}
        assert entry["site"] in {site.id for site in config.sites}
        assert entry["severity"] in {"veto", "major", "minor", "info"}
        assert "{" not in entry["url"] and urlsplit(entry["url"]).port is not None
        assert str(urlsplit(entry["url"]).port) in ports
    # One report may carry several AR03 cells and two AR05 sections (told apart by their keys).
    keys = [(e["check"], e["site"], e["url"]) for e in truth if e["check"] not in ("MD02", "MD05", "AR03", "AR05")]
    assert len(keys) == len(set(keys))


def test_hidden_links_lead_to_the_outside_host_which_answers_and_is_no_site_of_the_config(demo_portal):
    outside = demo_portal.hosts["outside"]
    home = fetch(demo_portal.url("main"))[2].decode("utf-8")
    article = fetch(demo_portal.url("main", "/xwzx/zwyw/content_1006.html"))[2].decode("utf-8")
    assert f'left:-9999px;"><a href="http://{outside}/">' in home
    assert f'<p class="xg-hd"><a href="http://{outside}/dl.html">' in article
    assert fetch(f"http://{outside}/")[0] == 200 and fetch(f"http://{outside}/dl.html")[0] == 200
    config = parse_config(demo_portal.config_text())
    assert all(outside not in site.allowed_hosts + site.service_hosts for site in config.sites)


def test_only_the_planted_links_are_broken(demo_portal):
    truth = demo_portal.ground_truth()
    home = demo_portal.url("main")
    status, sources = crawl(demo_portal, "main")
    broken = {url for url, code in status.items() if code is None or code >= 400}
    from_home = {url for url in broken if home in sources[url]}
    assert from_home == {e["url"] for e in truth if e["check"] == "AV02"}
    internal = {url for url, pages in sources.items()
                if urlsplit(url).netloc == demo_portal.hosts["main"] and pages - {home} and url in status}
    assert broken & internal == {e["url"] for e in truth if e["check"] == "AV03" and e["site"] == "demo-county"}
    assert len(broken & internal) / len(internal) <= 0.05  # AV03 stays per link (minor) on main

    gbk_home = demo_portal.url("gbk")
    status, sources = crawl(demo_portal, "gbk")
    internal = {url for url, pages in sources.items()
                if urlsplit(url).netloc == demo_portal.hosts["gbk"] and pages - {gbk_home}}
    broken = {url for url in internal if status[url] >= 400}
    assert {urlsplit(url).path for url in broken} == {"/cms/oldpage.jsp", "/attach/jcqd.doc"}
    assert not any(gbk_home in sources[url] for url in broken)  # so no AV02 on the department site
    assert len(broken) / len(internal) > 0.05  # one major AV03


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code_valid(code: str) -> bool:
    """GB 11714: the 9th character checks the first eight."""
    check = 11 - sum(int(c, 36) * w for c, w in zip(code[:8], _ORG_WEIGHTS, strict=True)) % 11
    return code[8] == {10: "X", 11: "0"}.get(check, str(check))


def _uscc_valid(code: str) -> bool:
    """GB 32100-2015: the 18th character checks the first seventeen (and characters 9–17 are an org code)."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(code[:17], _USCC_WEIGHTS, strict=True))
    return code[17] == _USCC_CHARS[(31 - total % 31) % 31] and _org_code_valid(code[8:17])


def test_unit_codes_in_index_numbers_are_valid_except_the_planted_one(demo_portal):
    index_number = re.compile(r"\b([0-9A-HJ-NP-RTUWXY]{18}|[0-9A-Z]{9})/\d{4}-\d{5}\b")
    invalid, seen = set(), 0
    # Articles: content_N.html (main, gbk), Hanweb art_C_N.html (jcms), TRS tYYYYMMDD_N.html (trs).
    for role, pattern in (("main", "content_*"), ("gbk", "content_*"), ("jcms", "art_*"), ("trs", "t*_*")):
        for file in (PORTAL_DIR / role).rglob(f"{pattern}.html"):
            text = demo_portal.renderer.render(role, file.read_text(encoding="utf-8"))
            for code in index_number.findall(text):
                seen += 1
                if not (_uscc_valid(code) if len(code) == 18 else _org_code_valid(code)):
                    invalid.add(file.relative_to(PORTAL_DIR).as_posix())
    assert seen > 45
    assert invalid == {"main/zwgk/rsxx/content_6002.html"}


def test_the_seed_pages_unit_code_passes_the_same_check():
    # A real 索引号 (tests the check-digit code above, not the demo).
    assert _uscc_valid("11370100004189314T") and not _uscc_valid("11370100004189314U")


def test_closing_frees_the_ports():
    portal = serve_demo(anchor=dt.date(2024, 6, 28))
    port = portal.port("main")
    portal.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


# --- the CMS-style sites: Hanweb JCMS (jcms) and TRS WCM (trs) ---------------------------------------------

_RECORD_LINK = re.compile(r'<record><!\[CDATA\[\s*<li><a href="([^"]+)"[^>]*>[^<]*</a><span class="bt_time">([^<]+)</span>')
JCMS_FORM = ("col=1&appid=1&webid=3&path=/&columnid={column}&unitid={unit}"
             f"&webname={quote('示范县卫生健康委员会')}&permissiontype=0")


def datastore(portal, column: int) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """A JCMS column page's inline records (link, date) and its jpage settings."""
    status, headers, body = fetch(portal.url("jcms", f"/col/col{column}/index.html"))
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    text = body.decode("utf-8")
    assert '<script type="text/xml"><datastore>' in text
    settings = {key: int(value) for key, value in re.findall(r"(totalRecord|perPage|groupSize): (\d+)", text)}
    return _RECORD_LINK.findall(text), settings


def dataproxy(portal, column: int, first: int, last: int, per: int, method: str = "POST") -> tuple[int, str]:
    query = f"/module/web/jpage/dataproxy.jsp?startrecord={first}&endrecord={last}&perpage={per}"
    form = JCMS_FORM.format(column=column, unit=column + 4000)
    if method == "GET":
        status, headers, body = fetch(portal.url("jcms", f"{query}&{form}"))
    else:
        status, headers, body = fetch(portal.url("jcms", query), "POST", form)
    if status == 200:
        assert headers["content-type"] == "text/xml; charset=utf-8"
    return status, body.decode("utf-8")


def test_jcms_lists_live_in_datastores_and_the_rest_comes_from_the_data_proxy(demo_portal):
    # 通知公告: 6 records, 2 a page, 2 pages a group: the page holds records 1-4, the proxy 5-6.
    inline, settings = datastore(demo_portal, 1202)
    assert settings == {"totalRecord": 6, "perPage": 2, "groupSize": 2} and len(inline) == 4
    status, xml = dataproxy(demo_portal, 1202, 5, 6, 2)
    assert status == 200 and xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<datastore>')
    assert "<nextgroup><![CDATA[<a href=\"/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=3&path=/&columnid=1202" in xml
    rest = _RECORD_LINK.findall(xml)
    assert [link for link, _ in rest] == ["/art/2026/4/16/art_1202_12025.html", "/art/2026/3/12/art_1202_12026.html"]
    assert not {link for link, _ in inline} & {link for link, _ in rest}
    # The proxy serves any slice, also the first group, and GET with the parameters in the query.
    assert _RECORD_LINK.findall(dataproxy(demo_portal, 1202, 1, 4, 2)[1]) == inline
    assert _RECORD_LINK.findall(dataproxy(demo_portal, 1202, 5, 6, 2, method="GET")[1]) == rest


def test_jcms_policy_column_is_fresh_only_past_its_first_group(demo_portal):
    inline, settings = datastore(demo_portal, 1203)
    assert settings == {"totalRecord": 5, "perPage": 2, "groupSize": 2}
    newest_inline = max(dt.date.fromisoformat(date) for _, date in inline)
    assert (ANCHOR - newest_inline).days == 210  # stale by the page alone (policy: 180 days) …
    _, xml = dataproxy(demo_portal, 1203, 5, 6, 2)
    assert [(link, dt.date.fromisoformat(date)) for link, date in _RECORD_LINK.findall(xml)] == [
        ("/art/2026/5/25/art_1203_12035.html", ANCHOR - dt.timedelta(days=21))]  # … fresh with the proxy
    assert fetch(demo_portal.url("jcms", "/art/2026/5/25/art_1203_12035.html"))[0] == 200


def test_jcms_blank_column_and_data_proxy_errors(demo_portal):
    inline, settings = datastore(demo_portal, 1204)
    assert inline == [] and settings["totalRecord"] == 0
    assert _RECORD_LINK.findall(dataproxy(demo_portal, 1204, 1, 45, 15)[1]) == []
    assert _RECORD_LINK.findall(dataproxy(demo_portal, 9999, 1, 45, 15)[1]) == []  # unknown column: empty
    status, _ = dataproxy(demo_portal, 1202, "x", 6, 2)  # type: ignore[arg-type]
    assert status == 400
    # Pages are not forms: a POST to one is refused; the 503 host refuses it as it refuses a GET.
    assert fetch(demo_portal.url("jcms", "/col/col1202/index.html"), "POST", "a=1")[0] == 405
    assert fetch(demo_portal.url("down", "/"), "POST", "a=1")[0] == 503


def test_trs_pages_follow_create_page_html_and_dated_article_urls(demo_portal):
    pages = {}
    for name in ("index.html", "index_1.html", "index_2.html"):
        status, _, body = fetch(demo_portal.url("trs", f"/tzgg/{name}"))
        assert status == 200
        pages[name] = body.decode("utf-8")
    for current, text in enumerate(pages.values()):
        assert f"var currentPage = {current};" in text and "var countPage = 3" in text
        assert 'createPageHTML(countPage, currentPage, "index", "html");' in text
    assert fetch(demo_portal.url("trs", "/tzgg/index_3.html"))[0] == 404
    # ./YYYYMM/tYYYYMMDD_N.html, dated by the anchor; the third page's article only there.
    assert './202604/t20260406_2005.html' in pages["index_2.html"]
    assert not any("t20260406_2005" in text for name, text in pages.items() if name != "index_2.html")
    assert fetch(demo_portal.url("trs", "/tzgg/202604/t20260406_2005.html"))[0] == 200
    assert fetch(demo_portal.url("trs", "/tzgg/202604/t20260407_2005.html"))[0] == 404
    assert fetch(demo_portal.url("jcms", "/art/2026/6/14/art_1201_12011.html"))[0] == 200


def _json_list(text: str, name: str) -> list[dict]:
    match = re.search(rf"var {name} = (\[.*?\]);", text, re.S)
    assert match, name
    return json.loads(match[1])


def test_trs_script_built_lists_have_entries_only_in_their_data(demo_portal):
    for column in ("zcwj", "ghjh"):
        text = fetch(demo_portal.url("trs", f"/{column}/"))[2].decode("utf-8")
        outside_scripts = re.sub(r"<script.*?</script>", "", text, flags=re.S)
        assert f'<ul class="list_ul" id="{column}List"></ul>' in outside_scripts
        assert f"/{column}/20" not in outside_scripts  # no article link in the HTML itself
    policies = _json_list(fetch(demo_portal.url("trs", "/zcwj/"))[2].decode("utf-8"), "zcwjData")
    assert [entry["url"] for entry in policies] == ["./202606/t20260609_4001.html", "./202604/t20260426_4002.html"]
    assert _json_list(fetch(demo_portal.url("trs", "/ghjh/"))[2].decode("utf-8"), "ghjhData") == []
    status, headers, body = fetch(demo_portal.url("trs", "/rsxx/list.json"))
    assert status == 200 and headers["content-type"] == "application/json; charset=utf-8"
    assert [entry["date"] for entry in json.loads(body)] == ["2026-05-26", "2026-03-07"]
    assert 'loadList("rsxxList", "./list.json")' in fetch(demo_portal.url("trs", "/rsxx/"))[2].decode("utf-8")
    for column, entries in (("zcwj", policies), ("rsxx", json.loads(body))):
        for entry in entries:
            assert fetch(urljoin(demo_portal.url("trs", f"/{column}/"), entry["url"]))[0] == 200


def _links_of(portal, role: str, url: str, text: str) -> set[str]:
    """Links a reader of the page can reach: <a href> (also inside datastore records) and JSON "url"s."""
    hrefs = re.findall(r'href="([^"]+)"', text) + re.findall(r'"url": "([^"]+)"', text)
    return {urljoin(url, href) for href in hrefs if not href.startswith(("javascript:", "#", "mailto:"))
            and not href.startswith("/module/web/jpage/dataproxy.jsp")}


def test_cms_sites_have_no_broken_links_and_what_ground_truth_names_exists(demo_portal):
    for role, home in (("jcms", "/index.html"), ("trs", "/")):
        seen: dict[str, int] = {}
        queue = [demo_portal.url(role, home)]
        while queue:
            url = queue.pop()
            if url in seen:
                continue
            status, headers, body = fetch(url)
            seen[url] = status
            if status == 200 and urlsplit(url).netloc == demo_portal.hosts[role] and (
                    headers["content-type"].startswith("text/html")):
                queue.extend(_links_of(demo_portal, role, url, body.decode("utf-8")))
                if url.endswith("/rsxx/"):
                    queue.append(urljoin(url, "list.json"))
            elif url.endswith("list.json"):
                queue.extend(_links_of(demo_portal, role, url, body.decode("utf-8")))
        broken = {url for url, status in seen.items() if status != 200}
        # The only broken link of either site: the policy's 一网通办 item (LK01).
        assert broken == ({demo_portal.url("service", "/item/118")} if role == "trs" else set()), role
        assert len([u for u in seen if urlsplit(u).netloc == demo_portal.hosts[role]]) <= 25
    for entry in demo_portal.ground_truth():
        if entry["site"] in ("demo-jcms", "demo-trs"):
            assert fetch(entry["url"])[0] == 200, entry


def test_browser_shows_the_script_built_lists(demo_portal, chromium):
    from playwright.sync_api import sync_playwright

    from govaudit.browser import launch_options

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options(20))
        try:
            page = browser.new_page()

            def items(role: str, path: str, selector: str) -> list[str]:
                page.goto(demo_portal.url(role, path), wait_until="load")
                page.wait_for_load_state("networkidle")
                return [" ".join(t.split()) for t in page.locator(selector).all_inner_texts()]

            assert len(items("trs", "/zcwj/", "#zcwjList li a")) == 2
            assert len(items("trs", "/rsxx/", "#rsxxList li a")) == 2  # fetched from list.json
            assert items("trs", "/ghjh/", "#ghjhList li") == ["暂无信息"]
            assert len(items("trs", "/tzgg/", ".page a")) == 2  # 下一页, 尾页 written by createPageHTML
            # jpage: the first page from the datastore, the third from dataproxy.jsp (POST) on 下一页.
            assert len(items("jcms", "/col/col1202/index.html", '[id="5202"] ul.list li')) == 2
            for _ in range(2):
                page.get_by_text("下一页").click()
            page.wait_for_load_state("networkidle")
            page.wait_for_selector("text=免疫规划疫苗查漏补种")
            assert items("jcms", "/col/col1204/index.html", '[id="5204"] ul.list li') == []
        finally:
            browser.close()


def test_a_date_offset_can_snap_to_a_weekday_so_that_weekday_spans_hold_on_any_anchor():
    from demo.server import PageRenderer

    for anchor in (dt.date(2026, 6, 15), dt.date(2026, 6, 20), dt.date(2026, 12, 2)):
        renderer = PageRenderer(anchor, {})
        friday = renderer.day("-20fri")
        assert friday.weekday() == 4 and 0 <= (anchor - dt.timedelta(days=20) - friday).days < 7
        assert renderer.day("-20fri+6") == friday + dt.timedelta(days=6)
    assert PageRenderer(dt.date(2026, 6, 15), {}).render("main", "{{d:-20fri:cn}}") == "2026年5月22日"
    with pytest.raises(ValueError, match="bad date offset"):
        PageRenderer(dt.date(2026, 6, 15), {}).day("-20friday")
