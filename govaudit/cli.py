"""The ``govaudit`` command: a thin layer over govaudit.audit, govaudit.findings and reports."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from govaudit import __version__
from govaudit.config import DEFAULT_CONFIG, ConfigError
from govaudit.db import DatabaseError, open_database

err = Console(stderr=True)
out = Console()

EXIT_FAILED = 1  # the job could not run (config, database)
EXIT_PARTIAL = 3  # the run completed for some sites only
EXIT_INTERRUPTED = 130  # stopped by SIGINT/SIGTERM; its crawls are kept and resumed by the next run


def fail(message: str, code: int = EXIT_FAILED) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _as_of(_ctx, _param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-23") from None


config_option = click.option("--config", "config_path", default=str(DEFAULT_CONFIG), show_default=True,
                             type=click.Path(dir_okay=False), help="the sites file")
db_option = click.option("--db", "db_url", default=None,
                         help="SQLAlchemy URL of the audit database (default: $GOVAUDIT_DB, else var/govaudit.db)")
run_option = click.option("--run", "run_ref", default="latest", show_default=True,
                          help="'latest' (each site's newest completed run) or a run number")
as_of_option = click.option("--as-of", callback=_as_of, default=None,
                            help="the date checks take as today (default: today in China)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="govaudit")
def main() -> None:
    """Audit 政务公开 portals: crawl them, check them, report what an inspector would find."""


def _with_progress(job, **kwargs):
    """Run ``job`` (govaudit.audit.run or govaudit.nightly.nightly) with a live per-site crawl display.

    SIGTERM (a scheduler or systemd stopping the job) is taken like Ctrl-C: the crawls stop gracefully."""
    import signal

    from govaudit.audit import RunError, RunInterrupted

    signal.signal(signal.SIGTERM, signal.default_int_handler)

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.fields[detail]}"),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        tasks: dict[str, int] = {}

        def on_event(event: dict) -> None:
            site = event.get("site")
            if site is None:
                return
            detail = f"{event.get('pages', 0)} pages, {event.get('queued', 0)} queued, {event.get('errors', 0)} errors"
            if site not in tasks:
                tasks[site] = progress.add_task(f"crawling {site}", total=None, detail=detail)
            progress.update(tasks[site], detail=detail)

        try:
            return job(progress=on_event, **kwargs)
        except ConfigError as exc:
            fail(f"invalid configuration:\n{exc}")
        except (RunError, DatabaseError) as exc:
            fail(str(exc))
        except SQLAlchemyError as exc:
            # Read-only, locked, full, or the server went away: what is stored stays as committed.
            fail(f"the audit database could not be written: {getattr(exc, 'orig', None) or exc}")
        except RunInterrupted as exc:
            progress.stop()
            _summarise(exc.result)
            fail(str(exc), EXIT_INTERRUPTED)


def _progress_run(**kwargs):
    from govaudit.audit import run

    return _with_progress(run, **kwargs)


def _summarise(result) -> None:
    for crawl_run in result.runs:
        stats = crawl_run.stats or {}
        state = "[green]completed[/]" if crawl_run.status == "completed" else f"[red]{crawl_run.status}[/]"
        rendered = (f", {stats['rendered_pages']} rendered in the browser ({stats.get('render_seconds', 0)} s)"
                    if stats.get("rendered_pages") else "")
        err.print(f"  {crawl_run.site_id}: {state}, {stats.get('pages', 0)} pages, "
                  f"{stats.get('errors', 0)} fetch errors{rendered}"
                  + (f" — {crawl_run.error}" if crawl_run.error else ""), highlight=False)
    counts = result.counts
    err.print(f"run {result.audit_run_id}: findings new {counts.get('new', 0)}, open {counts.get('open', 0)}, "
              f"resolved {counts.get('resolved', 0)}", highlight=False)
    if result.report:
        out.print(f"report: {result.report}", highlight=False, soft_wrap=True)
    for path in result.exports:
        out.print(f"rectification list: {path}", highlight=False, soft_wrap=True)
    if result.output_error:
        err.print(f"[bold red]error:[/] {result.output_error}", highlight=False, soft_wrap=True)
    for site_id, log in result.logs.items():
        if site_id in result.failed:
            err.print(f"crawl log of {site_id}: {log}", highlight=False, soft_wrap=True)


def _exit_code(result) -> int:
    if result.output_error or len(result.failed) == len(result.runs):
        return EXIT_FAILED
    return EXIT_PARTIAL if result.failed else 0


full_option = click.option("--full", is_flag=True,
                           help="fetch every page whole (ignore the HTTP cache of the incremental crawl)")
jobs_option = click.option("--jobs", default=2, show_default=True, type=click.IntRange(1, 64),
                           help="sites crawled at the same time, each in its own process")


def run_options(command):
    """The options ``run`` and ``nightly`` share."""
    for option in reversed((
        config_option,
        db_option,
        click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False)),
        click.option("--site", "site_ids", multiple=True, help="only this site (repeatable)"),
        as_of_option,
        full_option,
        jobs_option,
    )):
        command = option(command)
    return command


def _options(full: bool, jobs: int):
    from govaudit.audit import CrawlOptions

    return CrawlOptions(full=full, jobs=jobs)


@main.command("run")
@run_options
def run_cmd(config_path: str, db_url: str | None, out_dir: str, site_ids: Sequence[str], as_of, full: bool,
            jobs: int) -> None:
    """Crawl, audit and report the configured sites."""
    result = _progress_run(config_path=config_path, db_url=db_url, out_dir=out_dir, site_ids=site_ids,
                           as_of=as_of, options=_options(full, jobs))
    _summarise(result)
    sys.exit(_exit_code(result))


@main.command("crawl")
@config_option
@db_option
@click.option("--distributed", is_flag=True, help="crawl with processes that share a Redis queue (required)")
@click.option("--redis", "redis_url", envvar="GOVAUDIT_REDIS", default=None,
              help="Redis URL of the shared queue, e.g. redis://127.0.0.1:6379/0 (or $GOVAUDIT_REDIS)")
@click.option("--run", "join_run", type=int, default=None,
              help="join distributed run N as one more crawler (started by a coordinator elsewhere)")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(0, 64),
              help="crawler processes the coordinator starts on this machine (0: only workers that join)")
@click.option("--idle-timeout", default=30.0, show_default=True, type=click.FloatRange(1),
              help="seconds the shared queue must stay idle before the crawlers stop")
@click.option("--redis-prefix", default="govaudit", show_default=True, help="prefix of the run's Redis keys")
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
@click.option("--site", "site_ids", multiple=True, help="only this site (repeatable)")
@as_of_option
@full_option
@click.option("--jobs", default=2, show_default=True, type=click.IntRange(1, 64),
              help="sites audited at the same time, each in its own process")
def crawl_cmd(config_path: str, db_url: str | None, distributed: bool, redis_url: str | None, join_run: int | None,
              workers: int, idle_timeout: float, redis_prefix: str, out_dir: str, site_ids: Sequence[str], as_of,
              full: bool, jobs: int) -> None:
    """A distributed run: without --run, coordinate one (create it, start --workers crawlers, wait until the
    queue is idle, audit and report); with --run N, join run N as one more crawler."""
    from govaudit.audit import RunError
    from govaudit.distributed import coordinate, join

    if not distributed:
        fail("crawl needs --distributed (one machine without Redis: govaudit run)")
    if not redis_url:
        fail("--distributed needs --redis URL (or $GOVAUDIT_REDIS)")
    options = _options(full, jobs)
    try:
        if join_run is not None:
            code = join(config_path, redis_url, join_run, db_url=db_url, prefix=redis_prefix, options=options)
            sys.exit(0 if code == 0 else EXIT_FAILED)

        def announce(audit_id: int) -> None:
            err.print(f"distributed run {audit_id}: more crawlers join it with "
                      f"govaudit crawl --distributed --redis URL --run {audit_id}", highlight=False, soft_wrap=True)

        result = coordinate(config_path, redis_url, db_url=db_url, out_dir=out_dir, site_ids=site_ids, as_of=as_of,
                            workers=workers, idle_timeout=idle_timeout, prefix=redis_prefix, options=options,
                            announce=announce)
    except KeyboardInterrupt:
        fail("interrupted: the distributed run's crawlers were stopped", EXIT_INTERRUPTED)
    except (RunError, ConfigError, DatabaseError) as exc:
        fail(str(exc))
    _summarise(result)
    sys.exit(_exit_code(result))


def _runs(session, run_ref: str, site_ids: Sequence[str]):
    from govaudit.findings import select_runs

    try:
        runs = select_runs(session, run_ref, site_ids)
    except (ValueError, LookupError) as exc:
        fail(str(exc))
    if not runs:
        fail("no completed run in the audit database yet: start with 'govaudit run'")
    return runs


def _open(db_url: str | None):
    try:
        return open_database(db_url)
    except DatabaseError as exc:
        fail(str(exc))


@main.command("findings")
@db_option
@run_option
@click.option("--site", "site_ids", multiple=True, help="only this site (repeatable)")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
def findings_cmd(db_url: str | None, run_ref: str, site_ids: Sequence[str], fmt: str) -> None:
    """Print the findings of a run to stdout."""
    from govaudit.findings import finding_dict, run_findings

    factory = _open(db_url)
    with factory() as session:
        runs = _runs(session, run_ref, site_ids)
        as_of = {r.id: r.as_of for r in runs}
        rows = [finding_dict(r, as_of[r.crawl_run_id]) for r in run_findings(session, runs)]
    if fmt == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    fields = ["check", "severity", "site", "unit", "column", "url", "message", "evidence", "fingerprint",
              "status", "first_seen", "last_seen"]
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        row = dict(row, evidence=json.dumps(row["evidence"], ensure_ascii=False))
        writer.writerow({k: _safe_cell(v) for k, v in row.items()})


def _safe_cell(value):
    from reports.export import neutralise

    return neutralise(value) if isinstance(value, str) else value


@main.command("report")
@db_option
@run_option
@click.option("--site", "site_ids", multiple=True, help="only this site (repeatable)")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
def report_cmd(db_url: str | None, run_ref: str, site_ids: Sequence[str], out_dir: str) -> None:
    """Write the HTML findings report (DIR/index.html, with DIR/changes.html beside it)."""
    from reports.html import render_report

    factory = _open(db_url)
    with factory() as session:
        try:
            path = render_report(session, _runs(session, run_ref, site_ids), Path(out_dir))
        except OSError as exc:
            fail(f"cannot write the report to {out_dir}: {exc}")
    out.print(f"report: {path}", highlight=False, soft_wrap=True)


@main.command("export")
@db_option
@run_option
@click.option("--site", "site_ids", multiple=True, help="only this site (repeatable)")
@click.option("--by", type=click.Choice(["unit"]), default="unit", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
def export_cmd(db_url: str | None, run_ref: str, site_ids: Sequence[str], by: str, fmt: str, out_dir: str) -> None:
    """Write one rectification list (整改清单) per responsible unit."""
    from reports.export import export_rectification

    factory = _open(db_url)
    with factory() as session:
        try:
            paths = export_rectification(session, _runs(session, run_ref, site_ids), Path(out_dir), fmt)
        except OSError as exc:
            fail(f"cannot write the rectification lists to {out_dir}: {exc}")
    for path in paths:
        out.print(f"rectification list: {path}", highlight=False, soft_wrap=True)


@main.command("nightly")
@run_options
def nightly_cmd(config_path: str, db_url: str | None, out_dir: str, site_ids: Sequence[str], as_of, full: bool,
                jobs: int) -> None:
    """The nightly job: all sites, never two at once; exit 0 ok, 3 some sites failed, 1 failed, 75 locked."""
    from govaudit.nightly import EXIT_LOCKED, LockHeld, nightly

    try:
        summary = _with_progress(nightly, config_path=config_path, db_url=db_url, out_dir=out_dir,
                                 site_ids=site_ids, as_of=as_of, options=_options(full, jobs))
    except LockHeld as exc:
        fail(str(exc), EXIT_LOCKED)
    _summarise(summary.result)
    for line in summary.lines:
        out.print(line, highlight=False, soft_wrap=True)
    out.print(f"log: {summary.log}", highlight=False, soft_wrap=True)
    sys.exit(summary.exit_code)


@main.command("schedule")
@click.option("--print", "kind", type=click.Choice(["cron", "systemd"]),
              help="print crontab lines, or a systemd service + timer pair for each job")
@click.option("--run", "foreground", is_flag=True,
              help="run the schedule in the foreground (APScheduler), for hosts without cron or systemd")
@config_option
@click.option("--at", "at", default="02:30", show_default=True, help="time of the nightly run (HH:MM)")
@click.option("--probe-every", default=60, show_default=True, type=click.IntRange(5, 1440),
              help="minutes between availability probes")
def schedule_cmd(kind: str | None, foreground: bool, config_path: str, at: str, probe_every: int) -> None:
    """Print ready scheduler entries for the nightly run and the availability probes, or run them."""
    import logging

    from govaudit.schedule import ScheduleError, build_scheduler, cron_lines, systemd_units

    if (kind is None) == (not foreground):
        fail("give one of --print cron|systemd or --run")
    try:
        if foreground:
            scheduler = build_scheduler(config_path, at, probe_every)
        else:
            text = (cron_lines if kind == "cron" else systemd_units)(config_path, at, probe_every)
    except ScheduleError as exc:
        fail(str(exc))
    if not foreground:
        click.echo(text, nl=False)
        return
    import signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        for job in scheduler.get_jobs():
            err.print(f"{job.name}: {job.trigger}", highlight=False, soft_wrap=True, markup=False)
        err.print("running the schedule (Ctrl-C stops it); jobs log to var/logs/schedule.log", highlight=False)
        scheduler.start()
    except KeyboardInterrupt:
        if scheduler.running:
            scheduler.shutdown(wait=False)


@main.command("prune")
@db_option
@click.option("--keep-days", required=True, type=click.IntRange(0), help="keep crawl data of this many days")
def prune_cmd(db_url: str | None, keep_days: int) -> None:
    """Delete old runs' pages, links and listings; findings and their history stay."""
    from govaudit.retention import prune

    factory = _open(db_url)
    with factory.begin() as session:
        result = prune(session, keep_days)
    detail = ", ".join(f"{n} {table}" for table, n in result.rows.items() if n) or "nothing"
    out.print(f"pruned {result.runs} run(s): {detail}", highlight=False, soft_wrap=True)


