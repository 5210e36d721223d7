"""A distributed run: one coordinator, any number of crawler workers on one machine or many.

``govaudit crawl --distributed --redis URL`` (the coordinator) creates the audit run and one crawl run per
site in the shared database, writes the run's description to Redis (``<prefix>:<run>:meta``), starts
``--workers`` local crawler processes and waits. ``govaudit crawl --distributed --redis URL --run N`` on
any machine (the same sites.yml, the same ``--db``) joins run N with one more crawler process. The
crawlers share one scrapy-redis queue and dupefilter per site (crawler.distributed) and stop when the
queue has been idle for ``--idle-timeout`` seconds. The coordinator then settles each crawl run, audits
the sites in parallel processes (``--jobs``), writes the report, and deletes the run's Redis keys.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from govaudit.audit import (
    DEFAULT_OPTIONS,
    Crawlers,
    CrawlOptions,
    RunError,
    RunResult,
    _mark_unfinished,
    absolute_db_url,
    audit_crawl_run,
    begin_runs,
    finish,
    load_checked_config,
    local_today,
    write_outputs,
)
from govaudit.config import SiteConfig
from govaudit.db import database_url, masked_url, open_database
from govaudit.models import AuditRun, CrawlRun, utcnow

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "govaudit"
# A coordinator with no local worker waits this long for a first worker to join before giving up.
JOIN_WAIT_SECONDS = 600.0


def _redis(url: str):
    from crawler.distributed import connect

    server = connect(url)
    try:
        server.ping()
    except Exception as exc:  # noqa: BLE001 - redis raises several kinds; say which server and why
        raise RunError(f"Redis at {masked_url(url)} is not reachable: {exc}") from None
    return server


def _check_prefix(prefix: str) -> None:
    if not prefix or ":" in prefix or "*" in prefix:
        raise RunError(f"--redis-prefix {prefix!r}: letters, digits, '-' and '_' only (no ':' or '*')")


def worker_command(config_path: str, as_of: dt.date, runs: dict[str, int], redis_url: str, namespace: str,
                   idle_timeout: float, options: CrawlOptions, worker: str | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "crawler.crawl", "--config", config_path, "--as-of", as_of.isoformat(),
           "--distributed", "--namespace", namespace, "--idle-timeout", str(idle_timeout)]
    for site_id, run_id in runs.items():
        cmd += ["--run", f"{site_id}={run_id}"]
    if options.cache_dir is not None:
        cmd += ["--cache-dir", str(Path(options.cache_dir).resolve())]
    if options.full:
        cmd.append("--full")
    if worker:
        cmd += ["--worker", worker]
    return cmd


def start_worker(cmd: list[str], db_url: str, redis_url: str, log_path: Path, crawlers: Crawlers) -> subprocess.Popen:
    # Both URLs go by the environment: a password in them must not show on a command line (ps, /proc).
    env = dict(os.environ, PYTHONUNBUFFERED="1", SCRAPY_SETTINGS_MODULE="crawler.settings", GOVAUDIT_DB=db_url,
               GOVAUDIT_REDIS=redis_url)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env)
    crawlers.add(proc)
    return proc


def _workers(server, namespace: str) -> tuple[int, int]:
    """Workers that joined the run, and those of them whose heartbeat is alive."""
    joined = sorted(server.smembers(f"{namespace}:workers"))
    alive = server.exists(*(f"{namespace}:alive:{name}" for name in joined)) if joined else 0
    return len(joined), alive


def _audit_one(db_url: str, run_id: int, deadline_days: int) -> tuple[str, str | None]:
    """One site's audit, in a process of its own (the pool's)."""
    factory = open_database(db_url)
    with factory.begin() as session:
        crawl_run = session.get(CrawlRun, run_id)
        site = SiteConfig.model_validate(crawl_run.site_config)
        try:
            with session.begin_nested():
                audit_crawl_run(session, crawl_run, site, deadline_days)
        except Exception as exc:  # noqa: BLE001 - one site's audit failing must not stop the others
            logging.getLogger(__name__).exception("%s: audit failed", crawl_run.site_id)
            crawl_run.status = "failed"
            crawl_run.error = f"audit failed: {exc}"
        return crawl_run.site_id, crawl_run.error


def audit_in_parallel(db_url: str, audit_id: int, deadline_days: int, jobs: int, logs: dict[str, Path]) -> RunResult:
    """Audit each crawled site of the run in its own process, ``jobs`` at a time; sites whose crawl did not
    finish are marked failed."""
    factory = open_database(db_url)
    with factory.begin() as session:
        audit = session.get(AuditRun, audit_id)
        crawled = []
        for crawl_run in audit.crawl_runs:
            if crawl_run.status == "running":
                _mark_unfinished(crawl_run, None, logs.get(crawl_run.site_id))
                lost = (crawl_run.stats or {}).get("unfinished_workers")
                if lost:
                    crawl_run.error = (f"the distributed crawl did not finish: worker(s) {', '.join(lost)} stopped "
                                       "before the queue was idle (killed, or cut off from Redis); the requests "
                                       "they had taken were not crawled")
            elif crawl_run.status == "crawled":
                crawled.append(crawl_run.id)
    if db_url.startswith("sqlite"):
        jobs = 1  # SQLite takes one writer at a time, and an audit writes in one transaction: PostgreSQL scales
    if crawled:
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(crawled))),
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            for future in [pool.submit(_audit_one, db_url, run_id, deadline_days) for run_id in crawled]:
                future.result()
    with factory.begin() as session:
        result = finish(session, session.get(AuditRun, audit_id))
    result.logs = dict(logs)
    return result


def coordinate(config_path: str | Path, redis_url: str, db_url: str | None = None, out_dir: str | Path | None = "out",
               site_ids: Sequence[str] = (), as_of: dt.date | None = None, workers: int = 1,
               idle_timeout: float = 30.0, prefix: str = DEFAULT_PREFIX, log_dir: str | Path = "var/logs",
               options: CrawlOptions = DEFAULT_OPTIONS, announce=None) -> RunResult:
    """The coordinator of a distributed run (module docstring). ``announce(audit_run_id)`` is called once
    the run can be joined."""
    from crawler.distributed import SharedState, finish_crawl_run, run_namespace

    _check_prefix(prefix)
    config = load_checked_config(config_path)
    unknown = [s for s in site_ids if s not in {site.id for site in config.sites}]
    if unknown:
        raise RunError(f"{config_path}: no site with id {', '.join(unknown)}")
    sites = [s for s in config.sites if not site_ids or s.id in site_ids]
    as_of = as_of or local_today()
    server = _redis(redis_url)
    url = absolute_db_url(database_url(db_url))
    factory = open_database(url)
    with factory.begin() as session:
        # No resuming from a job directory: a distributed crawl's queue is in Redis, not on one machine.
        audit = begin_runs(session, config, sites, as_of, str(config_path), None)
        runs = {r.site_id: r.id for r in audit.crawl_runs}
        audit_id = audit.id
    namespace = run_namespace(prefix, audit_id)
    for key in server.scan_iter(match=f"{namespace}:*", count=1000):  # a database reset reuses numbers
        server.delete(key)
    server.set(f"{namespace}:meta", json.dumps({
        "audit_run": audit_id, "sites": runs, "as_of": as_of.isoformat(), "idle_timeout": idle_timeout,
        "state": "crawling", "started": time.time()}))
    if announce is not None:
        announce(audit_id)
    config_abs = str(Path(config_path).resolve())
    logs = {site_id: Path(log_dir) / f"run-{audit_id}-worker-0.log" for site_id in runs}
    crawlers = Crawlers()
    procs = []
    for n in range(workers):
        cmd = worker_command(config_abs, as_of, runs, redis_url, namespace, idle_timeout, options,
                             worker=f"{os.uname().nodename}-{audit_id}-{n}")
        procs.append(start_worker(cmd, url, redis_url, Path(log_dir) / f"run-{audit_id}-worker-{n}.log", crawlers))
    started = time.monotonic()
    try:
        while True:
            running = [p for p in procs if p.poll() is None]
            joined, alive = _workers(server, namespace)
            if not running and not alive and (joined or procs or time.monotonic() - started > JOIN_WAIT_SECONDS):
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        # The local crawlers stop gracefully; the run is not resumed (its queue is dropped): it fails.
        crawlers.stop()
        server.delete(f"{namespace}:meta")
        with factory.begin() as session:
            for crawl_run in session.get(AuditRun, audit_id).crawl_runs:
                if crawl_run.status == "running":
                    crawl_run.status, crawl_run.error = "failed", "the distributed crawl was interrupted"
                    crawl_run.finished_at = utcnow()
            finish(session, session.get(AuditRun, audit_id))
        for key in server.scan_iter(match=f"{namespace}:*", count=1000):
            server.delete(key)
        raise
    server.set(f"{namespace}:meta", json.dumps({
        "audit_run": audit_id, "sites": runs, "as_of": as_of.isoformat(), "state": "settling"}))
    codes = {p.args[-1]: p.returncode for p in procs}
    for site_id, run_id in runs.items():
        state = SharedState(server, f"{namespace}:{site_id}")
        try:
            stats = finish_crawl_run(factory, state, run_id)
            logger.info("%s: crawl run %s settled: %s pages by %s worker(s)", site_id, run_id, stats.get("pages"),
                        stats.get("workers"))
        except Exception:  # noqa: BLE001 - that site fails, the others are audited
            logger.exception("%s: settling crawl run %s failed", site_id, run_id)
    if any(code for code in codes.values()):
        logger.warning("run %s: worker exit codes %s", audit_id, codes)
    result = audit_in_parallel(url, audit_id, config.rectification.deadline_working_days, options.jobs, logs)
    for key in server.scan_iter(match=f"{namespace}:*", count=1000):
        server.delete(key)
    if out_dir is not None:
        try:
            write_outputs(factory, result, Path(out_dir))
        except Exception as exc:  # noqa: BLE001 - the audit is stored; say what could not be written
            logger.exception("run %s: writing the report to %s failed", audit_id, out_dir)
            result.output_error = f"the audit is stored, but writing {out_dir} failed: {type(exc).__name__}: {exc}"
    return result


def join(config_path: str | Path, redis_url: str, audit_id: int, db_url: str | None = None,
         prefix: str = DEFAULT_PREFIX, log_dir: str | Path = "var/logs", options: CrawlOptions = DEFAULT_OPTIONS,
         idle_timeout: float | None = None) -> int:
    """One more worker for the distributed run ``audit_id``; returns the crawler's exit code."""
    from crawler.distributed import run_namespace, worker_id

    _check_prefix(prefix)
    server = _redis(redis_url)
    namespace = run_namespace(prefix, audit_id)
    raw = server.get(f"{namespace}:meta")
    if raw is None:
        raise RunError(f"no distributed run {audit_id} in Redis at {masked_url(redis_url)} (prefix {prefix!r})")
    meta = json.loads(raw)
    if meta.get("state") != "crawling":
        raise RunError(f"distributed run {audit_id} is not crawling any more ({meta.get('state')})")
    config = load_checked_config(config_path)
    runs: dict[str, int] = meta["sites"]
    url = absolute_db_url(database_url(db_url))
    factory = open_database(url)
    with factory() as session:
        for site_id, run_id in runs.items():
            crawl_run = session.get(CrawlRun, run_id)
            if crawl_run is None:
                raise RunError(f"crawl run {run_id} of run {audit_id} is not in the database {masked_url(url)}: "
                               "a worker must use the coordinator's --db")
            if site_id not in {s.id for s in config.sites} or \
                    config.site(site_id).model_dump(mode="json") != crawl_run.site_config:
                raise RunError(f"{config_path}: site {site_id} differs from the coordinator's sites.yml")
    worker = worker_id()
    cmd = worker_command(str(Path(config_path).resolve()), dt.date.fromisoformat(meta["as_of"]), runs, redis_url,
                         namespace, idle_timeout if idle_timeout is not None else float(meta["idle_timeout"]),
                         options, worker=worker)
    crawlers = Crawlers()
    proc = start_worker(cmd, url, redis_url, Path(log_dir) / f"run-{audit_id}-{worker}.log", crawlers)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        crawlers.stop()
        raise
