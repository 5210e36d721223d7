"""Annual reports found while crawling: report pages, their attachments (PDF with a text layer, a scan,
DOCX, XLSX, a legacy DOC, a missing file) read into the annual_report table; attachment reading on its own;
and a database of revision 0003 upgraded with its rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crawler.annual_reports import report_kind, report_year
from crawler.attachments import SCANNED, attachment_format, extract
from govaudit.models import AnnualReport, CrawlRun
from tests.mockserver import MockServer, Reply
from tests.report_files import docx_report, pdf_report, scanned_pdf, xlsx_report
from tests.test_crawler import crawl, page, rows, write_config

PDF = {"Content-Type": "application/pdf"}
OCTETS = {"Content-Type": "application/octet-stream"}


def test_report_titles_and_years_are_recognised():
    assert (report_kind("示范县2025年政府信息公开工作年度报告"), report_year("示范县2025年政府信息公开工作年度报告")) == \
        ("information", 2025)
    assert report_year("示范县二〇二四年政府信息公开工作年度报告") == 2024
    assert report_kind("示范县人民政府门户网站2025年度工作报表") == "website"
    assert report_kind("政府网站工作年度报表（2025年度）") == "website"
    assert report_kind("关于做好2025年政府信息公开工作年度报告编制工作的通知") is None
    assert report_kind("2025年财政决算报告") is None
    assert report_kind("示范县财政局2025年政府信息公开工作年度报告") == "information"  # a 财政局 has one too
    assert report_kind("政府信息公开工作年度报告") is None  # no year: a column name, not a report


def test_each_attachment_format_is_read_with_its_text_and_tables():
    pdf = extract(pdf_report(), "pdf")
    assert pdf.readable and "一、总体情况" in pdf.text
    assert pdf.tables[0][1] == ["一、本年新收政府信息公开申请数量", "5", "2", "7"]
    scan = extract(scanned_pdf(), "pdf")
    assert (scan.readable, scan.error, scan.text) == (False, SCANNED, "")
    word = extract(docx_report(), "docx")
    assert word.readable and word.text.startswith("示范局2025年政府信息公开工作年度报告")
    # The merged header cell is repeated in both grid cells it covers.
    assert word.tables[0][0] == ["本列数据的勾稽关系", "申请人情况", "申请人情况", "总计"]
    sheet = extract(xlsx_report(), "xlsx")
    assert sheet.readable and sheet.tables[0][0][1:3] == ["申请人情况", "申请人情况"]
    assert sheet.tables[0][1][0] == "本列数据的勾稽关系"  # A1:A2 merged
    assert sheet.tables[0][2] == ["一、本年新收政府信息公开申请数量", "5", "2", "7"]


def test_formats_are_told_by_their_bytes_and_bad_files_are_unreadable_with_a_reason():
    assert attachment_format("http://s/a.pdf", "application/octet-stream", docx_report()) == "docx"
    assert attachment_format("http://s/download?id=1", None, xlsx_report()) == "xlsx"
    assert attachment_format("http://s/a.doc", None, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600) == "doc"
    broken = extract(b"%PDF-1.4 this is not a pdf", "pdf")
    assert not broken.readable and "PDF" in broken.error
    legacy = extract(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "doc")
    assert not legacy.readable and "DOC" in legacy.error
    assert extract(b"", "xlsx").error == "附件为空文件"


def test_report_pages_and_their_attachments_are_stored_with_text_tables_and_dates(tmp_path):
    table = ("<table><tr><th rowspan='2'>本列数据的勾稽关系</th><th colspan='2'>申请人情况</th></tr>"
             "<tr><th>自然人</th><th>法人或其他组织</th></tr>"
             "<tr><td>一、本年新收政府信息公开申请数量</td><td>5</td><td>2</td></tr></table>")
    home = page("""<ul class="news"><li><a href="/art/9.html">县政府召开常务会议</a><span>2026-06-10</span></li></ul>
        <a href="/ndbg/">信息公开年报</a>
        <a href="/files/wzbb2025.xlsx">示范站政府网站工作年度报表（2025年度）</a>""", "测试站")
    column = page("""<ul class="list">
        <li><a href="/ndbg/2025.html">测试站2025年政府信息公开工作年度报告</a><span>2026-01-20</span></li>
        <li><a href="/ndbg/2024.html">测试站2024年政府信息公开工作年度报告</a><span>2025-01-25</span></li>
        <li><a href="/files/2023.docx">测试站2023年政府信息公开工作年度报告</a><span>2024-01-22</span></li>
        <li><a href="/files/2022.doc">测试站2022年政府信息公开工作年度报告</a><span>2023-01-22</span></li>
        </ul>""", "信息公开年报")
    report_2025 = page(f"""<h1>测试站2025年政府信息公开工作年度报告</h1>
        <p>一、总体情况</p><p>全年主动公开信息。</p>{table}
        <p>附件：<a href="/files/2025.pdf">下载</a> <a href="/files/gone.pdf">扫描版</a></p>""",
        "测试站2025年政府信息公开工作年度报告")
    report_2024 = page("""<p>附件：<a href="/files/2024.pdf">2024年报告全文</a></p>""",
                       "测试站2024年政府信息公开工作年度报告")
    routes = {
        "/": Reply(home), "/ndbg/": Reply(column), "/ndbg/2025.html": Reply(report_2025),
        "/ndbg/2024.html": Reply(report_2024), "/art/9.html": Reply(page("<p>正文</p>")),
        "/files/2025.pdf": Reply(pdf_report(), headers=PDF),
        "/files/2024.pdf": Reply(scanned_pdf(), headers=OCTETS),
        "/files/2023.docx": Reply(docx_report(), headers=OCTETS),
        "/files/2022.doc": Reply(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, headers=OCTETS),
        "/files/wzbb2025.xlsx": Reply(xlsx_report(), headers=OCTETS),
    }
    with MockServer(routes) as server:
        columns = f"""    columns:\n      - {{name: 信息公开年报, url: "{server.url('/ndbg/')}", category: report}}\n"""
        # Depth 1 would not reach a report page's attachments (home -> column -> page -> file): they are
        # fetched anyway.
        config = write_config(tmp_path, server, columns=columns).read_text(encoding="utf-8")
        config = config.replace("limits: {delay: 0", "limits: {depth: 2, delay: 0")
        (tmp_path / "sites.yml").write_text(config, encoding="utf-8")
        result, factory = crawl(tmp_path, tmp_path / "sites.yml")
        assert result.runs[0].status == "completed"
        reports = {r.url.removeprefix(server.url("")): r for r in rows(factory, AnnualReport)}
    assert set(reports) == {"/ndbg/2025.html", "/ndbg/2024.html", "/files/2025.pdf", "/files/gone.pdf",
                            "/files/2024.pdf", "/files/2023.docx", "/files/2022.doc", "/files/wzbb2025.xlsx"}
    page_2025 = reports["/ndbg/2025.html"]
    assert (page_2025.kind, page_2025.format, page_2025.year, page_2025.readable) == ("information", "html", 2025, True)
    assert page_2025.published == dt.date(2026, 1, 20)  # the list's date: the page shows none
    assert page_2025.first_seen == dt.date(2026, 6, 15)
    assert "一、总体情况" in page_2025.text and "下载" in page_2025.text
    assert page_2025.tables == [[["本列数据的勾稽关系", "申请人情况", "申请人情况"],
                                 ["本列数据的勾稽关系", "自然人", "法人或其他组织"],
                                 ["一、本年新收政府信息公开申请数量", "5", "2"]]]
    pdf = reports["/files/2025.pdf"]
    assert (pdf.format, pdf.year, pdf.readable, pdf.page_url) == ("pdf", 2025, True, page_2025.url)
    assert pdf.title == "测试站2025年政府信息公开工作年度报告" and pdf.published == dt.date(2026, 1, 20)
    assert pdf.tables and "一、总体情况" in pdf.text
    gone = reports["/files/gone.pdf"]
    assert (gone.readable, gone.error) == (False, "附件无法下载：HTTP 404")
    scan = reports["/files/2024.pdf"]
    assert (scan.readable, scan.error, scan.year, scan.title) == (False, SCANNED, 2024, "测试站2024年政府信息公开工作年度报告")
    word = reports["/files/2023.docx"]  # listed directly in the column: its title is the list's
    assert (word.format, word.year, word.readable, word.published) == ("docx", 2023, True, dt.date(2024, 1, 22))
    legacy = reports["/files/2022.doc"]
    assert (legacy.format, legacy.readable) == ("doc", False) and "DOC" in legacy.error
    website = reports["/files/wzbb2025.xlsx"]
    assert (website.kind, website.format, website.year, website.readable) == ("website", "xlsx", 2025, True)


def test_first_seen_is_the_first_run_that_stored_the_report(tmp_path):
    home = page("""<a href="/ndbg/2025.html">测试站2025年政府信息公开工作年度报告</a>""", "测试站")
    report = page("<p>一、总体情况</p>", "测试站2025年政府信息公开工作年度报告")
    from govaudit.audit import CrawlOptions, run
    from govaudit.db import open_database

    with MockServer({"/": Reply(home), "/ndbg/2025.html": Reply(report)}) as server:
        config = write_config(tmp_path, server)
        db = f"sqlite:///{tmp_path}/audit.db"
        for as_of in (dt.date(2026, 2, 1), dt.date(2026, 3, 1)):
            run(config, db_url=db, out_dir=None, as_of=as_of, log_dir=tmp_path / "logs",
                options=CrawlOptions(cache_dir=tmp_path / "cache"))
    factory = open_database(db)
    with factory() as session:
        seen = session.execute(select(CrawlRun.as_of, AnnualReport.first_seen).join(
            AnnualReport, AnnualReport.crawl_run_id == CrawlRun.id).order_by(CrawlRun.id)).all()
    assert seen == [(dt.date(2026, 2, 1), dt.date(2026, 2, 1)), (dt.date(2026, 3, 1), dt.date(2026, 2, 1))]
    with factory() as session:
        # The second night's page was unchanged (read from the store of readings): its text is read again.
        second = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert second.stats["reused"] >= 1
        texts = session.scalars(select(AnnualReport.text).order_by(AnnualReport.id)).all()
        assert all("一、总体情况" in text for text in texts)


def test_a_database_of_revision_0003_is_upgraded_with_its_rows_and_gets_the_report_table(tmp_path):
    from alembic import command
    from sqlalchemy import inspect, text

    from govaudit.db import alembic_config, make_engine, open_database
    from tests.test_db import schema_diff

    url = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO site (id, name, url, kind) VALUES ('s', 'n', 'http://s.test/', 'department')"))
        conn.execute(text("INSERT INTO audit_run (id, started_at, as_of, status) VALUES (1, '2026-01-01', '2026-01-01', 'completed')"))
        conn.execute(text("INSERT INTO crawl_run (id, audit_run_id, site_id, started_at, as_of, status) "
                          "VALUES (1, 1, 's', '2026-01-01', '2026-01-01', 'completed')"))
        conn.execute(text("INSERT INTO page (crawl_run_id, url, status, fetched_at, rendered_by_js, depth, kind, text) "
                          "VALUES (1, 'http://s.test/', 200, '2026-01-01', 0, 0, 'home', '首页')"))
    factory = open_database(url)
    assert "annual_report" in inspect(factory.kw["bind"]).get_table_names()
    assert schema_diff(factory) == []
    with factory.begin() as session:
        assert session.scalar(text("SELECT text FROM page")) == "首页"
        session.add(AnnualReport(crawl_run_id=1, url="http://s.test/a.pdf", kind="information", format="pdf",
                                 readable=False, error=SCANNED, tables=[]))
    with factory() as session:
        [stored] = session.scalars(select(AnnualReport)).all()
        assert (stored.readable, stored.error, stored.tables) == (False, SCANNED, [])


def test_the_html_report_lists_the_reports_found_and_ar_evidence_by_name(tmp_path):
    import re

    from checks.base import Finding
    from govaudit.db import open_database
    from govaudit.findings import record_findings, select_runs
    from govaudit.models import AuditRun, Site
    from reports.html import render_report

    factory = open_database(f"sqlite:///{tmp_path}/audit.db")
    with factory.begin() as session:
        session.add(Site(id="s", name="测试局", url="http://s.test/", unit="办公室"))
        audit = AuditRun(as_of=dt.date(2026, 6, 15), status="completed")
        run = CrawlRun(audit_run=audit, site_id="s", as_of=dt.date(2026, 6, 15), status="completed")
        session.add_all([audit, run])
        session.flush()
        session.add_all([
            AnnualReport(crawl_run_id=run.id, url="http://s.test/ndbg/2025.pdf", title="测试局2025年政府信息公开工作年度报告",
                         year=2025, kind="information", format="pdf", published=dt.date(2026, 2, 5), readable=False,
                         error=SCANNED, tables=[]),
            AnnualReport(crawl_run_id=run.id, url="http://s.test/wzbb.xlsx", title="政府网站工作年度报表（2025年度）",
                         year=2025, kind="website", format="xlsx", readable=True, text="报表", tables=[[["a"]]]),
        ])
        record_findings(session, run, [Finding(
            check="AR03", severity="minor", url="http://s.test/ndbg/2025.html", message="表格数据不一致", unit="办公室",
            evidence={"table": "收到和处理政府信息公开申请情况", "cell": "自然人列", "equation": "本年新收 + 上年结转 = …",
                      "left": 8, "right": 7})])
    with factory() as session:
        page = render_report(session, select_runs(session), tmp_path / "out").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "发现的年度报告" in text
    assert "2025 政府信息公开工作年度报告 测试局2025年政府信息公开工作年度报告 http://s.test/ndbg/2025.pdf pdf 2026-02-05 无法读取：扫描件，无文字层" in text
    assert "政府网站工作年度报表 政府网站工作年度报表（2025年度） http://s.test/wzbb.xlsx xlsx — 可读取（1 个表格）" in text
    assert "勾稽关系" in text and "等式左边" in text and "等式右边" in text


def test_an_attachment_failing_once_is_read_on_its_second_look_and_one_over_the_cap_is_unreadable(tmp_path):
    from crawler.attachments import ATTACHMENT_MAX_BYTES

    home = page("""<a href="/files/2025.pdf">测试站2025年政府信息公开工作年度报告</a>
        <a href="/files/huge.pdf">测试站2024年政府信息公开工作年度报告</a>""", "测试站")

    def busy_once(count: int) -> Reply:
        return Reply("维护中", status=503) if count == 1 else Reply(pdf_report(), headers=PDF)

    routes = {"/": Reply(home), "/files/2025.pdf": busy_once,
              "/files/huge.pdf": Reply(b"%PDF-1.4\n" + b"0" * (ATTACHMENT_MAX_BYTES + 1024), headers=PDF)}
    with MockServer(routes) as server:
        result, factory = crawl(tmp_path, write_config(tmp_path, server))
        assert result.runs[0].status == "completed"
        reports = {r.url.removeprefix(server.url("")): r for r in rows(factory, AnnualReport)}
        assert server.hits["/files/2025.pdf"] == 2
    assert reports["/files/2025.pdf"].readable and "一、总体情况" in reports["/files/2025.pdf"].text
    huge = reports["/files/huge.pdf"]
    assert (huge.readable, huge.year) == (False, 2024)
    assert huge.error == "附件无法下载：response too large or cancelled"
