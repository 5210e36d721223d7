"""Audit and report one stored crawl run again, timed, with the peak RSS of this process: the audit and
report figures of ``bench/run`` for a crawl that is already in a bench database (e.g. one stopped part
way on a machine too busy to finish 100,000 pages). An interrupted run is audited as far as it got.

    .venv/bin/python bench/audit_only.py --db sqlite:////tmp/govaudit-bench-100000/audit.db --work DIR
Prints one JSON line.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/incremental.py would shadow the ``incremental`` package Twisted imports: run from the project root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from bench.pipeline import ChildSampler, cpu_s  # noqa: E402
from govaudit.audit import audit_runs, load_checked_config, write_outputs  # noqa: E402
from govaudit.db import open_database  # noqa: E402
from govaudit.models import CrawlRun, FindingRecord, Link, Page  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--run", type=int, help="crawl run id (default: the newest)")
    args = parser.parse_args()
    config = load_checked_config(args.config)
    factory = open_database(args.db)
    with factory.begin() as session:
        run = session.get(CrawlRun, args.run) if args.run else session.scalars(
            select(CrawlRun).order_by(CrawlRun.id.desc()).limit(1)).first()
        out = {"crawl_run": run.id, "status_was": run.status, "load_before": os.getloadavg()[0],
               "pages": session.scalar(select(func.count()).select_from(Page).where(Page.crawl_run_id == run.id)),
               "links": session.scalar(select(func.count()).select_from(Link).where(Link.crawl_run_id == run.id))}
        session.execute(FindingRecord.__table__.delete().where(FindingRecord.crawl_run_id == run.id))
        run.status = "crawled"  # audited as far as the crawl got
        audit_id = run.audit_run_id
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sampler = ChildSampler()  # the audit's second process (checks.registry.SECOND_PROCESS)
    sampler.start()
    started, cpu, children_cpu = time.monotonic(), cpu_s(resource.RUSAGE_SELF), cpu_s(resource.RUSAGE_CHILDREN)
    result = audit_runs(factory, config, audit_id)
    out["audit_s"] = round(time.monotonic() - started, 2)
    sampler.stop.set()
    out["audit_second_process_cpu_s"] = round(cpu_s(resource.RUSAGE_CHILDREN) - children_cpu, 2)
    out["audit_cpu_s"] = round(cpu_s(resource.RUSAGE_SELF) - cpu + out["audit_second_process_cpu_s"], 2)
    out["audit_second_process_sampled_peak_rss_mb"] = round(sampler.peak_kb / 1024, 1)
    out["rss_before_audit_mb"] = round(rss0, 1)
    out["audit_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    started, cpu = time.monotonic(), sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    write_outputs(factory, result, args.work / "out")
    out["report_s"] = round(time.monotonic() - started, 2)
    out["report_cpu_s"] = round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu, 2)
    out["report_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    with factory() as session:
        out["findings"] = dict(session.execute(
            select(FindingRecord.check, func.count()).where(FindingRecord.crawl_run_id == out["crawl_run"])
            .group_by(FindingRecord.check)).all())
    out["failed"] = result.failed
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
