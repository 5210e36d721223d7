"""Revisiting (crawler.revisit): what an incremental crawl carries from the last run without a request,
and what it always asks for again."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.revisit import due
from govaudit.audit import CrawlOptions, run
from govaudit.db import open_database
from govaudit.findings import run_findings
from govaudit.models import Column, CrawlRun, Document, Link, Listing, Page
from tests.conftest import audit_db_url
from tests.mockserver import MockServer, Reply
from tests.test_lifecycle import article, list_page, page

DAYS = 30


def document(title: str, index_number: str | None, date: str, extra: str = "") -> Reply:
    index = f"<td>索引号：</td><td>{index_number}</td>" if index_number else ""
    return article(f"""<table class="xxgk"><tr>{index}<td>发布机构：</td><td>县政府办公室</td></tr>
        <tr><td>成文日期：</td><td>{date}</td><td>发布日期：</td><td>{date}</td></tr></table>
        <p>{title}正文</p>{extra}""", title, date)


class Site:
    def __init__(self) -> None:
        self.entries = [("/art/1.html", "关于印发示范县农业补贴办法的通知", "2026-06-10"),
                        ("/art/2.html", "关于做好防汛工作的通知", "2026-06-09"),
                        ("/art/3.html", "关于开展安全生产检查的通知", "2026-06-08")]
        self.routes: dict = {
            "/": page('<div class="nav"><a href="/">首页</a><a href="/col/zcwj/">政策文件</a></div>'
                      '<a href="/about.html">机构概况</a>', "示范县人民政府"),
            "/about.html": page("<p>机构概况</p>", "机构概况"),
            "/art/1.html": document("关于印发示范县农业补贴办法的通知", "11360700MB1234567R/2026-00001",
                                    "2026-06-10", '<a href="/files/a1.pdf">附件：补贴标准</a>'),
            "/art/2.html": document("关于做好防汛工作的通知", "11360700MB1234567R/2026-00002", "2026-06-09"),
            "/art/3.html": document("关于开展安全生产检查的通知", None, "2026-06-08"),  # no 索引号: MD01
            "/files/a1.pdf": Reply(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF\n",
                                   headers={"Content-Type": "application/pdf"}),
        }
        self.refresh()

    def refresh(self) -> None:
        self.routes["/col/zcwj/"] = list_page("政策文件", self.entries)


def config_for(tmp_path: Path, server: MockServer, days: int = DAYS, concurrency: int = 4, delay: float = 0,
               screenshots: bool = False, pages: int = 20000) -> Path:
    path = tmp_path / "sites.yml"
    path.write_text(textwrap.dedent(f"""\
        sites:
          - id: county
            name: 示范县人民政府
            url: {server.url('/')}
            unit: 县政府办公室
            render: static
            screenshots: {str(screenshots).lower()}
            limits: {{delay: {delay}, concurrency: {concurrency}, timeout: 5, recheck_delay: 0.2, revisit_days: {days},
                      pages: {pages}}}
            columns:
              - {{name: 政策文件, url: "{server.url('/col/zcwj/')}", category: policy}}
        """), encoding="utf-8")
    return path


def night(tmp_path: Path, config: Path, as_of: dt.date, full: bool = False) -> CrawlRun:
    result = run(config, db_url=audit_db_url(tmp_path), out_dir=None, as_of=as_of, log_dir=tmp_path / "logs",
                 options=CrawlOptions(cache_dir=tmp_path / "cache", full=full))
    [crawl_run] = result.runs
    assert crawl_run.status == "completed"
    return crawl_run


def a_night(urls_due: list[str], urls_not_due: list[str], after: dt.date = dt.date(2026, 6, 15)) -> dt.date:
    """A date on which exactly ``urls_due`` of these are on their turn to be asked again."""
    for k in range(DAYS * 3):
        day = after + dt.timedelta(days=k)
        if all(due(u, day, DAYS) for u in urls_due) and not any(due(u, day, DAYS) for u in urls_not_due):
            return day
    raise AssertionError("no such night")  # with 30 turns and a handful of URLs, one comes soon


def no_turn_night(server: MockServer) -> dt.date:
    """A night on which none of the site's articles and attachments is on its turn."""
    return a_night([], [server.url(p) for p in ("/art/1.html", "/art/2.html", "/art/3.html", "/files/a1.pdf")])


