"""The audit of an incremental crawl (checks.base.AuditContext.fresh): rows copied unchanged from the last
run are not read again by the checks of a page alone, when that run's audit holds for them; whatever does
not hold (a failed check, other code, another column) has them read again."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select, true

from checks.base import AuditContext
from checks.content import SC02
from checks.registry import run_checks
from govaudit.config import SiteConfig
from govaudit.db import open_database
from govaudit.models import CrawlRun, Document, FindingRecord, Page
from tests.conftest import audit_db_url
from tests.mockserver import MockServer
from tests.test_lifecycle import list_page
from tests.test_revisit import DAYS, Site, a_night, config_for, document, night, no_turn_night

pytestmark = pytest.mark.db  # the copy of carried rows is SQL of each database's own


def copied(tmp_path: Path, model, run_id: int) -> dict[str, int | None]:
    with open_database(audit_db_url(tmp_path))() as session:
        return dict(session.execute(select(model.url, model.copied_from).where(model.crawl_run_id == run_id)).all())


def findings(tmp_path: Path, run_id: int, *, everything: bool = False, monkeypatch=None) -> list[tuple]:
    """The checks' findings on a stored run, as the audit makes them, or reading every row (``everything``)."""
    if everything:
        monkeypatch.setattr(AuditContext, "fresh", lambda self, model: true())
    try:
        with open_database(audit_db_url(tmp_path))() as session:
            run = session.get(CrawlRun, run_id)
            found, errors = run_checks(session, run, SiteConfig.model_validate(run.site_config))
    finally:
        if everything:
            monkeypatch.undo()
    assert errors == []
    return sorted((f.check, f.url, f.key, f.message) for f in found)


def test_copied_rows_name_their_run_and_the_audit_finds_what_reading_everything_finds(tmp_path, monkeypatch):
    site = Site()
    with MockServer(site.routes) as server:
        u = server.url
        config = config_for(tmp_path, server)
        as_of = no_turn_night(server)
        first = night(tmp_path, config, as_of)
        second = night(tmp_path, config, as_of)
    assert first.stats["audit_fingerprint"] == second.stats["audit_fingerprint"]
    pages = copied(tmp_path, Page, second.id)
    # The carried pages' rows name the run they came from; the page asked for again (MD01's) does not.
    assert {url for url, since in pages.items() if since == first.id} == {
        u("/art/1.html"), u("/art/2.html"), u("/files/a1.pdf")}
    assert pages[u("/art/3.html")] is None and pages[u("/")] is None
    assert all(since is None for since in copied(tmp_path, Page, first.id).values())
    assert copied(tmp_path, Document, second.id) == {u("/art/1.html"): first.id, u("/art/2.html"): first.id,
                                                     u("/art/3.html"): None, u("/about.html"): None}
    with open_database(audit_db_url(tmp_path))() as session:
        run = session.get(CrawlRun, second.id)
        ctx = AuditContext(session, run, SiteConfig.model_validate(run.site_config))
        assert ctx.unchanged_from() == (first.id, frozenset())
        fresh = set(session.scalars(select(Page.url).where(Page.crawl_run_id == second.id, ctx.fresh(Page))))
        assert u("/art/1.html") not in fresh and u("/art/3.html") in fresh
    tonight = findings(tmp_path, second.id)
    assert ("MD01", u("/art/3.html")) in {(check, url) for check, url, *_ in tonight}
    assert tonight == findings(tmp_path, second.id, everything=True, monkeypatch=monkeypatch)


