"""The whole job: crawl the configured sites, audit each crawl run, write the report and exports.

Each stage reads what the previous one stored, so a failure in one site or one stage leaves every
earlier row intact and the run marked ``failed`` with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govaudit.config import Config, SiteConfig, load_config
from govaudit.db import database_url, open_database
from govaudit.evidence import take_screenshots
from govaudit.findings import record_findings, select_runs
from govaudit.models import AuditRun, CrawlRun, FindingRecord, Site, utcnow

logger = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")
ProgressFn = Callable[[dict], None]


class RunError(Exception):
    """The run could not be carried out at all (config, database, nothing to crawl)."""


class RunInterrupted(Exception):
    """SIGINT or SIGTERM stopped the run; its crawls were stopped gracefully and can be resumed."""

    def __init__(self, result: RunResult):
        super().__init__(f"run {result.audit_run_id} was interrupted: its crawls stopped and were kept; "
                         "'govaudit run' today resumes them where they stopped")
        self.result = result


INTERRUPTED = "the crawl was interrupted; running it again today resumes it where it stopped"


def local_today() -> dt.date:
    """Today in China: the default "now" of a run."""
    return dt.datetime.now(CHINA).date()


def known_thresholds() -> dict[str, dict]:
    from checks.registry import known_thresholds as known

    return known()


def load_checked_config(path: str | Path) -> Config:
    """sites.yml validated against the model and the check registry's thresholds."""
    return load_config(path, known=known_thresholds())


@dataclass
class RunResult:
    audit_run_id: int
    runs: list[CrawlRun]
    failed: dict[str, str] = field(default_factory=dict)  # site id -> why
    counts: dict[str, int] = field(default_factory=dict)  # findings by status
    report: Path | None = None
    exports: list[Path] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)  # site id -> its crawl log
    output_error: str | None = None  # the audit is stored, but the report or lists could not be written


def absolute_db_url(url: str) -> str:
    """A SQLite URL with an absolute path, so a child process in another directory finds the file."""
    if url.startswith("sqlite:///file:"):  # a SQLite URI (``?mode=ro&uri=true``): its path is the URI's
        path, _, query = url.removeprefix("sqlite:///file:").partition("?")
        return f"sqlite:///file:{Path(path).resolve()}" + (f"?{query}" if query else "")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            return "sqlite:///" + str(Path(path).resolve())
    return url


def resumable_run(session: Session, site: SiteConfig, as_of: dt.date, job_root: Path | None) -> CrawlRun | None:
    """The site's interrupted crawl that this run takes up: the site's newest crawl run, stopped by a
    signal (not killed, not failed) on the same day ``as_of`` and with the same config, whose job
    directory still holds Scrapy's queue and the spider's state."""
    if job_root is None or not (job_root / site.id / "spider.state").is_file():
        return None
    newest = session.scalars(
        select(CrawlRun).where(CrawlRun.site_id == site.id).order_by(CrawlRun.id.desc()).limit(1)
    ).first()
    if newest is None or newest.status not in ("running", "failed") or newest.as_of != as_of:
        return None
    if (newest.stats or {}).get("close_reason") != "shutdown":
        return None
    if newest.site_config != site.model_dump(mode="json"):
        return None  # sites.yml changed since: what was crawled no longer answers to it
    return newest


def begin_runs(session: Session, config: Config, sites: Sequence[SiteConfig], as_of: dt.date,
               config_path: str | None, job_root: Path | None = None) -> AuditRun:
    """A new audit run with one crawl run per site; a site's interrupted crawl of the day is taken up
    (moved into this audit run) instead of starting over."""
    audit = AuditRun(as_of=as_of, config_path=config_path, status="running")
    session.add(audit)
    for site in sites:
        row = session.get(Site, site.id)
        if row is None:
            row = Site(id=site.id)
            session.add(row)
        row.name, row.url, row.unit, row.kind = site.name, site.url, site.unit, site.kind
        session.flush()
        interrupted = resumable_run(session, site, as_of, job_root)
        if interrupted is not None:
            logger.info("%s: resuming crawl run %s of audit run %s", site.id, interrupted.id,
                        interrupted.audit_run_id)
            interrupted.audit_run = audit
            interrupted.status, interrupted.error, interrupted.finished_at = "running", None, None
            # Only this session's own close may say "shutdown" again: one killed now is not resumable.
            interrupted.stats = {k: v for k, v in (interrupted.stats or {}).items() if k != "close_reason"}
            continue
        session.add(CrawlRun(audit_run=audit, site_id=site.id, as_of=as_of, status="running",
                             site_config=site.model_dump(mode="json")))
    session.flush()
    return audit


@dataclass(frozen=True)
class CrawlOptions:
    cache_dir: Path | None = Path("var/httpcache")  # None: no incremental crawling
    full: bool = False  # ignore (and renew) the cache: every page fetched whole; never resume
    jobs: int = 2  # sites crawled at once, each in its own process
    # Scrapy JOBDIR root, one folder a site (default: "jobs" beside the cache); None with no cache either:
    # an interrupted crawl cannot be resumed.
    job_dir: Path | None = None

    @property
    def job_root(self) -> Path | None:
        if self.job_dir is not None:
            return Path(self.job_dir)
        return Path(self.cache_dir).parent / "jobs" if self.cache_dir is not None else None


