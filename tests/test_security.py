"""Security rows of the fault matrix: a report that runs nothing it crawled, a crawler that says who it
is and carries nothing from one site to another, secrets that stay out of command lines, logs and
reports."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from govaudit.audit import CrawlOptions, run
from govaudit.cli import main
from tests.mockserver import MockServer, Reply
from tests.test_crawler import AS_OF, edited, page, write_config

# Written as entities in the fixture's HTML, so that the crawled text holds them as they read.
EVIL_SCRIPT = "&lt;script&gt;window.__xss='title'&lt;/script&gt;"
EVIL_IMG = "&lt;img src=x onerror=&quot;window.__xss='img'&quot;&gt;"
BIDI = "\u202egnp.exe\u2066"


def record_headers(server: MockServer) -> dict[str, list[dict[str, str]]]:
    """The request headers each path received, in order."""
    seen: dict[str, list[dict[str, str]]] = {}
    original = server.httpd.RequestHandlerClass.do_GET

    def do_get(handler) -> None:
        seen.setdefault(handler.path, []).append({k.lower(): v for k, v in handler.headers.items()})
        original(handler)

    server.httpd.RequestHandlerClass.do_GET = do_get
    return seen


def evil_site() -> dict[str, Reply]:
    nav = (f'<div class="nav"><a href="/">首页</a><a href="/col/evil/">{EVIL_IMG}通知公告{BIDI}</a>'
           '<a href="/col/news/">工作动态</a></div>')
    home = page(nav + f'<a href="/gone/&quot;&gt;&lt;script&gt;window.__xss=1&lt;/script&gt;.html">{EVIL_SCRIPT}旧链接</a>'
                '<a href="javascript:window.__xss=\'href\'">点我</a>'
                f'<a href="/missing.html" title="x" >{BIDI}失效</a>', f"{EVIL_SCRIPT}示范县人民政府")
    return {"/": Reply(home), "/col/evil/": Reply(page(nav, f"{EVIL_SCRIPT}通知公告")),
            "/col/news/": Reply(page(nav, "工作动态"))}


def test_a_report_of_a_site_full_of_scripts_runs_none_of_them_in_chromium(tmp_path, chromium):
    from playwright.sync_api import sync_playwright

    from govaudit.browser import launch_options

    with MockServer(evil_site()) as server:
        config = write_config(tmp_path, server)
        config.write_text(edited(config, "    unit: 办公室\n", "    unit: 办公室\n    render: static\n"),
                          encoding="utf-8")
        result = run(config, db_url=f"sqlite:///{tmp_path}/audit.db", out_dir=tmp_path / "out", as_of=AS_OF,
                     log_dir=tmp_path / "logs", options=CrawlOptions(cache_dir=tmp_path / "cache"))
    assert result.runs[0].status == "completed" and result.report is not None
    html = result.report.read_text(encoding="utf-8")
    # The payloads reached the report (as text): the test would prove nothing otherwise.
    assert "&lt;img src=x onerror=&#34;window.__xss=" in html and "&lt;script&gt;window.__xss=" in html
    assert "[U+202E]gnp.exe[U+2066]" in html
    # What a leaked escape would look like: the CSP must stop it too.
    leaked = tmp_path / "out" / "leaked.html"
    leaked.write_text(html.replace("<main>", "<main><script>window.__xss='inline'</script>"
                                   "<img src=x onerror=\"window.__xss='attr'\">", 1), encoding="utf-8")
    shutil.copy(result.report, tmp_path / "out" / "report.html")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options(20))
        try:
            for name in ("report.html", "leaked.html"):
                tab = browser.new_page()
                dialogs: list[str] = []
                tab.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
                tab.goto((tmp_path / "out" / name).as_uri())
                tab.wait_for_load_state("load")
                assert tab.evaluate("typeof window.__xss") == "undefined", name
                assert dialogs == []
                hrefs = tab.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
                assert hrefs, name
                assert all(h.startswith(("http://", "https://", "#", "changes.html", "screenshots/"))
                           for h in hrefs), hrefs
                assert "通知公告" in tab.inner_text("body")
                tab.close()
        finally:
            browser.close()


def test_the_crawler_says_who_it_is_and_carries_no_cookie_to_another_host(tmp_path):
    with MockServer({"/item/1": Reply(page("办事指南")), "/other": Reply(page("外站"))}) as other:
        linked = other.url("/other")
        routes = {"/": Reply(page(f'<a href="{other.url("/item/1")}">在线办理</a><a href="{linked}">外站</a>'
                                  '<a href="/next.html">下一页</a>'),
                             headers={"Content-Type": "text/html; charset=utf-8",
                                      "Set-Cookie": "JSESSIONID=site-a-session; Path=/"}),
                  "/next.html": Reply(page("<p>二</p>"))}
        with MockServer(routes) as server:
            on_site, on_other = record_headers(server), record_headers(other)
            config = write_config(tmp_path, server, service=other)
            config.write_text(config.read_text(encoding="utf-8") + "crawler: {contact: audit@example.gov.cn}\n",
                              encoding="utf-8")
            run(config, db_url=f"sqlite:///{tmp_path}/audit.db", out_dir=None, as_of=AS_OF,
                log_dir=tmp_path / "logs", options=CrawlOptions(cache_dir=tmp_path / "cache"))
    received = [h for hits in (*on_site.values(), *on_other.values()) for h in hits]
    assert received and "/item/1" in on_other and "/other" in on_other and "/next.html" in on_site
    for headers in received:
        assert headers["user-agent"].startswith("govaudit/") and "+audit@example.gov.cn" in headers["user-agent"]
        assert "cookie" not in headers and "authorization" not in headers


def test_the_database_password_stays_out_of_the_crawlers_command_line_logs_and_report(tmp_path, pg_url):
    import os

    password = "S3cret-pw-4711"
    db = pg_url.replace("postgresql+psycopg://postgres@", f"postgresql+psycopg://postgres:{password}@")
    assert password in db
    command_lines: list[str] = []

    def look(_event) -> None:
        me = os.getpid()
        for proc in os.listdir("/proc"):
            try:
                with open(f"/proc/{proc}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                if parent == me:
                    with open(f"/proc/{proc}/cmdline", "rb") as cmdline:
                        command_lines.append(cmdline.read().decode("utf-8", "replace"))
            except (OSError, ValueError, IndexError):
                continue

    with MockServer({"/": Reply(page('<a href="/gone.html">旧</a>'))}) as server:
        config = write_config(tmp_path, server)
        result = run(config, db_url=db, out_dir=tmp_path / "out", as_of=AS_OF, log_dir=tmp_path / "logs",
                     options=CrawlOptions(cache_dir=tmp_path / "cache"), progress=look)
        assert result.runs[0].status == "completed"
        cli = CliRunner().invoke(main, ["findings", "--db", db, "--format", "csv"])
    assert cli.exit_code == 0, cli.output
    assert any("crawler.crawl" in line for line in command_lines)
    assert not any(password in line for line in command_lines)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".log", ".html", ".csv", ".xlsx")]
    assert result.logs["mock"] in written and result.report in written
    for path in written:
        assert password.encode() not in path.read_bytes(), path
    assert password not in cli.output


def test_a_bad_database_url_is_refused_without_printing_its_password(tmp_path):
    password = "S3cret-pw-4711"
    for url in (f"postgresql+psycopg://postgres:{password}@127.0.0.1:1/none",
                f"nosuchdriver://postgres:{password}@127.0.0.1/none"):
        cli = CliRunner().invoke(main, ["findings", "--db", url])
        assert cli.exit_code == 1
        assert "error:" in cli.output and password not in cli.output, cli.output