def server_with_turns(site: Site, due_paths: list[str], not_due_paths: list[str]) -> MockServer:
    """A mock server on a port where some night has exactly ``due_paths`` of these on their turn: a page's
    turn is a hash of its URL, port included, and on some ports two of them share every turn."""
    for _ in range(100):
        server = MockServer(site.routes)
        try:
            a_night([server.url(p) for p in due_paths], [server.url(p) for p in not_due_paths])
            return server
        except AssertionError:
            server.httpd.server_close()
    raise AssertionError("no port gives such a night")


def rows(tmp_path: Path, model, run_id: int) -> dict:
    with open_database(audit_db_url(tmp_path))() as session:
        return {r.url if hasattr(r, "url") else r: r for r in session.scalars(
            select(model).where(model.crawl_run_id == run_id))}


def link_rows(tmp_path: Path, run_id: int) -> list[tuple]:
    with open_database(audit_db_url(tmp_path))() as session:
        return sorted((link.from_url, link.to_url, link.anchor, link.kind, link.hidden, link.status, link.error,
                       link.final_url) for link in session.scalars(select(Link).where(Link.crawl_run_id == run_id)))


def link_set(tmp_path: Path, run_id: int) -> set[tuple[str, str, str]]:
    with open_database(audit_db_url(tmp_path))() as session:
        return {(link.from_url, link.to_url, link.kind) for link in session.scalars(
            select(Link).where(Link.crawl_run_id == run_id))}


@pytest.mark.db  # the copy of carried rows is SQL of each database's own
@pytest.mark.parametrize("change", [None, "pacing", "config"], ids=["rows-copied", "paced-otherwise", "config-changed"])
def test_unchanged_articles_and_their_attachments_are_carried_without_a_request(tmp_path, change):
    site = Site()
    with MockServer(site.routes) as server:
        u = server.url
        config = config_for(tmp_path, server)
        as_of = no_turn_night(server)
        first = night(tmp_path, config, as_of)
        hits = dict(server.hits)
        if change == "pacing":  # only how the crawl is paced (and photographed): the rows are still copied
            config = config_for(tmp_path, server, concurrency=3, delay=0.01, screenshots=True)
        elif change == "config":  # the rows are made again from the pages' readings, not copied
            config = config_for(tmp_path, server, pages=10000)
        second = night(tmp_path, config, as_of)
        asked = {path for path in server.hits if server.hits[path] > hits.get(path, 0)}

    # Carried: the unchanged entries' pages and the attachment of one of them. Asked: the home page, the
    # column, a page the home page links directly, and the page a finding names (no 索引号).
    assert asked == {"/robots.txt", "/", "/col/zcwj/", "/about.html", "/art/3.html"}
    assert second.stats["carried"] == 3
    assert second.stats["copied"] == (0 if change == "config" else 3)
    # Nothing went wrong on the way (closing a crawl that carried pages once raised, losing its resume state).
    assert not [line for log in (tmp_path / "logs").glob("*.log")
                for line in log.read_text(encoding="utf-8").splitlines() if " ERROR: " in line]
    assert second.stats["pages"] == first.stats["pages"]
    assert {t: second.stats["rows"][t] for t in ("page", "link", "document")} == {
        t: first.stats["rows"][t] for t in ("page", "link", "document")}
    # The second run holds what the first stored: pages, documents, links.
    one, two = rows(tmp_path, Page, first.id), rows(tmp_path, Page, second.id)
    assert sorted(one) == sorted(two)
    fields = ("status", "final_url", "kind", "column_url", "content_type", "encoding", "content_hash", "size",
              "title", "text", "meta_tags", "footer", "depth", "rendered_by_js", "error")
    for url in one:
        assert [getattr(one[url], f) for f in fields] == [getattr(two[url], f) for f in fields], url
    # A carried page is dated when the site last answered it, before tonight's crawl began.
    assert two[u("/art/1.html")].fetched_at < second.started_at <= two[u("/art/3.html")].fetched_at
    docs_one, docs_two = rows(tmp_path, Document, first.id), rows(tmp_path, Document, second.id)
    assert {url: (d.index_number, d.publisher, d.published_date, d.column_url) for url, d in docs_one.items()} == {
        url: (d.index_number, d.publisher, d.published_date, d.column_url) for url, d in docs_two.items()}
    assert docs_two[u("/art/1.html")].index_number == "11360700MB1234567R/2026-00001"
    assert link_set(tmp_path, first.id) == link_set(tmp_path, second.id)
    assert link_rows(tmp_path, first.id) == link_rows(tmp_path, second.id)  # their targets' outcomes too
    assert (u("/art/1.html"), u("/files/a1.pdf"), "content") in link_set(tmp_path, second.id)
    with open_database(audit_db_url(tmp_path))() as session:
        findings = {(f.check, f.url): f.status for f in run_findings(session, [session.get(CrawlRun, second.id)])
                        if f.check.startswith("MD")}  # the home page's AR01 (no annual report) aside
    assert findings == {("MD01", u("/art/3.html")): "open"}


