"""Checks, run on rows built from the YAML cases in tests/fixtures/checks/<CODE>.yml.

A case describes only what matters to it; everything else has a default (see ``build_run``):
    name: what the case shows
    as_of: 2025-06-30                 # the run's date
    site: {thresholds: {UP03: {policy_days: 90}}}   # SiteConfig overrides
    home: {status: 200, dates: [2025-06-20]}   # the home page row and its dated entries; null: none
                                      # (text, meta, footer: what the crawler read of it, as on pages)
    columns: [{name: 通知公告, url: /tzgg/, category: notice, dates: [2025-06-01, null]}]
    pages, listings, documents, links, probes: rows of those tables (relative URLs are on the site);
                                      # a page's text/meta/footer, a link's hidden reason
    messages: [{url: /hdjl/1.html, column: /hdjl/, asked: 2025-06-02, replied: 2025-06-04, status: 已回复}]
                                      # board messages; answered defaults to "has a reply date"
    availability_probes: [{at: 2025-06-29T10:00:00+08:00, ok: false, error: timeout, repeat: 20, every: 30}]
                                      # the site's probe history; repeat: that many, `every` minutes apart
    accounts: [{name: 示范发布, platform: wechat, url: "http://mp.test/a", status: ok, latest_post: 2025-06-28}]
                                      # 政务新媒体: configured under new_media and stored as fetched
                                      # (fetched: false — configured only; configured: false — row only)
    annual_reports: [{url: /ndbg/1.html, title: …2025年政府信息公开工作年度报告, published: 2026-01-20,
                      report: {omit: [六、其他需要报告的事项], applications: {new: [1, 0, 0, 0, 0, 0], …}}}]
                                      # annual_report rows; ``report`` builds a 2021-format page (demo.annual_reports)
                                      # read as the crawler reads it; or text/tables/readable/error given as they are
    earlier_runs: [{as_of: 2026-02-10}]   # earlier completed crawl runs of the site (no rows)
    expect: [{url: /tzgg/, severity: major, key: ..., message: a substring}]   # check: the file's code
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import yaml
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from checks import registry
from checks.availability import AV01
from checks.base import CODE_PATTERN, Check
from checks.docs import CATALOGUE, missing_sections, render_catalogue
from checks.registry import all_checks, build_registry, known_thresholds, run_checks
from checks.updates import UP04
from govaudit.config import ConfigError, SiteConfig, parse_config
from govaudit.db import open_database
from govaudit.models import (
    AnnualReport,
    AuditRun,
    AvailabilityProbe,
    Base,
    Column,
    CrawlRun,
    Document,
    Link,
    Listing,
    Message,
    NewMediaAccount,
    Page,
    Probe,
    Site,
)
from tests.conftest import audit_db_url, on_postgresql

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
SITE_URL = "http://site.test/"
AS_OF = dt.date(2025, 6, 30)
SITE_DEFAULTS: dict[str, Any] = {"id": "test-site", "name": "测试市人民政府", "url": SITE_URL, "unit": "市政府办公室"}


def _url(value: str | None) -> str | None:
    return urljoin(SITE_URL, value) if value is not None else None


def _pick(row: dict[str, Any], key: str, default: Any = None) -> Any:
    """The row's value for key (an explicit null included), else the default."""
    return row[key] if key in row else default


def _listing_rows(column_url: str, dates: list[Any]) -> list[Listing]:
    rows = []
    for i, entry in enumerate(dates):
        entry = entry if isinstance(entry, dict) else {"date": entry}
        rows.append(Listing(
            column_url=column_url, page_url=column_url, position=i, title=entry.get("title", f"信息{i + 1}"),
            url=_url(entry.get("url", f"{column_url}art{i + 1}.html")), date=entry.get("date"),
        ))
    return rows


