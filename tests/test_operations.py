"""Operating the tool: the nightly job and its lock, scheduler entries, retention."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from govaudit.audit import CrawlOptions
from govaudit.db import open_database
from govaudit.models import CrawlRun, FindingRecord, Link, Page
from govaudit.nightly import EXIT_LOCKED, EXIT_PARTIAL, nightly, nightly_lock
from tests.mockserver import MockServer, Reply

AS_OF = dt.date(2026, 6, 15)


def page(body: str) -> str:
    return f"<html><head><meta charset='utf-8'><title>测试</title></head><body>{body}</body></html>"


def two_sites(tmp_path: Path, a: MockServer, b: MockServer) -> Path:
    text = ""
    for site_id, server in (("site-a", a), ("site-b", b)):
        text += textwrap.dedent(f"""\
              - id: {site_id}
                name: 站点{site_id}
                url: {server.url('/')}
                unit: 办公室
                render: static
                limits: {{delay: 0, concurrency: 4, timeout: 5, recheck_delay: 0.2}}
            """)
    path = tmp_path / "sites.yml"
    path.write_text("sites:\n" + text, encoding="utf-8")
    return path


def kill_crawler_of(site_id: str) -> None:
    """SIGKILL the crawler child process of one site (its command line names the site)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"crawler.crawl" in args and any(a.startswith(f"{site_id}=".encode()) for a in args):
            os.kill(int(cmdline.parent.name), signal.SIGKILL)


def test_one_sites_failure_does_not_stop_the_others_and_the_summary_says_so(tmp_path):
    import threading

    hang = threading.Event()

    def slow(count: int) -> Reply:
        hang.wait(timeout=60)
        return Reply(page("<p>迟到</p>"))

    with MockServer({"/": Reply(page('<a href="/gone">旧</a>'))}) as a, MockServer({"/": slow}) as b:
        config = two_sites(tmp_path, a, b)

        def on_event(event: dict) -> None:
            if event.get("site") == "site-b":
                kill_crawler_of("site-b")

        summary = nightly(config, db_url=f"sqlite:///{tmp_path}/audit.db", out_dir=tmp_path / "out",
                          as_of=AS_OF, progress=on_event, log_dir=tmp_path / "logs", lock_path=tmp_path / "lock",
                          options=CrawlOptions(cache_dir=tmp_path / "cache"))
        hang.set()
    assert summary.exit_code == EXIT_PARTIAL
    statuses = {r.site_id: r.status for r in summary.result.runs}
    assert statuses == {"site-a": "completed", "site-b": "failed"}
    assert summary.lines[0].startswith(f"nightly run {summary.result.audit_run_id}: 1 site(s) done, 1 failed")
    assert any(line.startswith("failed: site-b: the crawl did not finish (crawler exit code -9)")
               for line in summary.lines)
    log = summary.log.read_text(encoding="utf-8")
    assert "failed: site-b" in log and "findings: new" in log
    assert (tmp_path / "out" / "index.html").exists()  # the sites that completed are reported