def test_a_document_whose_year_less_date_reads_otherwise_tonight_is_made_afresh(tmp_path):
    site = Site()
    # 发布日期 without a year: on 2026-06-15 it is 2026-06-09; a year later, 2027-06-09.
    site.routes["/art/2.html"] = article("""<table class="xxgk"><tr><td>索引号：</td><td>11360700MB1234567R/2026-00002</td>
        <td>发布机构：</td><td>县政府办公室</td></tr>
        <tr><td>成文日期：</td><td>2026-06-08</td><td>发布日期：</td><td>6月9日</td></tr></table>
        <p>正文</p>""", "关于做好防汛工作的通知", "2026-06-09")
    with MockServer(site.routes) as server:
        u = server.url
        config = config_for(tmp_path, server)
        urls = [u(p) for p in ("/art/1.html", "/art/2.html", "/art/3.html", "/files/a1.pdf")]
        first = night(tmp_path, config, a_night([], urls))
        second = night(tmp_path, config, a_night([], urls, after=dt.date(2027, 6, 11)))
    assert second.stats["carried"] == 3 and second.stats["copied"] == 2
    assert rows(tmp_path, Document, first.id)[u("/art/2.html")].published_date == dt.date(2026, 6, 9)
    assert rows(tmp_path, Document, second.id)[u("/art/2.html")].published_date == dt.date(2027, 6, 9)
    assert rows(tmp_path, Document, second.id)[u("/art/1.html")].published_date == dt.date(2026, 6, 10)