@main.command("probe")
@config_option
@db_option
@click.option("--site", "site_ids", multiple=True, help="only this site (repeatable)")
@click.option("--timeout", default=15.0, show_default=True, type=click.FloatRange(0, min_open=True),
              help="seconds one request may take in all (redirects and the first 64 KB included)")
@click.option("--concurrency", default=50, show_default=True, type=click.IntRange(1, 1000),
              help="requests at a time (never more than 2 to one host)")
def probe_cmd(config_path: str, db_url: str | None, site_ids: Sequence[str], timeout: float,
              concurrency: int) -> None:
    """Probe each site's home page and columns once (no crawl) and store the outcome for AV01."""
    from govaudit.probe import ProbeError, probe_sites

    try:
        summary = probe_sites(config_path, db_url=db_url, site_ids=site_ids, timeout=timeout,
                              concurrency=concurrency)
    except ConfigError as exc:
        fail(f"invalid configuration:\n{exc}")
    except (ProbeError, DatabaseError) as exc:
        fail(str(exc))
    for failure in summary.failures:
        out.print(f"FAILED {failure.site_id} {failure.kind} {failure.url}: {failure.reason}",
                  highlight=False, soft_wrap=True, markup=False)
    out.print(f"probe {summary.checked_at:%Y-%m-%dT%H:%M:%S}Z: {summary.sites} site(s), {summary.urls} URL(s), "
              f"{summary.failed} failed, {summary.seconds:.1f} s", highlight=False, soft_wrap=True, markup=False)