def build_run(session: Session, case: dict[str, Any]) -> tuple[CrawlRun, SiteConfig]:
    """The case's rows in a fresh database: one site, one audit run, one crawl run."""
    site_data = {**SITE_DEFAULTS, **case.get("site", {})}
    accounts = case.get("accounts", [])
    site_data.setdefault("new_media", [
        {key: a[key] for key in ("name", "platform", "url", "unit") if key in a}
        for a in accounts if a.get("configured", True)
    ])
    columns = case.get("columns", [])
    site_data.setdefault("columns", [
        {"name": c["name"], "url": _url(c["url"]), "category": c.get("category", "other"),
         "unit": c.get("unit"), "thresholds": c.get("thresholds", {})}
        for c in columns if c.get("source", "config") == "config"
    ])
    site = SiteConfig.model_validate(site_data)
    as_of = case.get("as_of", AS_OF)
    session.add(Site(id=site.id, name=site.name, url=site.url, unit=site.unit, kind=site.kind))
    audit = AuditRun(as_of=as_of, status="running")
    run = CrawlRun(audit_run=audit, site_id=site.id, as_of=as_of, status="crawled",
                   site_config=site.model_dump(mode="json"))
    session.add_all([audit, run])
    session.flush()
    rows: list[Any] = []

    home = case.get("home", {})
    if home is not None:
        home_url = _url(home.get("url", SITE_URL))
        rows.append(Page(url=home_url, kind="home", status=_pick(home, "status", 200),
                         error=home.get("error"), final_url=_url(home.get("final_url", home_url)),
                         title=home.get("title", site.name), text=home.get("text"),
                         meta_tags=home.get("meta"), footer=home.get("footer")))
        rows += _listing_rows(home_url, home.get("dates", []))
    for c in columns:
        url = _url(c["url"])
        dates = c.get("dates", [])
        rows.append(Column(
            name=c["name"], url=url, category=c.get("category", "other"), unit=c.get("unit"),
            source=c.get("source", "config"), status=_pick(c, "status", 200), error=c.get("error"),
            final_url=_url(c.get("final_url", url)), entries=c.get("entries", len(dates)),
            list_pages=c.get("list_pages", 1), placeholder=c.get("placeholder"),
            nav_only=c.get("nav_only", False), single_page=c.get("single_page", False),
        ))
        rows += _listing_rows(url, dates)
    for p in case.get("pages", []):
        rows.append(Page(url=_url(p["url"]), kind=p.get("kind", "other"), status=_pick(p, "status", 200),
                         error=p.get("error"), final_url=_url(p.get("final_url")), title=p.get("title"),
                         column_url=_url(p.get("column")), text=p.get("text"), meta_tags=p.get("meta"),
                         footer=p.get("footer")))
    for item in case.get("listings", []):
        column_url = _url(item.get("column", SITE_URL))
        rows.append(Listing(column_url=column_url, page_url=column_url, title=item.get("title"),
                            url=_url(item.get("url")), date=item.get("date")))
    for d in case.get("documents", []):
        rows.append(Document(
            url=_url(d["url"]), column_url=_url(d.get("column")), title=d.get("title"),
            index_number=d.get("index_number"), publisher=d.get("publisher"), written_date=d.get("written"),
            published_date=d.get("published"), doc_number=d.get("doc_number"), validity=d.get("validity"),
            has_metadata=d.get("has_metadata", True),
        ))
    for link in case.get("links", []):
        for i in range(link.get("repeat", 1)):
            rows.append(Link(
                from_url=_url(link.get("from", SITE_URL).format(i=i)), to_url=_url(link["to"].format(i=i)),
                anchor=link.get("anchor"), kind=link.get("kind", "content"),
                status=_pick(link, "status", 200), error=link.get("error"),
                final_url=_url(link.get("final_url")), hidden=link.get("hidden"),
            ))
    # A site link's outcome is its target page's (crawler.pipelines.resolve_link_status): a target with an
    # outcome has its page row, as the crawler leaves it (unless the case gives that page itself).
    pages_at = {row.url for row in rows if isinstance(row, Page)}
    for row in [row for row in rows if isinstance(row, Link)]:
        if row.kind in ("nav", "content") and (row.status is not None or row.error is not None) \
                and row.to_url not in pages_at:
            pages_at.add(row.to_url)
            rows.append(Page(url=row.to_url, kind="other", status=row.status, error=row.error,
                             final_url=row.final_url))
    for r in case.get("annual_reports", []):
        rows.append(_annual_report(r))
    for earlier in case.get("earlier_runs", []):
        before = AuditRun(as_of=earlier["as_of"], status="completed")
        session.add_all([before, CrawlRun(audit_run=before, site_id=site.id, as_of=earlier["as_of"],
                                          status=earlier.get("status", "completed"))])
    for p in case.get("probes", []):
        rows.append(Probe(url=_url(p["url"]), kind=p.get("kind", "service"), status=_pick(p, "status", 200),
                          error=p.get("error"), final_url=_url(p.get("final_url", p["url"])),
                          title=p.get("title"), text=p.get("text")))
    for a in accounts:
        if a.get("fetched", True):
            rows.append(NewMediaAccount(
                name=a["name"], platform=a["platform"], unit=a.get("unit"), url=a["url"],
                final_url=a.get("final_url", a["url"]), http_status=_pick(a, "http_status", 200),
                status=a["status"], error=a.get("error"), title=a.get("title"), latest_post=a.get("latest_post"),
                latest_text=a.get("latest_text"), posts_seen=a.get("posts_seen", 10 if a.get("latest_post") else 0),
                closed_notice=a.get("closed_notice"),
            ))
    for m in case.get("messages", []):
        rows.append(Message(
            column_url=_url(m.get("column", "/hdjl/")), url=_url(m["url"]), title=m.get("title"),
            asked=m.get("asked"), replied=m.get("replied"), reply_unit=m.get("reply_unit"),
            status=m.get("status"), answered=m.get("answered", m.get("replied") is not None),
            page_read=m.get("page_read", True),
        ))
    for row in rows:
        row.crawl_run_id = run.id
    session.add_all(rows)
    session.add_all(_availability_probes(site.id, case.get("availability_probes", [])))
    session.flush()
    return run, site