def test_an_edited_entry_a_fixed_page_and_a_pages_turn_are_asked_for_again(tmp_path):
    site = Site()
    with server_with_turns(site, ["/art/1.html"], ["/art/2.html", "/art/3.html", "/files/a1.pdf"]) as server:
        u = server.url
        config = config_for(tmp_path, server)
        first_night = a_night([], [u("/art/1.html"), u("/art/2.html"), u("/files/a1.pdf")])
        night(tmp_path, config, first_night)
        # Tonight /art/1.html is on its turn; /art/2.html's entry is retitled; /art/3.html gets its 索引号.
        tonight = a_night([u("/art/1.html")], [u("/art/2.html"), u("/art/3.html"), u("/files/a1.pdf")])
        site.entries[1] = ("/art/2.html", "关于做好2026年防汛工作的通知", "2026-06-09")
        site.routes["/art/2.html"] = document("关于做好2026年防汛工作的通知", "11360700MB1234567R/2026-00002",
                                                  "2026-06-09")
        site.routes["/art/3.html"] = document("关于开展安全生产检查的通知", "11360700MB1234567R/2026-00003",
                                                  "2026-06-08")
        site.refresh()
        hits = dict(server.hits)
        second = night(tmp_path, config, tonight)
        asked = {path for path in server.hits if server.hits[path] > hits.get(path, 0)}
        assert {"/art/1.html", "/art/2.html", "/art/3.html"} <= asked
        # The attachment hangs below /art/1.html, asked for on its turn but unchanged: carried.
        assert "/files/a1.pdf" not in asked
        assert second.stats["carried"] == 1
        pages = rows(tmp_path, Page, second.id)
        assert pages[u("/art/2.html")].title == "关于做好2026年防汛工作的通知"
        assert pages[u("/files/a1.pdf")].status == 200
        with open_database(audit_db_url(tmp_path))() as session:
            findings = {(f.check, f.url): f.status for f in run_findings(session, [session.get(CrawlRun, second.id)])
                        if f.check.startswith("MD")}  # the home page's AR01 (no annual report) aside
        assert findings == {("MD01", u("/art/3.html")): "resolved"}

        # A third night of the same date: nothing changed, nothing is on its turn but /art/1.html.
        hits = dict(server.hits)
        third = night(tmp_path, config, tonight)
        asked = {path for path in server.hits if server.hits[path] > hits.get(path, 0)}
        assert asked == {"/robots.txt", "/", "/col/zcwj/", "/about.html", "/art/1.html"}
        assert third.stats["carried"] == 3

        # A fourth: /art/1.html, on its turn, has changed (its entry has not): what it links is asked for.
        site.routes["/art/1.html"] = document("关于印发示范县农业补贴办法的通知", "11360700MB1234567R/2026-00001",
                                                  "2026-06-10", '<p>（修订）</p><a href="/files/a1.pdf">附件：补贴标准</a>')
        hits = dict(server.hits)
        fourth = night(tmp_path, config, tonight)
        asked = {path for path in server.hits if server.hits[path] > hits.get(path, 0)}
        assert asked == {"/robots.txt", "/", "/col/zcwj/", "/about.html", "/art/1.html", "/files/a1.pdf"}
        assert fourth.stats["carried"] == 2

        # --full asks for everything.
        hits = dict(server.hits)
        full = night(tmp_path, config, tonight, full=True)
        assert all(server.hits[path] > hits.get(path, 0) for path in site.routes)
        assert full.stats["carried"] == 0


def test_revisit_days_0_asks_for_every_page_every_night(tmp_path):
    site = Site()
    with MockServer(site.routes) as server:
        config = config_for(tmp_path, server, days=0)
        night(tmp_path, config, dt.date(2026, 6, 15))
        hits = dict(server.hits)
        second = night(tmp_path, config, dt.date(2026, 6, 15))
        assert all(server.hits[path] > hits.get(path, 0) for path in site.routes)
        assert second.stats["carried"] == 0
        assert second.stats["not_modified"] == 0  # the mock server sends no validators: every page whole


def test_a_page_that_failed_last_night_is_asked_for_again(tmp_path):
    site = Site()
    site.routes["/art/2.html"] = Reply("<html><body>维护中</body></html>", status=404)
    with MockServer(site.routes) as server:
        u = server.url
        config = config_for(tmp_path, server)
        as_of = no_turn_night(server)
        night(tmp_path, config, as_of)
        site.routes["/art/2.html"] = document("关于做好防汛工作的通知", "11360700MB1234567R/2026-00002", "2026-06-09")
        night(tmp_path, config, as_of)  # /art/2.html answers 200 again: asked, not carried as the 404
        hits = dict(server.hits)
        third = night(tmp_path, config, as_of)
        asked = {path for path in server.hits if server.hits[path] > hits.get(path, 0)}
    assert "/art/2.html" not in asked and "/art/1.html" not in asked
    assert third.stats["carried"] == 3
    assert rows(tmp_path, Page, third.id)[u("/art/2.html")].status == 200


