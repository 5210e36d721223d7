"""`govaudit probe`: loopback sites that answer, fail, refuse connections and hang; AV01 on the history."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from checks.registry import run_checks
from govaudit.cli import main
from govaudit.config import Config
from govaudit.db import DatabaseError, open_database
from govaudit.models import AuditRun, AvailabilityProbe, CrawlRun, Page, Site
from govaudit.probe import probe_sites
from tests.mockserver import MockServer, Reply

TIMEOUT = 0.5  # the hanging column is held longer than this


@pytest.fixture
def portal() -> Iterator[MockServer]:
    """A site whose home page answers, with columns that answer, break, are gone, refuse robots or hang."""
    release = threading.Event()

    def hang(_count: int) -> Reply:
        release.wait(30)
        return Reply("<html><body>迟到的页面</body></html>")

    routes = {
        "/": Reply("<html><body>示范县人民政府</body></html>"),
        "/zwgk/": Reply("<html><body>政务公开</body></html>"),
        "/tzgg/": Reply("<html><body>Internal Server Error</body></html>", status=500),
        "/old/": Reply("<html><body>not found</body></html>", status=404),
        "/zcwj/": Reply("<html><body>请开启 JavaScript</body></html>", status=412),
        "/slow/": hang,
    }
    with MockServer(routes) as server:
        try:
            yield server
        finally:
            release.set()


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port bound but not listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def sites_config(server: MockServer, dead_port: int) -> dict:
    columns = [("政务公开", "/zwgk/"), ("通知公告", "/tzgg/"), ("旧栏目", "/old/"), ("政策文件", "/zcwj/"),
               ("慢栏目", "/slow/")]
    return {
        "crawler": {"contact": "mailto:audit@example.gov.cn"},
        "sites": [
            {"id": "portal", "name": "示范县人民政府", "url": server.url("/"), "unit": "县政府办公室",
             "columns": [{"name": name, "url": server.url(path)} for name, path in columns]},
            {"id": "dead", "name": "停运局", "url": f"http://127.0.0.1:{dead_port}/"},
        ],
    }


def stored(db: str) -> dict[str, tuple]:
    with open_database(db)() as session:
        rows = session.scalars(select(AvailabilityProbe).order_by(AvailabilityProbe.id)).all()
        return {r.url: (r.site_id, r.kind, r.ok, r.status, r.error) for r in rows}


def test_probe_stores_one_row_per_url_and_counts_what_failed(tmp_path, portal, dead_port):
    db = f"sqlite:///{tmp_path}/audit.db"
    now = dt.datetime(2026, 6, 15, 2, 0)

    summary = probe_sites(Config.model_validate(sites_config(portal, dead_port)), db_url=db, timeout=TIMEOUT,
                          now=now)

    dead = f"http://127.0.0.1:{dead_port}/"
    assert stored(db) == {
        portal.url("/"): ("portal", "home", True, 200, None),
        portal.url("/zwgk/"): ("portal", "column", True, 200, None),
        portal.url("/tzgg/"): ("portal", "column", False, 500, None),
        portal.url("/old/"): ("portal", "column", False, 404, None),
        # An anti-bot gateway's refusal is no outage: kept with its status, not counted.
        portal.url("/zcwj/"): ("portal", "column", True, 412, None),
        portal.url("/slow/"): ("portal", "column", False, None, "timeout"),
        dead: ("dead", "home", False, None, "connection refused"),
    }
    assert (summary.sites, summary.urls, summary.failed) == (2, 7, 4)
    assert summary.checked_at == now
    assert sorted((f.url, f.reason) for f in summary.failures) == sorted([
        (portal.url("/tzgg/"), "HTTP 500"), (portal.url("/old/"), "HTTP 404"),
        (portal.url("/slow/"), "timeout"), (dead, "connection refused"),
    ])
    with open_database(db)() as session:
        assert {r.checked_at for r in session.scalars(select(AvailabilityProbe))} == {now}
        assert session.get(Site, "dead").name == "停运局"
        slow = session.scalars(
            select(AvailabilityProbe).where(AvailabilityProbe.url == portal.url("/slow/"))
        ).one()
    assert TIMEOUT * 1000 <= slow.elapsed_ms < TIMEOUT * 1000 + 2000


def test_probe_command_prints_each_failure_and_a_total_and_exits_0(tmp_path, portal, dead_port):
    config = tmp_path / "sites.yml"
    config.write_text(yaml.safe_dump(sites_config(portal, dead_port), allow_unicode=True), encoding="utf-8")
    db = f"sqlite:///{tmp_path}/audit.db"
    args = ["probe", "--config", str(config), "--db", db, "--timeout", str(TIMEOUT)]

    result = CliRunner().invoke(main, args)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert sorted(lines[:-1]) == sorted([
        f"FAILED dead home http://127.0.0.1:{dead_port}/: connection refused",
        f"FAILED portal column {portal.url('/old/')}: HTTP 404",
        f"FAILED portal column {portal.url('/slow/')}: timeout",
        f"FAILED portal column {portal.url('/tzgg/')}: HTTP 500",
    ])
    assert lines[-1].startswith("probe ") and lines[-1].endswith(" s")
    assert ": 2 site(s), 7 URL(s), 4 failed, " in lines[-1]
    assert len(stored(db)) == 7


def test_probe_command_with_one_site_probes_only_that_site(tmp_path, portal, dead_port):
    config = tmp_path / "sites.yml"
    config.write_text(yaml.safe_dump(sites_config(portal, dead_port), allow_unicode=True), encoding="utf-8")
    db = f"sqlite:///{tmp_path}/audit.db"

    result = CliRunner().invoke(main, ["probe", "--config", str(config), "--db", db, "--site", "dead"])

    assert result.exit_code == 0, result.output
    assert ": 1 site(s), 1 URL(s), 1 failed, " in result.stdout
    assert set(stored(db)) == {f"http://127.0.0.1:{dead_port}/"}


@pytest.mark.parametrize(("args", "says"), [
    (["--config", "{tmp}/missing.yml"], "file not found"),
    (["--config", "{tmp}/sites.yml", "--site", "nosuch"], "no site with id nosuch"),
    (["--config", "{tmp}/sites.yml", "--db", "not a database url"], "not a database URL"),
])
def test_probe_command_exits_1_when_it_cannot_run(tmp_path, args, says):
    sites = "sites:\n  - {id: a, name: 甲, url: 'http://a.test/'}\n"
    (tmp_path / "sites.yml").write_text(sites, encoding="utf-8")

    result = CliRunner().invoke(main, ["probe", *[a.format(tmp=tmp_path) for a in args]])

    assert result.exit_code == 1
    assert says in result.output


def test_probe_sends_the_crawlers_user_agent_with_the_contact(tmp_path):
    agents: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            agents.append(self.headers["User-Agent"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        config = Config.model_validate({
            "crawler": {"contact": "mailto:audit@example.gov.cn"},
            "sites": [{"id": "a", "name": "甲", "url": f"http://127.0.0.1:{httpd.server_address[1]}/"}],
        })
        summary = probe_sites(config, db_url=f"sqlite:///{tmp_path}/audit.db")
        httpd.shutdown()

    assert summary.failed == 0
    # HTTP headers travel as bytes; the server reads them as Latin-1.
    assert [a.encode("latin-1").decode("utf-8") for a in agents] == [
        "govaudit/0.1.0 (政务公开 compliance audit; +mailto:audit@example.gov.cn)"
    ]


def run_av01(db: str, config: Config, as_of: dt.date) -> list:
    """AV01 on a crawl run of the site whose home page answered in the crawl itself."""
    site = config.sites[0]
    with open_database(db).begin() as session:
        run = CrawlRun(audit_run=AuditRun(as_of=as_of), site_id=site.id, as_of=as_of, status="crawled",
                       site_config=site.model_dump(mode="json"))
        session.add(run)
        session.flush()
        session.add(Page(crawl_run_id=run.id, url=site.url, final_url=site.url, kind="home", status=200))
        session.flush()
        findings, errors = run_checks(session, run, site, codes=["AV01"])
    assert errors == []
    return findings


def test_av01_vetoes_a_home_page_that_failed_1_of_the_20_probes_probe_sites_wrote(tmp_path):
    def home(count: int) -> Reply:
        return Reply("维护中", status=503) if count == 1 else Reply("<html><body>示范县人民政府</body></html>")

    db = f"sqlite:///{tmp_path}/audit.db"
    first = dt.datetime(2026, 6, 14, 16, 0)  # 2026-06-15 00:00 in China
    with MockServer({"/": home}) as server:
        config = Config.model_validate({"sites": [{"id": "portal", "name": "示范县人民政府", "url": server.url("/"),
                                                   "unit": "县政府办公室"}]})
        for i in range(20):
            probe_sites(config, db_url=db, now=first + dt.timedelta(minutes=30 * i))

    findings = run_av01(db, config, dt.date(2026, 6, 15))

    assert [(f.check, f.severity, f.url, f.unit) for f in findings] == [
        ("AV01", "veto", server.url("/"), "县政府办公室")
    ]
    assert findings[0].message == ("近 7 天（2026-06-09 至 2026-06-15）网站首页监测 20 次中 1 次无法访问（5.0%），"
                                   "达到 5% 即单项否决，首页应全天候可正常访问")
    evidence = findings[0].evidence
    assert (evidence["probes"], evidence["failed"], evidence["window"]) == (20, 1, "2026-06-09/2026-06-15")
    assert evidence["first_failure"] == evidence["last_failure"] == "2026-06-15T00:00:00+08:00"
    assert evidence["failures"] == [
        {"checked_at": "2026-06-15T00:00:00+08:00", "url": server.url("/"), "status": 503, "error": None}
    ]


def test_probe_checks_the_database_before_probing(portal, dead_port):
    with pytest.raises(DatabaseError, match="not a database URL"):
        probe_sites(Config.model_validate(sites_config(portal, dead_port)), db_url="not a database url")
    assert portal.hits == {}
