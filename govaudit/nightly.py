"""The nightly job: every site, a lock against overlap, a log file, a summary a scheduler can act on."""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from govaudit.audit import DEFAULT_OPTIONS, CrawlOptions, ProgressFn, RunResult, run

# Exit codes (sysexits-style where one fits): a scheduler retries 75, alerts on 1 and 3.
EXIT_OK = 0
EXIT_FAILED = 1  # could not run at all, or every site failed
EXIT_PARTIAL = 3  # some sites failed; the others completed
EXIT_LOCKED = 75  # EX_TEMPFAIL: another nightly run holds the lock

DEFAULT_LOCK = Path("var/nightly.lock")


class LockHeld(Exception):
    """Another nightly run is in progress."""


@contextmanager
def nightly_lock(path: Path = DEFAULT_LOCK) -> Iterator[None]:
    """An exclusive lock on ``path`` for the process's lifetime in the block.

    flock is released by the kernel when the process dies, so a killed nightly run never leaves a
    stale lock behind. (It covers one machine; crawlers on several machines share work through
    scrapy-redis instead.)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LockHeld(f"another nightly run is in progress ({holder}; lock {path})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {dt.datetime.now().isoformat(timespec='seconds')}")
        handle.flush()
        yield
    finally:
        handle.close()


@dataclass
class NightlySummary:
    result: RunResult
    seconds: float
    log: Path
    lines: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        runs, failed = self.result.runs, self.result.failed
        if not runs or len(failed) == len(runs) or self.result.output_error:
            return EXIT_FAILED
        return EXIT_PARTIAL if failed else EXIT_OK


def summarise(result: RunResult, seconds: float) -> list[str]:
    """The closing lines: sites done and failed, findings by status, duration."""
    done = [r.site_id for r in result.runs if r.status == "completed"]
    counts = result.counts
    lines = [
        f"nightly run {result.audit_run_id}: {len(done)} site(s) done, {len(result.failed)} failed, "
        f"in {seconds:.0f} s",
        f"findings: new {counts.get('new', 0)}, reopened {counts.get('reopened', 0)}, "
        f"open {counts.get('open', 0)}, resolved {counts.get('resolved', 0)}",
    ]
    lines += [f"failed: {site_id}: {why}" for site_id, why in sorted(result.failed.items())]
    if result.output_error:
        lines.append(f"failed: report: {result.output_error}")
    return lines


def mail_night(config_path: str | Path, db_url: str | None, result: RunResult) -> str | None:
    """The summary mailed to ``notify.smtp`` when configured: the line saying so, or why it failed.
    A mail that fails is that line and a logged error, never a failed night."""
    try:
        from govaudit.audit import load_checked_config
        from govaudit.db import open_database

        smtp = load_checked_config(config_path).notify.smtp
        if smtp is None:
            return None
        from govaudit.notify import mail_summary

        return mail_summary(smtp, open_database(db_url), result)
    except Exception as exc:  # noqa: BLE001 - the audit is stored; only the mail is lost
        logging.getLogger(__name__).error("mail: %s", exc)
        return f"mail failed: {exc}"


def nightly(config_path: str | Path, db_url: str | None = None, out_dir: str | Path = "out",
            site_ids: Sequence[str] = (), as_of: dt.date | None = None, progress: ProgressFn | None = None,
            options: CrawlOptions = DEFAULT_OPTIONS, log_dir: str | Path = "var/logs",
            lock_path: Path = DEFAULT_LOCK) -> NightlySummary:
    """Audit every configured site (or ``site_ids``) under the nightly lock; raises LockHeld.

    The log of the whole night goes to ``log_dir/nightly-<time>.log``; each site's crawl has its own
    log beside it, and one site's failure never stops the others.
    """
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    with nightly_lock(lock_path):
        log_path = log_dir / f"nightly-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.log"
        handler = logging.FileHandler(log_path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        previous_level = root.level
        root.setLevel(min(previous_level or logging.INFO, logging.INFO))
        started = time.monotonic()
        try:
            logging.getLogger(__name__).info("nightly run starts: %s", config_path)
            result = run(config_path, db_url=db_url, out_dir=out_dir, site_ids=site_ids, as_of=as_of,
                         progress=progress, log_dir=log_dir, options=options)
            summary = NightlySummary(result, time.monotonic() - started, log_path)
            summary.lines = summarise(result, summary.seconds)
            mailed = mail_night(config_path, db_url, result)
            if mailed:
                summary.lines.append(mailed)
            for line in summary.lines:
                logging.getLogger(__name__).info("%s", line)
            return summary
        except Exception as exc:
            logging.getLogger(__name__).error("nightly run could not run: %s", exc)
            raise
        finally:
            root.removeHandler(handler)
            root.setLevel(previous_level)
            handler.close()