@pytest.mark.parametrize("dates, later", [("full", False), ("full", True), ("year-less", True)])
def test_a_list_page_of_the_same_bytes_is_not_read_again_unless_its_dates_read_otherwise(tmp_path, dates, later):
    site = Site()
    if dates == "year-less":  # 06-10: the year is the night's (the last 06-10 before it)
        site.entries = [(url, title, date[5:]) for url, title, date in site.entries]
        site.refresh()
    with MockServer(site.routes) as server:
        u = server.url
        config = config_for(tmp_path, server)
        urls = [u(p) for p in ("/art/1.html", "/art/2.html", "/art/3.html", "/files/a1.pdf")]
        first = night(tmp_path, config, a_night([], urls))
        second = night(tmp_path, config, a_night([], urls, after=dt.date(2027, 6, 11) if later else dt.date(2026, 6, 15)))
    assert first.stats["lists_reused"] == 0
    assert second.stats["lists_reused"] == (0 if dates == "year-less" else 1)
    with open_database(audit_db_url(tmp_path))() as session:
        listed = {run.id: sorted((e.column_url, e.page_url, e.position, e.title, e.url, e.date, e.date_text)
                                 for e in session.scalars(select(Listing).where(Listing.crawl_run_id == run.id)))
                  for run in (first, second)}
    assert len(listed[first.id]) == 3
    if dates == "year-less":
        assert {entry[5] for entry in listed[second.id]} == {dt.date(2027, 6, d) for d in (8, 9, 10)}
        assert [entry[:5] for entry in listed[first.id]] == [entry[:5] for entry in listed[second.id]]
    else:
        assert listed[first.id] == listed[second.id]


@pytest.mark.db  # the copied links keep their targets' outcomes, settled again where one changed
def test_a_copied_link_gets_the_outcome_its_target_has_tonight(tmp_path):
    site = Site()
    articles = ["/art/1.html", "/art/2.html", "/art/3.html"]
    with server_with_turns(site, ["/files/a1.pdf"], articles) as server:
        u = server.url
        config = config_for(tmp_path, server)
        first = night(tmp_path, config, a_night([], [u(p) for p in [*articles, "/files/a1.pdf"]]))
        # Tonight the attachment is on its turn and gone; the article linking it is carried, its rows copied.
        site.routes["/files/a1.pdf"] = Reply("<html><body>404</body></html>", status=404)
        hits = dict(server.hits)
        second = night(tmp_path, config, a_night([u("/files/a1.pdf")], [u(p) for p in articles]))
        asked = {path for path in server.hits if server.hits[path] > hits.get(path, 0)}
    assert "/files/a1.pdf" in asked and "/art/1.html" not in asked
    assert second.stats["copied"] >= 2
    before, after = link_rows(tmp_path, first.id), link_rows(tmp_path, second.id)
    to_pdf = [row for row in after if row[1] == u("/files/a1.pdf")]
    assert [(row[0], row[5]) for row in to_pdf] == [(u("/art/1.html"), 404)]
    # Every other link is as it was.
    assert [row for row in before if row[1] != u("/files/a1.pdf")] == [row for row in after if row[1] != u("/files/a1.pdf")]
    with open_database(audit_db_url(tmp_path))() as session:
        found = {(f.check, f.url) for f in run_findings(session, [session.get(CrawlRun, second.id)])}
    assert any(check == "AV03" for check, _ in found)


