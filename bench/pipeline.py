"""One govaudit run of ``bench/run``, timed stage by stage: the real pipeline of ``govaudit run``
(``govaudit.audit``: crawler child process, audit, report and exports), with the time and the peak
memory of each stage measured here.

    .venv/bin/python bench/pipeline.py --config sites.yml --db sqlite:///audit.db --work DIR [--full] [--no-report]
Prints one JSON line.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/incremental.py would shadow the ``incremental`` package Twisted imports: run from the project root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from govaudit.audit import (  # noqa: E402
    CrawlOptions,
    RunResult,
    absolute_db_url,
    audit_runs,
    begin_runs,
    crawl_sites,
    load_checked_config,
    write_outputs,
)
from govaudit.db import open_database  # noqa: E402
from govaudit.models import FindingRecord  # noqa: E402


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class ChildSampler(threading.Thread):
    """Samples the RSS of this process's children (the crawler) every 0.2 s: the peak, and where it was."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.2):
            children = []
            # Children of every thread: the crawler is started from a worker thread.
            for task in os.listdir(f"/proc/{me}/task"):
                try:
                    children += open(f"/proc/{me}/task/{task}/children").read().split()
                except OSError:
                    pass
            for pid in children:
                self.peak_kb = max(self.peak_kb, rss_kb(int(pid)))


def maxrss_mb(who: int) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def cpu_s(who: int) -> float:
    """User + system CPU seconds: unlike wall time, hardly changed by other jobs sharing the cores."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument("--profile", type=Path, help="run the crawler child under cProfile, writing its stats here")
    args = parser.parse_args()
    if args.profile is not None:  # crawl_site starts sys.executable: a wrapper that profiles the child
        wrapper = args.work / "profiled-python"
        wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m cProfile -o {args.profile.resolve()} "$@"\n')
        wrapper.chmod(0o755)
        sys.executable = str(wrapper)
    config = load_checked_config(args.config)
    url = absolute_db_url(args.db)
    factory = open_database(url)
    options = CrawlOptions(cache_dir=args.work / "httpcache", full=args.full, jobs=1,
                           job_dir=args.work / "jobs")
    out: dict = {"load_before": os.getloadavg()[0]}
    with factory.begin() as session:
        audit = begin_runs(session, config, config.sites, args.as_of, args.config, None)
        runs = {r.site_id: r.id for r in audit.crawl_runs}
        audit_id = audit.id
    logs = {site_id: args.work / "logs" / f"run-{audit_id}-{site_id}.log" for site_id in runs}
    sampler = ChildSampler()
    sampler.start()
    started = time.monotonic()
    codes = crawl_sites(str(Path(args.config).resolve()), url, runs, args.as_of, logs, None, options)
    out["crawl_s"] = round(time.monotonic() - started, 2)
    sampler.stop.set()
    out["crawler_peak_rss_mb"] = maxrss_mb(resource.RUSAGE_CHILDREN)
    out["crawl_cpu_s"] = round(cpu_s(resource.RUSAGE_CHILDREN), 2)
    out["crawler_sampled_peak_rss_mb"] = round(sampler.peak_kb / 1024, 1)
    out["before_audit_rss_mb"] = maxrss_mb(resource.RUSAGE_SELF)
    # A large run's audit has a second process (checks.registry.SECOND_PROCESS): its CPU counts, and its
    # memory is sampled like the crawler's.
    sampler = ChildSampler()
    sampler.start()
    started, cpu, children_cpu = time.monotonic(), cpu_s(resource.RUSAGE_SELF), cpu_s(resource.RUSAGE_CHILDREN)
    result: RunResult = audit_runs(factory, config, audit_id, codes, logs)
    out["audit_s"] = round(time.monotonic() - started, 2)
    sampler.stop.set()
    out["audit_second_process_cpu_s"] = round(cpu_s(resource.RUSAGE_CHILDREN) - children_cpu, 2)
    out["audit_cpu_s"] = round(cpu_s(resource.RUSAGE_SELF) - cpu + out["audit_second_process_cpu_s"], 2)
    out["audit_peak_rss_mb"] = maxrss_mb(resource.RUSAGE_SELF)
    out["audit_second_process_sampled_peak_rss_mb"] = round(sampler.peak_kb / 1024, 1)
    if not args.no_report:
        started, cpu = time.monotonic(), cpu_s(resource.RUSAGE_SELF)
        write_outputs(factory, result, args.work / "out")
        out["report_s"] = round(time.monotonic() - started, 2)
        out["report_cpu_s"] = round(cpu_s(resource.RUSAGE_SELF) - cpu, 2)
        out["report_peak_rss_mb"] = maxrss_mb(resource.RUSAGE_SELF)
    with factory() as session:
        ids = [r.id for r in result.runs]
        out["findings"] = dict(session.execute(
            select(FindingRecord.check, func.count()).where(FindingRecord.crawl_run_id.in_(ids))
            .group_by(FindingRecord.check)).all())
    stats = [r.stats or {} for r in result.runs]
    out["pages"] = sum(s.get("pages", 0) for s in stats)
    out["probes"] = sum(s.get("probes", 0) for s in stats)
    out["bytes_received"] = sum(s.get("bytes_received", 0) for s in stats)
    out["not_modified"] = sum(s.get("not_modified", 0) for s in stats)
    out["reused"] = sum(s.get("reused", 0) for s in stats)
    for key in ("carried", "copied", "lists_carried", "lists_reused"):
        out[key] = sum(s.get(key, 0) for s in stats)
    out["crawl_duration_s"] = sum(s.get("duration_s", 0) for s in stats)
    out["rows"] = [s.get("rows") for s in stats]
    out["failed"] = result.failed
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
