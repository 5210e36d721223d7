"""Scheduler entries for the nightly run and the probes: cron lines or systemd units, or APScheduler in the
foreground for hosts that have neither, never a daemon of ours."""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


class ScheduleError(ValueError):
    """The schedule asked for cannot be written."""


def _time(at: str) -> tuple[int, int]:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", at.strip())
    if not match:
        raise ScheduleError(f"--at takes a time like 02:30, not {at!r}")
    return int(match[1]), int(match[2])


def _command(verb: str, config_path: str) -> str:
    """The govaudit command line, with absolute paths: schedulers start in another directory."""
    return shlex.join([sys.executable, "-m", "govaudit", verb, "--config", str(Path(config_path).resolve())])


def _probe_cron(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if 60 % minutes:
        raise ScheduleError(f"--probe-every {minutes}: cron needs a divisor of 60 minutes or whole hours")
    return f"*/{minutes} * * * *"


def cron_lines(config_path: str, at: str = "02:30", probe_every: int = 60) -> str:
    """crontab lines: the nightly run at ``at``, probes every ``probe_every`` minutes."""
    hour, minute = _time(at)
    workdir = shlex.quote(str(Path.cwd()))
    return (
        "# govaudit: install with `crontab -e` (or append to the output of `crontab -l`)\n"
        "# nightly audit; exit 3 = some sites failed, 75 = the previous night still running\n"
        f"{minute} {hour} * * * cd {workdir} && mkdir -p var/logs && {_command('nightly', config_path)} "
        ">> var/logs/cron.log 2>&1\n"
        "# availability probes (AV01 veto needs >= 20 a day)\n"
        f"{_probe_cron(probe_every)} cd {workdir} && mkdir -p var/logs && {_command('probe', config_path)} "
        ">> var/logs/cron.log 2>&1\n"
    )


def systemd_units(config_path: str, at: str = "02:30", probe_every: int = 60) -> str:
    """Two service + timer pairs, each file introduced by a ``# file:`` line."""
    hour, minute = _time(at)
    workdir = str(Path.cwd())
    units = []
    for name, verb, description, calendar in (
        ("govaudit-nightly", "nightly", "govaudit nightly audit", f"*-*-* {hour:02d}:{minute:02d}:00"),
        ("govaudit-probe", "probe", "govaudit availability probe", _systemd_every(probe_every)),
    ):
        units.append(
            f"# file: /etc/systemd/system/{name}.service\n"
            "[Unit]\n"
            f"Description={description}\n"
            "After=network-online.target\n"
            "Wants=network-online.target\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            f"WorkingDirectory={workdir}\n"
            f"ExecStart={_command(verb, config_path)}\n"
            "# 75: the previous run still holds the lock, nothing wrong; 3 (some sites failed) and 1 leave\n"
            "# the unit failed, so that `systemctl --failed` and OnFailure= alerts show it\n"
            "SuccessExitStatus=75\n"
            "# a stop sends SIGTERM: the crawls finish what is under way and keep their queues for the\n"
            "# next run of the day to resume; give them the time to (the crawlers' grace is 120 s)\n"
            "TimeoutStopSec=180\n"
        )
        units.append(
            f"# file: /etc/systemd/system/{name}.timer\n"
            "[Unit]\n"
            f"Description={description} (timer)\n\n"
            "[Timer]\n"
            f"OnCalendar={calendar}\n"
            "Persistent=true\n\n"
            "[Install]\n"
            "WantedBy=timers.target\n"
        )
    units.append("# then: systemctl daemon-reload && systemctl enable --now govaudit-nightly.timer govaudit-probe.timer\n")
    return "\n".join(units)


def _systemd_every(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hourly" if hours == 1 else f"*-*-* 00/{hours}:00:00"
    if 60 % minutes:
        raise ScheduleError(f"--probe-every {minutes}: use a divisor of 60 minutes or whole hours")
    return f"*-*-* *:00/{minutes}:00"


def run_job(verb: str, config_path: str, log_dir: Path = Path("var/logs")) -> int:
    """One scheduled job, as cron would run it: ``govaudit <verb>`` in a child process, its output
    appended to ``log_dir/schedule.log``; returns its exit code (3, 75 and others are logged, not raised)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "schedule.log").open("ab") as log:
        done = subprocess.run(shlex.split(_command(verb, config_path)), stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, check=False)
    logger.info("govaudit %s exited with %s", verb, done.returncode)
    return done.returncode


def build_scheduler(config_path: str, at: str = "02:30", probe_every: int = 60, scheduler=None):
    """APScheduler jobs for hosts without cron or systemd: the nightly run at ``at`` (the host's local
    time, as cron reads it) and probes every ``probe_every`` minutes; never two of one job at once, and a
    run missed while the host slept is made up once (within 6 hours for the nightly run)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    hour, minute = _time(at)
    if 60 % probe_every and probe_every % 60:
        raise ScheduleError(f"--probe-every {probe_every}: use a divisor of 60 minutes or whole hours")
    scheduler = scheduler or BlockingScheduler()
    common = {"max_instances": 1, "coalesce": True}
    scheduler.add_job(run_job, CronTrigger(hour=hour, minute=minute), args=("nightly", config_path),
                      id="nightly", name="govaudit nightly", misfire_grace_time=6 * 3600, **common)
    scheduler.add_job(run_job, IntervalTrigger(minutes=probe_every), args=("probe", config_path),
                      id="probe", name="govaudit probe", misfire_grace_time=probe_every * 30, **common)
    return scheduler