def test_a_second_nightly_run_exits_with_the_locked_code(tmp_path):
    with MockServer({"/": Reply(page("<p>ok</p>"))}) as a, MockServer({"/": Reply(page("<p>ok</p>"))}) as b:
        config = two_sites(tmp_path, a, b)
        (tmp_path / "var").mkdir()
        with nightly_lock(tmp_path / "var" / "nightly.lock"):
            done = subprocess.run([sys.executable, "-m", "govaudit", "nightly", "--config", str(config),
                                   "--db", f"sqlite:///{tmp_path}/audit.db"], cwd=tmp_path,
                                  capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_LOCKED
    assert "another nightly run is in progress (pid" in done.stderr


def test_the_lock_is_free_again_after_a_run(tmp_path):
    with nightly_lock(tmp_path / "lock"):
        pass
    with nightly_lock(tmp_path / "lock"):
        pass


@pytest.mark.parametrize("kind", ["cron", "systemd"])
def test_schedule_prints_ready_entries(kind, tmp_path):
    done = subprocess.run([sys.executable, "-m", "govaudit", "schedule", "--print", kind, "--at", "03:15",
                           "--probe-every", "30"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    config = str((tmp_path / "config" / "sites.yml").resolve())
    if kind == "cron":
        lines = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert lines[0].startswith(f"15 3 * * * cd {tmp_path} && ")
        assert f"-m govaudit nightly --config {config}" in lines[0]
        assert lines[1].startswith("*/30 * * * * ") and "-m govaudit probe" in lines[1]
    else:
        assert "# file: /etc/systemd/system/govaudit-nightly.timer" in text
        assert "OnCalendar=*-*-* 03:15:00" in text and "OnCalendar=*-*-* *:00/30:00" in text
        assert f"WorkingDirectory={tmp_path}" in text and "SuccessExitStatus=75" in text


def test_schedule_refuses_a_bad_time(tmp_path):
    done = subprocess.run([sys.executable, "-m", "govaudit", "schedule", "--print", "cron", "--at", "25:00"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "--at takes a time like 02:30" in done.stderr


def test_prune_drops_old_crawl_data_but_keeps_findings_and_the_newest_run(tmp_path):
    from govaudit.audit import run

    with MockServer({"/": Reply(page('<a href="/gone">旧</a>'))}) as a, MockServer({"/": Reply(page("ok"))}) as b:
        config = two_sites(tmp_path, a, b)
        db = f"sqlite:///{tmp_path}/audit.db"
        first = run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=tmp_path / "logs",
                 options=CrawlOptions(cache_dir=tmp_path / "cache"))
        second = run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=tmp_path / "logs",
                 options=CrawlOptions(cache_dir=tmp_path / "cache"))
    factory = open_database(db)
    with factory() as session:
        findings_before = session.scalar(select(func.count()).select_from(FindingRecord))
    done = subprocess.run([sys.executable, "-m", "govaudit", "prune", "--db", db, "--keep-days", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pruned 2 run(s): ")
    old_ids = [r.id for r in first.runs]
    new_ids = [r.id for r in second.runs]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Page).where(Page.crawl_run_id.in_(old_ids))) == 0
        assert session.scalar(select(func.count()).select_from(Link).where(Link.crawl_run_id.in_(old_ids))) == 0
        # The newest runs stay whole: site-a's home and its broken link, site-b's home.
        assert session.scalar(select(func.count()).select_from(Page).where(Page.crawl_run_id.in_(new_ids))) == 3
        assert session.scalar(select(func.count()).select_from(FindingRecord)) == findings_before
        assert session.get(CrawlRun, old_ids[0]).stats["pruned"] is True


def test_schedule_run_holds_both_jobs_at_their_times(tmp_path):
    import datetime as dt

    from apscheduler.schedulers.background import BackgroundScheduler

    from govaudit.schedule import build_scheduler, run_job

    scheduler = build_scheduler("config/sites.yml", at="03:15", probe_every=30, scheduler=BackgroundScheduler())
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"nightly", "probe"}
    assert jobs["nightly"].func is run_job and jobs["nightly"].args == ("nightly", "config/sites.yml")
    assert jobs["nightly"].max_instances == 1 and jobs["probe"].args == ("probe", "config/sites.yml")
    now = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC).astimezone()
    nightly_next = jobs["nightly"].trigger.get_next_fire_time(None, now)
    assert (nightly_next.hour, nightly_next.minute) == (3, 15) and nightly_next > now
    assert jobs["probe"].trigger.interval == dt.timedelta(minutes=30)


def test_a_scheduled_job_runs_the_command_and_logs_it(tmp_path, monkeypatch):
    from govaudit.schedule import run_job

    with MockServer({"/": Reply(page("首页"))}) as server:
        config = tmp_path / "sites.yml"
        config.write_text(f"sites:\n  - {{id: mock, name: 测试站, url: '{server.url('/')}', unit: 办公室}}\n",
                          encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("GOVAUDIT_DB", f"sqlite:///{tmp_path}/audit.db")
        code = run_job("probe", str(config), log_dir=tmp_path / "logs")
    assert code == 0
    assert "probe" in (tmp_path / "logs" / "schedule.log").read_text(encoding="utf-8")
    assert server.hits.get("/") == 1


def test_schedule_run_starts_in_the_foreground_and_stops_on_sigterm(tmp_path):
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "govaudit", "schedule", "--run", "--probe-every", "60"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        while line and "running the schedule" not in line:
            line = proc.stderr.readline()
        assert "running the schedule" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("args", [[], ["--print", "cron", "--run"]])
def test_schedule_asks_for_exactly_one_of_print_and_run(tmp_path, args):
    done = subprocess.run([sys.executable, "-m", "govaudit", "schedule", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "--print cron|systemd or --run" in done.stderr
