"""The audit database: migrations on SQLite and PostgreSQL, and the findings lifecycle across runs."""

from __future__ import annotations

import datetime as dt

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from checks.base import Finding
from govaudit.db import open_database
from govaudit.findings import add_working_days, finding_dict, record_findings, run_findings
from govaudit.models import AuditRun, Base, CrawlRun, Link, Page, Site


def schema_diff(factory) -> list:
    with factory.kw["bind"].connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_migrations_create_the_schema_of_the_models_on_sqlite(tmp_path):
    factory = open_database(f"sqlite:///{tmp_path}/audit.db")
    tables = set(inspect(factory.kw["bind"]).get_table_names())
    assert {"site", "audit_run", "crawl_run", "page", "link", "probe", "site_column", "listing", "document",
            "finding"} <= tables
    assert schema_diff(factory) == []


def test_migrations_apply_on_postgresql(pg_url):
    factory = open_database(pg_url)
    assert schema_diff(factory) == []
    lifecycle_across_three_runs(factory)


def new_run(session, as_of: dt.date) -> CrawlRun:
    if session.get(Site, "s") is None:
        session.add(Site(id="s", name="示范站", url="http://s.test/", unit="办公室"))
    audit = AuditRun(as_of=as_of)
    run = CrawlRun(audit_run=audit, site_id="s", as_of=as_of, status="crawled")
    session.add_all([audit, run])
    session.flush()
    return run


def blank(url: str) -> Finding:
    return Finding(check="UP04", severity="major", url=url, message="空白栏目", column="c", unit="办公室")


def lifecycle_across_three_runs(factory) -> None:
    with factory.begin() as session:
        first = new_run(session, dt.date(2026, 6, 1))
        record_findings(session, first, [blank("http://s.test/a"), blank("http://s.test/b")])
        first.status = "completed"
    with factory.begin() as session:
        second = new_run(session, dt.date(2026, 6, 2))
        record_findings(session, second, [blank("http://s.test/a"), blank("http://s.test/c")])
        second.status = "completed"
    with factory() as session:
        rows = {(r.url, r.status) for r in run_findings(session, [second])}
        assert rows == {("http://s.test/a", "open"), ("http://s.test/c", "new"), ("http://s.test/b", "resolved")}
        by_url = {r.url: finding_dict(r) for r in run_findings(session, [second])}
        assert by_url["http://s.test/a"]["times_seen"] == 2
        first_a = [r for r in run_findings(session, [session.get(CrawlRun, first.id)]) if r.url.endswith("/a")][0]
        assert by_url["http://s.test/a"]["first_seen"] == finding_dict(first_a)["first_seen"]
    with factory.begin() as session:
        third = new_run(session, dt.date(2026, 6, 3))
        record_findings(session, third, [blank("http://s.test/a")])
        third.status = "completed"
    with factory() as session:
        rows = {(r.url, r.status) for r in run_findings(session, [third])}
        # b was resolved in the second run: it is not reported as resolved again.
        assert rows == {("http://s.test/a", "open"), ("http://s.test/c", "resolved")}


def test_findings_are_new_open_then_resolved_across_runs(tmp_path):
    lifecycle_across_three_runs(open_database(f"sqlite:///{tmp_path}/audit.db"))


def test_a_failed_run_is_not_the_baseline_of_the_next(tmp_path):
    factory = open_database(f"sqlite:///{tmp_path}/audit.db")
    with factory.begin() as session:
        first = new_run(session, dt.date(2026, 6, 1))
        record_findings(session, first, [blank("http://s.test/a")])
        first.status = "completed"
        broken = new_run(session, dt.date(2026, 6, 2))
        broken.status = "failed"
        third = new_run(session, dt.date(2026, 6, 3))
        records = record_findings(session, third, [blank("http://s.test/a")])
    assert [r.status for r in records] == ["open"]


def test_the_deadline_counts_working_days():
    friday = dt.date(2026, 6, 12)
    assert add_working_days(friday, 1) == dt.date(2026, 6, 15)
    assert add_working_days(friday, 10) == dt.date(2026, 6, 26)