DEFAULT_OPTIONS = CrawlOptions()


class Crawlers:
    """The crawler child processes of a run, so that an interrupted run can stop them: gracefully at
    the first signal (each finishes what it has under way and keeps its queue), by SIGKILL at the second."""

    GRACE_SECONDS = 120.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.procs: list[subprocess.Popen] = []
        self.stopping = False

    def add(self, proc: subprocess.Popen) -> bool:
        """Track a started crawler; False (and the crawler stopped) when the run is stopping already."""
        with self.lock:
            self.procs.append(proc)
            if self.stopping:
                proc.send_signal(signal.SIGTERM)
            return not self.stopping

    def stop(self) -> None:
        """Ask every crawler to stop and wait for them; a second interruption kills them."""
        with self.lock:
            self.stopping = True
            procs = list(self.procs)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        try:
            for proc in procs:
                try:
                    proc.wait(timeout=self.GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    proc.kill()
        except KeyboardInterrupt:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
            raise


def crawl_site(config_path: str, db_url: str, site_id: str, run_id: int, as_of: dt.date, log_path: Path,
               progress: ProgressFn | None = None, options: CrawlOptions = DEFAULT_OPTIONS,
               crawlers: Crawlers | None = None) -> int:
    """Crawl one site in a child process; returns its exit code. Its log goes to ``log_path``."""
    # The database URL (and the password it may hold) goes by the environment: a command line is
    # readable by every user of the machine (ps, /proc).
    cmd = [sys.executable, "-m", "crawler.crawl", "--config", config_path,
           "--as-of", as_of.isoformat(), "--run", f"{site_id}={run_id}"]
    if options.cache_dir is not None:
        cmd += ["--cache-dir", str(Path(options.cache_dir).resolve())]
    if options.job_root is not None:
        cmd += ["--job-dir", str(options.job_root.resolve())]
    if options.full:
        cmd.append("--full")
    env = dict(os.environ, PYTHONUNBUFFERED="1", SCRAPY_SETTINGS_MODULE="crawler.settings", GOVAUDIT_DB=db_url)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env)
        if crawlers is not None:
            crawlers.add(proc)
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if progress is not None:
                progress(event)
        return proc.wait()


def crawl_sites(config_path: str, db_url: str, runs: dict[str, int], as_of: dt.date, logs: dict[str, Path],
                progress: ProgressFn | None = None, options: CrawlOptions = DEFAULT_OPTIONS) -> dict[str, int]:
    """Crawl every site in its own child process, ``jobs`` at a time: a site whose crawler crashes or
    is killed fails alone. Returns each site's exit code.

    KeyboardInterrupt (SIGINT, or SIGTERM where the CLI maps it so) stops the crawlers gracefully,
    sites not yet started are not started, and the interruption is raised once all have stopped."""
    lock = threading.Lock()
    crawlers = Crawlers()

    def report(event: dict) -> None:
        if progress is not None:
            with lock:
                progress(event)

    def one(site_id: str, run_id: int) -> int | None:
        if crawlers.stopping:
            return None
        return crawl_site(config_path, db_url, site_id, run_id, as_of, logs[site_id], report, options, crawlers)

    pool = ThreadPoolExecutor(max_workers=max(1, options.jobs))
    try:
        futures = {site_id: pool.submit(one, site_id, run_id) for site_id, run_id in runs.items()}
        return {site_id: future.result() for site_id, future in futures.items()}
    except KeyboardInterrupt:
        crawlers.stop()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def audit_crawl_run(session: Session, run: CrawlRun, site: SiteConfig, deadline_days: int,
                    parallel: bool = False) -> list[str]:
    """Run every check on a crawled run and store its findings; returns the checks' error lines.
    ``parallel``: the run was committed by the crawler's process, so a second process may read it too
    (``checks.registry.run_checks``)."""
    from checks.base import audit_fingerprint
    from checks.registry import run_checks

    url = session.get_bind().url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    db_url = url.render_as_string(hide_password=False) if parallel and not in_memory else None
    findings, errors = run_checks(session, run, site, db_url=db_url)
    records = record_findings(session, run, findings, deadline_working_days=deadline_days, waivers=site.waivers)
    stats = dict(run.stats or {})
    if site.screenshots:
        try:
            stats.update(take_screenshots(session, run, records, timeout_s=site.limits.timeout))
        except Exception as exc:  # noqa: BLE001 - evidence is a bonus; the findings stand without it
            logger.warning("%s: screenshots failed: %s", run.site_id, exc)
            stats["screenshot_errors"] = f"{type(exc).__name__}: {exc}"[:300]
    run.status = "completed"
    run.finished_at = utcnow()
    if errors:
        stats["check_errors"] = errors
    else:
        stats.pop("check_errors", None)
    # What the next incremental run may rely on for the pages it copies from this one (AuditContext.fresh):
    # only an audit in which every check ran.
    if errors:
        stats.pop("audit_fingerprint", None)
    else:
        stats["audit_fingerprint"] = audit_fingerprint(site)
    run.stats = stats
    return errors