def paginated(title: str, entries: list[tuple[str, str, str]], per_page: int = 2) -> dict[str, Reply]:
    """A column's list over several pages (index.html's path, index_1.html …), as a CMS writes them."""
    pages = [entries[k:k + per_page] for k in range(0, len(entries), per_page)]
    routes = {}
    for p, chunk in enumerate(pages):
        items = "".join(f'<li><a href="{url}">{text}</a><span>{date}</span></li>' for url, text, date in chunk)
        links = [f'<a href="index_{p + 1}.html">下一页</a>'] if p + 1 < len(pages) else []
        pager = f"<div class='pagination'>共{len(entries)}条 {' '.join(links)} 当前第{p + 1}/{len(pages)}页</div>"
        reply = page(f'<ul class="list">{items}</ul>{pager}', title,
                     f'<meta name="ColumnName" content="{title}"><meta name="ColumnType" content="{title}">')
        routes["/col/zcwj/" if p == 0 else f"/col/zcwj/index_{p}.html"] = reply
    return routes


def test_the_list_pages_after_an_unchanged_one_are_carried_until_the_list_changes(tmp_path):
    site = Site()
    site.entries = [(f"/art/{k}.html", f"关于第{k}项工作的通知", f"2026-06-{10 - k:02d}") for k in range(1, 7)]
    for k in range(1, 7):
        site.routes[f"/art/{k}.html"] = document(f"关于第{k}项工作的通知", f"11360700MB1234567R/2026-{k:05d}",
                                                 f"2026-06-{10 - k:02d}")
    site.refresh = lambda: site.routes.update(paginated("政策文件", site.entries))
    site.refresh()
    further = ["/col/zcwj/index_1.html", "/col/zcwj/index_2.html"]
    articles = [f"/art/{k}.html" for k in range(1, 7)] + ["/files/a1.pdf"]
    with MockServer(site.routes) as server:
        u = server.url
        config = config_for(tmp_path, server)
        as_of = a_night([], [u(p) for p in [*further, *articles]])
        first = night(tmp_path, config, as_of)
        hits = dict(server.hits)
        second = night(tmp_path, config, as_of)
        asked = {path for path in server.hits if server.hits[path] > hits.get(path, 0)}
        assert asked == {"/robots.txt", "/", "/col/zcwj/", "/about.html"}
        assert second.stats["lists_carried"] == 2
        assert second.stats["carried"] == 2 + 6  # the two list pages and the articles

        # A new document on top of the list: every list page shows other entries, and each is asked for.
        site.entries.insert(0, ("/art/7.html", "关于第7项工作的通知", "2026-06-10"))
        site.routes["/art/7.html"] = document("关于第7项工作的通知", "11360700MB1234567R/2026-00007", "2026-06-10")
        site.refresh()
        hits = dict(server.hits)
        third = night(tmp_path, config, as_of)
        asked = {path for path in server.hits if server.hits[path] > hits.get(path, 0)}
    assert {"/col/zcwj/", *further, "/col/zcwj/index_3.html", "/art/7.html"} <= asked
    assert third.stats["lists_carried"] == 0
    with open_database(audit_db_url(tmp_path))() as session:
        listed = {run.id: sorted((e.column_url, e.page_url, e.position, e.title, e.url, e.date)
                                 for e in session.scalars(select(Listing).where(Listing.crawl_run_id == run.id)))
                  for run in (first, second, third)}
        columns = {run.id: [(c.url, c.list_pages, c.truncated) for c in session.scalars(
            select(Column).where(Column.crawl_run_id == run.id))] for run in (first, second, third)}
    # The carried night stores the list as the first did: its entries, on their pages, and the column's pages.
    assert len(listed[first.id]) == 6 and listed[first.id] == listed[second.id]
    assert columns[first.id] == columns[second.id] == [(u("/col/zcwj/"), 3, False)]
    assert len(listed[third.id]) == 7 and columns[third.id] == [(u("/col/zcwj/"), 4, False)]
    assert {t: second.stats["rows"][t] for t in ("page", "link", "listing")} == {
        t: first.stats["rows"][t] for t in ("page", "link", "listing")}