def _annual_report(r: dict[str, Any]) -> AnnualReport:
    """An annual_report row; ``report`` makes its text and tables from a 2021-format page, as the crawler
    reads a page (crawler.annual_reports)."""
    from crawler.annual_reports import _visible_text, report_year
    from demo.annual_reports import Applications, _county, report_html
    from govaudit.annual_report import html_tables

    title = r.get("title")
    year = r.get("year", report_year(title))
    text, tables = r.get("text"), r.get("tables", [])
    if "report" in r:
        spec = r["report"]
        numbers = Applications(**spec.get("applications", {
            "new": [1, 0, 0, 0, 0, 0], "carried_in": [0] * 6, "results": {"（一）予以公开": [1, 0, 0, 0, 0, 0]},
            "carried_out": [0] * 6}))
        texts = {**_county(year), **spec.get("texts", {})}
        page = report_html(year, "测试单位", texts, numbers, omit=tuple(spec.get("omit", ())))
        text, tables = _visible_text(f"<html><body><h1>{title}</h1>{page}</body></html>"), html_tables(page)
    url = _url(r["url"])
    return AnnualReport(url=url, page_url=_url(r.get("page_url")) or url, title=title, year=year,
                        kind=r.get("kind", "information"), format=r.get("format", "html"),
                        published=r.get("published"), first_seen=r.get("first_seen"),
                        readable=r.get("readable", True), error=r.get("error"), text=text, tables=tables)


def _availability_probes(site_id: str, items: list[dict[str, Any]]) -> list[AvailabilityProbe]:
    """Probe history rows (naive UTC, as stored); a failing probe defaults to a timeout."""
    rows = []
    for p in items:
        at = p["at"]
        if at.tzinfo is not None:
            at = at.astimezone(dt.UTC).replace(tzinfo=None)
        ok = p.get("ok", True)
        for i in range(p.get("repeat", 1)):
            rows.append(AvailabilityProbe(
                site_id=site_id, url=_url(p.get("url", SITE_URL)), kind=p.get("kind", "home"),
                checked_at=at + dt.timedelta(minutes=i * p.get("every", 30)), ok=ok,
                status=_pick(p, "status", 200 if ok else None),
                error=_pick(p, "error", None if ok else "timeout"), elapsed_ms=p.get("elapsed_ms", 100),
            ))
    return rows