def finish(session: Session, audit: AuditRun) -> RunResult:
    runs = list(session.scalars(select(CrawlRun).where(CrawlRun.audit_run_id == audit.id).order_by(CrawlRun.id)))
    failed = {r.site_id: r.error or r.status for r in runs if r.status != "completed"}
    audit.status = "completed" if not failed else ("failed" if len(failed) == len(runs) else "partial")
    audit.finished_at = utcnow()
    counts = dict(
        session.execute(
            select(FindingRecord.status, func.count())
            .where(FindingRecord.crawl_run_id.in_([r.id for r in runs]))
            .group_by(FindingRecord.status)
        ).all()
    )
    return RunResult(audit_run_id=audit.id, runs=runs, failed=failed, counts=counts)


def run(
    config_path: str | Path,
    db_url: str | None = None,
    out_dir: str | Path | None = "out",
    site_ids: Sequence[str] = (),
    as_of: dt.date | None = None,
    progress: ProgressFn | None = None,
    log_dir: str | Path = "var/logs",
    options: CrawlOptions = DEFAULT_OPTIONS,
) -> RunResult:
    """Crawl, audit and report. Raises RunError when nothing could be run."""
    config = load_checked_config(config_path)
    unknown = [s for s in site_ids if s not in {site.id for site in config.sites}]
    if unknown:
        raise RunError(f"{config_path}: no site with id {', '.join(unknown)}")
    sites = [s for s in config.sites if not site_ids or s.id in site_ids]
    as_of = as_of or local_today()
    url = absolute_db_url(database_url(db_url))
    factory = open_database(url)
    with factory.begin() as session:
        audit = begin_runs(session, config, sites, as_of, str(config_path),
                           None if options.full else options.job_root)
        runs = {r.site_id: r.id for r in audit.crawl_runs}
        audit_id = audit.id
    logs = {site_id: Path(log_dir) / f"run-{audit_id}-{site_id}.log" for site_id in runs}
    try:
        codes = crawl_sites(str(Path(config_path).resolve()), url, runs, as_of, logs, progress, options)
    except KeyboardInterrupt:
        # The crawlers have stopped and kept their queues: the sites crawled in full are audited, the
        # others marked interrupted for the next run to resume; no report is written.
        raise RunInterrupted(audit_runs(factory, config, audit_id, None, logs)) from None
    result = audit_runs(factory, config, audit_id, codes, logs)
    if out_dir is not None:
        try:
            write_outputs(factory, result, Path(out_dir))
        except Exception as exc:  # noqa: BLE001 - the audit is stored; say what could not be written
            logger.exception("run %s: writing the report to %s failed", audit_id, out_dir)
            result.output_error = f"the audit is stored, but writing {out_dir} failed: {type(exc).__name__}: {exc}"
    return result


def _mark_unfinished(crawl_run: CrawlRun, code: int | None, log: Path | None) -> None:
    crawl_run.status = "failed"
    crawl_run.finished_at = utcnow()
    if (crawl_run.stats or {}).get("close_reason") == "shutdown":
        crawl_run.error = INTERRUPTED
        return
    where = f" (see {log})" if log else ""
    crawl_run.error = f"the crawl did not finish (crawler exit code {code}){where}"


def audit_runs(factory: sessionmaker[Session], config: Config, audit_id: int, codes: dict[str, int] | None = None,
               logs: dict[str, Path] | None = None) -> RunResult:
    """Audit every crawled run of an audit run; mark the ones the crawler did not finish as failed."""
    codes, logs = codes or {}, logs or {}
    with factory.begin() as session:
        audit = session.get(AuditRun, audit_id)
        for crawl_run in list(audit.crawl_runs):
            if crawl_run.status == "running":
                _mark_unfinished(crawl_run, codes.get(crawl_run.site_id), logs.get(crawl_run.site_id))
                continue
            if crawl_run.status != "crawled":
                continue
            site = SiteConfig.model_validate(crawl_run.site_config)
            try:
                with session.begin_nested():
                    audit_crawl_run(session, crawl_run, site, config.rectification.deadline_working_days,
                                    parallel=True)
            except Exception as exc:  # noqa: BLE001 - one site's audit failing must not stop the others
                logger.exception("%s: audit failed", crawl_run.site_id)
                crawl_run.status = "failed"
                crawl_run.error = f"audit failed: {exc}"
        result = finish(session, audit)
    result.logs = dict(logs)
    return result


def write_outputs(factory: sessionmaker[Session], result: RunResult, out_dir: Path) -> None:
    """The HTML report and the per-unit rectification lists of a run's completed sites."""
    from reports.export import export_rectification
    from reports.html import render_report

    with factory() as session:
        runs = select_runs(session, result.audit_run_id)
        runs = [r for r in runs if r.status == "completed"]
        if not runs:
            return
        result.report = render_report(session, runs, out_dir)
        exports_dir = out_dir / "rectification"
        for fmt in ("xlsx", "csv"):
            result.exports.extend(export_rectification(session, runs, exports_dir, fmt))
