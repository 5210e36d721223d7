"""Fault matrix, storage: a database that cannot be written, is locked or loses its connections, and a
disk that fills while the report is written: a clear error or a run that goes on, and nothing already
stored is lost."""

from __future__ import annotations

import errno
import pathlib

from click.testing import CliRunner

from govaudit.audit import CrawlOptions, run
from govaudit.cli import main
from govaudit.db import open_database
from govaudit.findings import finding_dict, run_findings, select_runs
from tests.mockserver import MockServer, Reply
from tests.test_crawler import AS_OF, page, write_config

# The bare mock page's own defects: a dead link, no dated items, neither footer marks nor meta tags, and
# (on 2026-06-15) no 2025 annual report and no 网站工作年度报表 on the home page.
BARE_PAGE_FINDINGS = ["AR01", "AR06", "AV02", "ID01", "ID02", "UP01"]


def stored_findings(db: str) -> list[dict]:
    with open_database(db)() as session:
        return [finding_dict(f) for f in run_findings(session, select_runs(session))]


def test_a_read_only_database_stops_the_run_with_a_clear_error_and_keeps_what_it_holds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the command's var/ (logs, cache) goes there
    with MockServer({"/": Reply(page('<a href="/gone.html">旧页面</a>'))}) as server:
        config = write_config(tmp_path, server)
        path = tmp_path / "audit.db"
        db = f"sqlite:///{path}"
        run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=tmp_path / "logs",
            options=CrawlOptions(cache_dir=tmp_path / "cache"))
        before = stored_findings(db)
        assert before
        # As SQLite sees a file it may not write (the tests run as root, whom chmod does not stop).
        read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
        done = CliRunner().invoke(main, ["run", "--config", str(config), "--db", read_only,
                                         "--out", str(tmp_path / "out"), "--as-of", AS_OF.isoformat()])
    assert done.exit_code == 1, done.output
    assert "error:" in done.output and "readonly database" in done.output, done.output
    assert "Traceback" not in done.output
    assert stored_findings(db) == before


def test_a_full_disk_while_writing_the_report_leaves_no_half_written_index(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_text = pathlib.Path.write_text

    def full_disk(self, text, *args, **kwargs):
        if self.parent == out and self.name.startswith(".index.html."):
            write_text(self, text[: len(text) // 2], *args, **kwargs)  # half of it, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    with MockServer({"/": Reply(page('<a href="/gone.html">旧页面</a>'))}) as server:
        db = f"sqlite:///{tmp_path}/audit.db"
        result = run(write_config(tmp_path, server), db_url=db, out_dir=out, as_of=AS_OF,
                     log_dir=tmp_path / "logs", options=CrawlOptions(cache_dir=tmp_path / "cache"))
    assert result.runs[0].status == "completed"
    assert result.output_error and "No space left on device" in result.output_error
    assert not (out / "index.html").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".index.html.")]
    assert sorted(f["check"] for f in stored_findings(db)) == BARE_PAGE_FINDINGS


def test_a_short_lock_on_the_sqlite_database_is_waited_out(tmp_path):
    import sqlite3
    import threading

    with MockServer({"/": Reply(page('<a href="/gone.html">旧页面</a>'))}) as server:
        config = write_config(tmp_path, server)
        db = f"sqlite:///{tmp_path}/audit.db"
        open_database(db)  # the schema, before another program takes the lock
        holder = sqlite3.connect(tmp_path / "audit.db", check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
        release = threading.Timer(1.5, holder.rollback)
        release.start()
        try:
            result = run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=tmp_path / "logs",
                         options=CrawlOptions(cache_dir=tmp_path / "cache"))
        finally:
            release.join()
            holder.close()
    assert result.runs[0].status == "completed"
    assert sorted(f["check"] for f in stored_findings(db)) == BARE_PAGE_FINDINGS


def test_postgresql_dropping_the_connections_mid_run_leaves_a_clear_state_and_a_rerun_completes(tmp_path, pg_url):
    import uuid

    from sqlalchemy import create_engine, text

    name = f"govaudit-fault-{uuid.uuid4().hex[:8]}"
    db = f"{pg_url}&application_name={name}"
    dropped: list[int] = []

    def restart(_event) -> None:
        # What a server restart does to this run's connections, and to nobody else's.
        if dropped:
            return
        admin = create_engine(pg_url.split("?")[0])
        with admin.begin() as conn:
            dropped.append(len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": name}).all()))
        admin.dispose()

    with MockServer({"/": Reply(page('<a href="/gone.html">旧页面</a>')), "/gone.html": Reply("x", status=404)}) as server:
        config = write_config(tmp_path, server)
        first = run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=tmp_path / "logs",
                    options=CrawlOptions(cache_dir=tmp_path / "cache"), progress=restart)
        assert dropped and dropped[0] >= 1
        again = run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=tmp_path / "logs",
                    options=CrawlOptions(cache_dir=tmp_path / "cache"))
    # New connections are checked before use (pool_pre_ping): the run goes on; had a write been under
    # way, the run would be marked failed with the reason, and the next one completes either way.
    assert first.runs[0].status == "completed" or (first.runs[0].status == "failed" and first.runs[0].error)
    assert again.runs[0].status == "completed"
    assert sorted(f["check"] for f in stored_findings(db)) == BARE_PAGE_FINDINGS