@pytest.mark.parametrize("how", ["a-check-failed", "other-code", "same-code"])
def test_a_copied_page_is_read_again_unless_the_last_audit_holds_for_it(tmp_path, monkeypatch, how):
    site = Site()
    with MockServer(site.routes) as server:
        u = server.url
        config = config_for(tmp_path, server)
        as_of = no_turn_night(server)
        with monkeypatch.context() as night_one:
            if how == "a-check-failed":  # the first night's SC02 fails: its pages are not known to be clean
                night_one.setattr(SC02, "run", lambda self, ctx: (_ for _ in ()).throw(RuntimeError("broken")))
            first = night(tmp_path, config, as_of)
        assert ("audit_fingerprint" in first.stats) is (how != "a-check-failed")
        # Tonight SC02 knows a wording it did not know (a new release of the checks, say) that
        # /art/1.html, carried unchanged, has in its title.
        terms = {**SC02.defaults["terms"], "农业补贴办法": "农业补贴管理办法"}
        monkeypatch.setitem(SC02.defaults, "terms", terms)
        if how == "other-code":
            monkeypatch.setattr("checks.base._code_digest", lambda: "another release")
        second = night(tmp_path, config, as_of)
    assert copied(tmp_path, Page, second.id)[u("/art/1.html")] == first.id  # carried, its rows copied
    with open_database(audit_db_url(tmp_path))() as session:
        sc02 = set(session.scalars(select(FindingRecord.url).where(
            FindingRecord.crawl_run_id == second.id, FindingRecord.check == "SC02")))
    if how == "same-code":
        # The same code and config as last night, whose audit ran every check: the copied page is not read
        # again. (Only a code change makes a check see what it did not see: so a fingerprint change is
        # what makes the audit read everything again; this case shows that the reading is skipped.)
        assert sc02 == {u("/col/zcwj/")}  # the list, asked for every night, shows the title too
    else:
        assert sc02 == {u("/col/zcwj/"), u("/art/1.html")}


def test_a_document_copied_into_another_column_is_read_again(tmp_path):
    """/art/3.html has no 索引号; in a news column that is no defect (MD01 is for catalogue columns).
    Tonight the same entry (title and date unchanged) is listed by the policy column instead: the page is
    carried and its rows copied, but its document is another column's, and MD01 must find it."""
    entries = [("/art/1.html", "关于印发示范县农业补贴办法的通知", "2026-06-10"),
               ("/art/3.html", "关于开展安全生产检查的通知", "2026-06-08")]
    routes = {
        "/": Site().routes["/"],
        "/art/1.html": document("关于印发示范县农业补贴办法的通知", "11360700MB1234567R/2026-00001", "2026-06-10"),
        "/art/3.html": document("关于开展安全生产检查的通知", None, "2026-06-08"),
    }
    routes["/col/zcwj/"] = list_page("政策文件", entries[:1])
    routes["/col/xwdt/"] = list_page("新闻动态", entries[1:])
    with MockServer(routes) as server:
        u = server.url
        path = tmp_path / "sites.yml"
        path.write_text(textwrap.dedent(f"""\
            sites:
              - id: county
                name: 示范县人民政府
                url: {u('/')}
                unit: 县政府办公室
                render: static
                screenshots: false
                limits: {{delay: 0, concurrency: 4, timeout: 5, recheck_delay: 0.2, revisit_days: {DAYS}}}
                columns:
                  - {{name: 政策文件, url: "{u('/col/zcwj/')}", category: policy}}
                  - {{name: 新闻动态, url: "{u('/col/xwdt/')}", category: news}}
            """), encoding="utf-8")
        as_of = a_night([], [u("/art/1.html"), u("/art/3.html")])
        first = night(tmp_path, path, as_of)
        routes["/col/zcwj/"] = list_page("政策文件", entries)
        routes["/col/xwdt/"] = list_page("新闻动态", [])
        second = night(tmp_path, path, as_of)
    assert second.stats["copied"] >= 1
    assert copied(tmp_path, Page, second.id)[u("/art/3.html")] == first.id
    assert copied(tmp_path, Document, second.id)[u("/art/3.html")] is None  # another column's now
    assert copied(tmp_path, Document, second.id)[u("/art/1.html")] == first.id
    md01 = {url for check, url, *_ in findings(tmp_path, second.id) if check == "MD01"}
    assert u("/art/3.html") in md01
    assert u("/art/3.html") not in {url for check, url, *_ in findings(tmp_path, first.id) if check == "MD01"}