@main.group("sites")
def sites_group() -> None:
    """Work with the sites file."""


@sites_group.command("validate")
@config_option
def sites_validate(config_path: str) -> None:
    """Check the sites file; print every error with file, line and key."""
    from govaudit.audit import load_checked_config

    try:
        config = load_checked_config(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(str(problem), highlight=False, soft_wrap=True, markup=False)
        err.print(f"{len(exc.problems)} error(s) in {config_path}", highlight=False)
        sys.exit(EXIT_FAILED)
    columns = sum(len(s.columns) for s in config.sites)
    out.print(f"{config_path}: OK — {len(config.sites)} site(s), {columns} configured column(s)", highlight=False)


@main.command("demo")
@db_option
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
@click.option("--port", "base_port", default=18600, show_default=True,
              help="first of the loopback ports the demo portal prefers (free ones if taken)")
@as_of_option
def demo_cmd(db_url: str | None, out_dir: str, base_port: int, as_of) -> None:
    """Serve the bundled demo portal on 127.0.0.1 and run the whole pipeline on it."""
    from demo.server import serve_demo
    from govaudit.audit import local_today

    as_of = as_of or local_today()
    with serve_demo(anchor=as_of, base_port=base_port) as portal:
        config_path = portal.write_config(Path("var/demo/sites.yml"))
        sites = ", ".join(portal.url(role) for role in ("main", "gbk", "jcms", "trs", "service"))
        err.print(f"demo portal: {sites}", highlight=False, soft_wrap=True)
        result = _progress_run(config_path=str(config_path), db_url=db_url, out_dir=out_dir, as_of=as_of)
    _summarise(result)
    sys.exit(0 if result.report and not result.output_error else _exit_code(result))


if __name__ == "__main__":
    main()