@pytest.fixture(scope="module")
def pg_database(tmp_path_factory):
    """With ``--db postgresql``: one PostgreSQL schema for the module, migrated as the tool migrates it."""
    if not on_postgresql():
        yield None
        return
    engine = open_database(audit_db_url(tmp_path_factory.mktemp("checks"))).kw["bind"]
    yield engine
    engine.dispose()


@pytest.fixture
def session(pg_database):
    """A fresh SQLite database in memory for each case; on PostgreSQL, each case in a transaction that is
    rolled back, so that the cases do not see each other's rows."""
    if pg_database is None:
        engine = create_engine("sqlite://")
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            yield s
        engine.dispose()
        return
    with pg_database.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
            yield s
        outer.rollback()


def _fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.yml"))


def _cases() -> list[Any]:
    params = []
    for path in _fixture_files():
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            params.append(pytest.param(path.stem, case, id=f"{path.stem}: {case['name']}"))
    return params


@pytest.mark.parametrize(("code", "case"), _cases())
def test_check_fixture_case(session, code, case):
    run, site = build_run(session, case)

    findings, errors = run_checks(session, run, site, codes=[code])

    assert errors == []
    def triple(e: dict[str, Any]) -> tuple[str, str | None, str]:
        return e.get("check", code), _url(e["url"]), e["severity"]

    assert sorted((f.check, f.url, f.severity) for f in findings) == sorted(triple(e) for e in case["expect"])
    for e in case["expect"]:
        matches = [f for f in findings if (f.check, f.url, f.severity) == triple(e)]
        if "key" in e:
            matches = [f for f in matches if f.key == _url(e["key"]) or f.key == e["key"]]
            assert matches, f"no finding with key {e['key']!r}: {[f.key for f in findings]}"
        if "message" in e:
            assert any(e["message"] in f.message for f in matches), [f.message for f in findings]
    for f in findings:
        assert "\n" not in f.message and re.search(r"[\u4e00-\u9fff]", f.message), f.message
        json.dumps(f.evidence)
        assert f.unit is not None


def test_every_registered_code_has_a_fixture_with_passing_and_failing_cases():
    for code in all_checks():
        path = FIXTURES / f"{code}.yml"
        assert path.exists(), f"{code} has no fixture file {path}"
        cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
        assert any(not c["expect"] for c in cases), f"{code}: no passing case"
        assert any(c["expect"] for c in cases), f"{code}: no failing case"


def test_every_fixture_file_names_a_registered_check():
    assert {p.stem for p in _fixture_files()} <= set(all_checks())


def test_codes_are_two_capitals_and_two_digits():
    for code, check in all_checks().items():
        assert CODE_PATTERN.match(code) and check.code == code


def test_a_duplicate_code_is_refused():
    class Again(AV01):
        """Another check claiming AV01."""

    with pytest.raises(ValueError, match="duplicate check code AV01"):
        build_registry([AV01, Again])


def test_a_malformed_code_is_refused():
    class Bad(AV01):
        code = "AV1"

    with pytest.raises(ValueError, match="not two capital letters"):
        build_registry([Bad])


@pytest.mark.parametrize("code", list(all_checks()))
def test_docstring_has_summary_rule_source_bad_good(code):
    assert missing_sections(all_checks()[code]) == []


def test_every_check_has_a_chinese_name_and_a_known_source():
    for check in all_checks().values():
        assert re.search(r"[\u4e00-\u9fff]", check.name), check.code
        assert all(key in registry.SOURCES for key in registry.source_keys(check))


def test_docs_catalogue_is_up_to_date():
    assert CATALOGUE.read_text(encoding="utf-8") == render_catalogue(), (
        "docs/checks.md is stale: run `python -m checks.docs`"
    )


def test_catalogue_lists_every_check_with_its_defaults():
    text = render_catalogue()
    assert "### UP04" in text and "空白栏目" in text and '"veto_count": 5' in text