def test_a_move_to_https_keeps_fingerprints_but_other_hosts_do_not():
    from govaudit.findings import fingerprint

    home = "http://www.example.gov.cn/"
    same = fingerprint("s", "UP04", "http://www.example.gov.cn/col/1/", "c", home=home)
    assert same == fingerprint("s", "UP04", "https://www.example.gov.cn/col/1/", "c", home="https://www.example.gov.cn/")
    assert same != fingerprint("s", "UP04", "http://other.gov.cn/col/1/", "c", home=home)
    assert same != fingerprint("s", "UP04", "http://www.example.gov.cn/col/2/", "c", home=home)


def test_a_database_of_the_first_schema_is_migrated_with_its_rows(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from govaudit.db import alembic_config, make_engine

    url = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO site (id, name, url, kind) VALUES ('s', 'n', 'http://s.test/', 'department')"))
        conn.execute(text("INSERT INTO audit_run (id, started_at, as_of, status) VALUES (1, '2026-01-01', '2026-01-01', 'completed')"))
        conn.execute(text("INSERT INTO crawl_run (id, audit_run_id, site_id, started_at, as_of, status) "
                          "VALUES (1, 1, 's', '2026-01-01', '2026-01-01', 'completed')"))
        conn.execute(text("INSERT INTO site_column (crawl_run_id, name, url, category, category_guessed, source, "
                          "entries, list_pages, nav_only, truncated) VALUES (1, 'c', 'http://s.test/c', 'news', 0, "
                          "'config', 3, 1, 0, 0)"))
    factory = open_database(url)
    with factory() as session:
        from govaudit.models import Column

        [column] = session.query(Column).all()
        assert (column.entries, column.rendered_by_js) == (3, False)
    assert schema_diff(factory) == []


def test_a_resolved_finding_that_returns_is_reopened_with_a_new_deadline(tmp_path):
    factory = open_database(f"sqlite:///{tmp_path}/audit.db")
    statuses = []
    for day, urls in ((1, ["a"]), (2, []), (3, ["a"]), (4, ["a"])):
        with factory.begin() as session:
            run = new_run(session, dt.date(2026, 6, day))
            records = record_findings(session, run, [blank(f"http://s.test/{u}") for u in urls])
            run.status = "completed"
            statuses.append([(r.status, r.times_seen, r.deadline) for r in records])
    assert statuses[0] == [("new", 1, dt.date(2026, 6, 15))]
    assert [s for s, _, _ in statuses[1]] == ["resolved"]
    assert statuses[2] == [("reopened", 2, dt.date(2026, 6, 17))]
    assert statuses[3] == [("open", 3, dt.date(2026, 6, 17))]


def test_a_waiver_in_force_marks_the_finding_and_an_expired_one_does_not(tmp_path):
    from govaudit.config import Waiver
    from govaudit.findings import fingerprint, is_overdue, is_waived

    factory = open_database(f"sqlite:///{tmp_path}/audit.db")
    fp_a = fingerprint("s", "UP04", "http://s.test/a", "c", home="http://s.test/")
    fp_b = fingerprint("s", "UP04", "http://s.test/b", "c", home="http://s.test/")
    waivers = [Waiver(fingerprint=fp_a, reason="栏目已撤销，待删除", until=dt.date(2026, 12, 31)),
               Waiver(fingerprint=fp_b, reason="过期豁免", until=dt.date(2026, 1, 1))]
    with factory.begin() as session:
        run = new_run(session, dt.date(2026, 6, 1))
        run.site_config = {"url": "http://s.test/"}
        records = {r.url: r for r in record_findings(session, run, [blank("http://s.test/a"), blank("http://s.test/b")],
                                                     waivers=waivers)}
    a, b = records["http://s.test/a"], records["http://s.test/b"]
    assert is_waived(a, dt.date(2026, 6, 1)) and a.waiver_reason == "栏目已撤销，待删除"
    assert not is_waived(b, dt.date(2026, 6, 1)) and b.waiver_reason is None
    assert finding_dict(a, dt.date(2026, 6, 1))["waiver"] == {"reason": "栏目已撤销，待删除", "until": "2026-12-31"}
    b.status = "open"
    assert is_overdue(b, dt.date(2026, 6, 16)) and not is_overdue(b, dt.date(2026, 6, 15))


def test_a_crawl_stored_before_0003_is_migrated_and_its_pages_give_no_content_or_identity_finding(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from checks.registry import run_checks
    from govaudit.config import SiteConfig
    from govaudit.db import alembic_config, make_engine
    from govaudit.models import Link, Page

    url = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO site (id, name, url, kind) VALUES ('s', 'n', 'http://s.test/', 'department')"))
        conn.execute(text("INSERT INTO audit_run (id, started_at, as_of, status) VALUES (1, '2026-01-01', '2026-01-01', 'completed')"))
        conn.execute(text("INSERT INTO crawl_run (id, audit_run_id, site_id, started_at, as_of, status) "
                          "VALUES (1, 1, 's', '2026-01-01', '2026-01-01', 'crawled')"))
        conn.execute(text("INSERT INTO page (crawl_run_id, url, status, fetched_at, rendered_by_js, depth, kind) "
                          "VALUES (1, 'http://s.test/', 200, '2026-01-01', 0, 0, 'home')"))
        conn.execute(text("INSERT INTO link (crawl_run_id, from_url, to_url, kind) "
                          "VALUES (1, 'http://s.test/', 'http://else.test/', 'external')"))
    factory = open_database(url)
    assert schema_diff(factory) == []
    with factory() as session:
        [page] = session.query(Page).all()
        [link] = session.query(Link).all()
        assert (page.text, page.meta_tags, page.footer, link.hidden) == (None, None, None, None)
        run = session.get(CrawlRun, 1)
        site = SiteConfig(id="s", name="n", url="http://s.test/")
        findings, errors = run_checks(session, run, site, codes=["SC01", "SC02", "SC03", "ID01", "ID02"])
        assert (findings, errors) == ([], [])


def test_migrations_downgrade_to_nothing_and_apply_again(audit_db):
    """0001–0003 down to an empty schema and up again, on the database of this pass (SQLite or PostgreSQL)."""
    from alembic import command

    from govaudit.db import alembic_config

    factory = open_database(audit_db)
    engine = factory.kw["bind"]
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(alembic_config(engine), "head")
    assert schema_diff(factory) == []
    lifecycle_across_three_runs(factory)


def inserts_into(engine, table: str) -> list[tuple[int, bool]]:
    """(rows, executemany) of every INSERT INTO ``table`` the engine sends from now on."""
    from sqlalchemy import event

    seen: list[tuple[int, bool]] = []

    def look(_conn, _cursor, statement, parameters, _context, executemany) -> None:
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} "):
            seen.append((len(parameters) if executemany else statement.count("%(") or 1, executemany))

    event.listen(engine, "before_cursor_execute", look)
    return seen


def test_bulk_writes_go_in_batches_not_row_by_row(audit_db):
    """The crawl's pages and links, and the findings of a run, are written as a few batched statements
    (executemany, or SQLAlchemy's insertmanyvalues), on SQLite and PostgreSQL alike."""
    from crawler.items import LinkItem, LinksItem, PageItem
    from crawler.pipelines import AuditDatabasePipeline

    factory = open_database(audit_db)
    engine = factory.kw["bind"]
    with factory.begin() as session:
        run = new_run(session, dt.date(2026, 6, 1))
    pages, links, findings = (inserts_into(engine, t) for t in ("page", "link", "finding"))
    pipeline = AuditDatabasePipeline(audit_db, run.id, writer_thread=False)  # the statements of this process
    pipeline.open_spider()
    pipeline.factory = factory  # the engine watched here
    for i in range(300):
        pipeline.process_item(PageItem(url=f"http://s.test/{i}", final_url=None, status=200))
        pipeline.process_item(LinksItem(from_url=f"http://s.test/{i}", links=[
            LinkItem(from_url=f"http://s.test/{i}", to_url=f"http://s.test/{j}", anchor="链接", kind="content")
            for j in range(3)]))
    pipeline.flush()
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Page).where(Page.crawl_run_id == run.id)) == 300
        assert session.scalar(select(func.count()).select_from(Link).where(Link.crawl_run_id == run.id)) == 900
    # FLUSH_ROWS (1000) rows a flush: two flushes, one statement per table each.
    assert 1 <= len(pages) <= 3 and 1 <= len(links) <= 3, (pages, links)
    with factory.begin() as session:
        run = session.get(CrawlRun, run.id)
        record_findings(session, run, [blank(f"http://s.test/{i}") for i in range(300)])
    assert 1 <= len(findings) <= 2, findings