def test_known_thresholds_validate_site_overrides():
    good = "sites:\n  - {id: a, name: A, url: 'http://a.test/', thresholds: {UP03: {policy_days: 90}}}\n"
    assert parse_config(good, known=known_thresholds()).sites[0].thresholds == {"UP03": {"policy_days": 90}}
    bad = "sites:\n  - {id: a, name: A, url: 'http://a.test/', thresholds: {UP03: {polcy_days: 90}}}\n"
    with pytest.raises(ConfigError, match="unknown threshold"):
        parse_config(bad, known=known_thresholds())


def test_run_checks_survives_a_check_that_raises(session, monkeypatch):
    run, site = build_run(session, {
        "home": {"status": None, "error": "timeout"},
        "columns": [{"name": "空栏目", "url": "/k/", "entries": 0}],
    })

    def explode(self, ctx):
        raise RuntimeError("数据库连接中断")

    monkeypatch.setattr(UP04, "run", explode)
    findings, errors = run_checks(session, run, site)

    assert errors == ["UP04: RuntimeError: 数据库连接中断"]
    assert [(f.check, f.url) for f in findings] == [("AV01", SITE_URL)]
    assert findings[0].unit == "市政府办公室"


def test_run_checks_sets_the_column_unit(session):
    run, site = build_run(session, {
        "columns": [{"name": "人事信息", "url": "/rs/", "category": "personnel", "unit": "组织部",
                     "dates": [dt.date(2023, 1, 1)]}],
    })

    findings, errors = run_checks(session, run, site, codes=["UP03"])

    assert errors == []
    assert [(f.check, f.column, f.unit) for f in findings] == [("UP03", "人事信息", "组织部")]


def test_run_checks_refuses_an_unknown_code(session):
    run, site = build_run(session, {})
    with pytest.raises(KeyError, match="XX99"):
        run_checks(session, run, site, codes=["XX99"])


def test_checks_are_check_subclasses_with_number_or_term_list_thresholds():
    for check in all_checks().values():
        assert issubclass(check, Check)
        for key, value in check.defaults.items():
            # A number, a list of terms (SC02's wrong -> right wordings) as a mapping of strings, or a
            # deadline in the year (AR01, AR06: "MM-DD", empty for the rule's own).
            assert isinstance(value, int | float) or (
                isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
            ) or (key == "deadline" and isinstance(value, str) and re.fullmatch(r"(\d{2}-\d{2})?", value)), (
                check.code, value)


def test_a_deadline_threshold_must_be_a_month_and_day():
    good = "sites:\n  - {id: a, name: A, url: 'http://a.test/', thresholds: {AR01: {deadline: '01-20'}}}\n"
    assert parse_config(good, known=known_thresholds()).sites[0].thresholds["AR01"]["deadline"] == "01-20"
    for bad in ("'1-20'", "'02-30'", "'02-29'", "20"):
        text = f"sites:\n  - {{id: a, name: A, url: 'http://a.test/', thresholds: {{AR01: {{deadline: {bad}}}}}}}\n"
        with pytest.raises(ConfigError, match="must be"):
            parse_config(text, known=known_thresholds())


def test_a_term_list_threshold_must_map_strings_to_strings():
    good = "sites:\n  - {id: a, name: A, url: 'http://a.test/', thresholds: {SC02: {extra_terms: {错词: 正词}}}}\n"
    assert parse_config(good, known=known_thresholds()).sites[0].thresholds["SC02"]["extra_terms"] == {"错词": "正词"}
    bad = "sites:\n  - {id: a, name: A, url: 'http://a.test/', thresholds: {SC02: {extra_terms: {错词: 3}}}}\n"
    with pytest.raises(ConfigError, match="must map text to text"):
        parse_config(bad, known=known_thresholds())
    listed = "sites:\n  - {id: a, name: A, url: 'http://a.test/', thresholds: {SC02: {terms: [错词]}}}\n"
    with pytest.raises(ConfigError, match="must be dict"):
        parse_config(listed, known=known_thresholds())
