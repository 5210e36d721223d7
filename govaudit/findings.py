"""Findings across runs: fingerprints, the new/open/resolved lifecycle, and the JSON contract."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from govaudit.models import AuditRun, CrawlRun, FindingRecord

SEVERITY_ORDER = {"veto": 0, "major": 1, "minor": 2, "info": 3}


class FindingLike(Protocol):
    check: str
    severity: str
    url: str
    message: str
    evidence: dict[str, Any]
    column: str | None
    unit: str | None
    key: str


def site_relative(url: str, home: str | None) -> str:
    """A URL on the site's own host without scheme and host, so a move to HTTPS keeps fingerprints."""
    if not home:
        return url
    parts, site = urlsplit(url), urlsplit(home)
    if parts.netloc.lower() != site.netloc.lower() or not parts.netloc:
        return url
    return urlunsplit(("", "", parts.path or "/", parts.query, ""))


def fingerprint(site_id: str, check: str, url: str, column: str | None, key: str = "",
                home: str | None = None) -> str:
    """Stable for the same defect across runs: no dates, counts or wording go into it."""
    raw = "\x1f".join([site_id, check, site_relative(url, home), column or "", site_relative(key, home)])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def add_working_days(start: dt.date, days: int, holidays: Iterable[dt.date] = ()) -> dt.date:
    """The date ``days`` working days after ``start`` (weekends and ``holidays`` skipped)."""
    skip = set(holidays)
    current = start
    left = days
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in skip:
            left -= 1
    return current


def previous_run(session: Session, run: CrawlRun) -> CrawlRun | None:
    """The last completed run of the same site before this one."""
    return session.scalars(
        select(CrawlRun)
        .where(CrawlRun.site_id == run.site_id, CrawlRun.id < run.id, CrawlRun.status == "completed")
        .order_by(CrawlRun.id.desc())
        .limit(1)
    ).first()


class WaiverLike(Protocol):
    fingerprint: str
    reason: str
    until: dt.date


def _latest_records(session: Session, run: CrawlRun, fingerprints: Sequence[str]) -> dict[str, FindingRecord]:
    """The newest earlier record of each fingerprint on this site (to recognise a reopened finding)."""
    found: dict[str, FindingRecord] = {}
    for start in range(0, len(fingerprints), 500):
        chunk = fingerprints[start:start + 500]
        rows = session.scalars(
            select(FindingRecord)
            .join(CrawlRun, CrawlRun.id == FindingRecord.crawl_run_id)
            .where(FindingRecord.site_id == run.site_id, FindingRecord.fingerprint.in_(chunk),
                   FindingRecord.crawl_run_id < run.id, CrawlRun.status == "completed")
            .order_by(FindingRecord.id.desc())
        )
        for rec in rows:
            found.setdefault(rec.fingerprint, rec)
    return found


def record_findings(
    session: Session, run: CrawlRun, findings: Sequence[FindingLike], deadline_working_days: int = 10,
    waivers: Sequence[WaiverLike] = (),
) -> list[FindingRecord]:
    """Store a run's findings with their lifecycle status against the site's earlier completed runs.

    A fingerprint seen in the previous run (and not resolved there) is ``open`` and keeps its
    first_seen and deadline; one resolved earlier that is back is ``reopened`` (with a new deadline);
    an unseen one is ``new``; one of the previous run's that is gone now is stored again in this run
    as ``resolved``, so a run's findings tell the whole story on their own. A waiver in force on the
    run's date marks its finding as waived (kept, but not sent to the unit).
    """
    now = run.started_at
    deadline = add_working_days(run.as_of, deadline_working_days)
    before = previous_run(session, run)
    home = (run.site_config or {}).get("url")
    in_force = {w.fingerprint: w for w in waivers if w.until >= run.as_of}
    earlier: dict[str, FindingRecord] = {}
    if before is not None:
        for rec in session.scalars(select(FindingRecord).where(FindingRecord.crawl_run_id == before.id)):
            if rec.status != "resolved":
                earlier[rec.fingerprint] = rec
    current: list[tuple[str, FindingLike]] = []
    seen: set[str] = set()
    for f in findings:
        fp = fingerprint(run.site_id, f.check, f.url, f.column, f.key, home)
        if fp not in seen:  # the same defect reported twice by one check: keep the first
            seen.add(fp)
            current.append((fp, f))
    returning = _latest_records(session, run, [fp for fp, _ in current if fp not in earlier])
    records: list[dict] = []
    for fp, f in current:
        old = earlier.get(fp)
        back = returning.get(fp)
        if old is not None:
            status, first_seen, times, due = "open", old.first_seen, old.times_seen + 1, old.deadline or deadline
        elif back is not None:
            status, first_seen, times, due = "reopened", back.first_seen, back.times_seen + 1, deadline
        else:
            status, first_seen, times, due = "new", now, 1, deadline
        waiver = in_force.get(fp)
        records.append(
            dict(
                crawl_run_id=run.id, site_id=run.site_id, check=f.check, severity=f.severity,
                unit=f.unit, column=f.column, url=f.url, message=f.message, evidence=f.evidence,
                fingerprint=fp, status=status, first_seen=first_seen, last_seen=now, times_seen=times,
                deadline=due, waived_until=waiver.until if waiver else None,
                waiver_reason=waiver.reason if waiver else None,
            )
        )
    for fp, old in earlier.items():
        if fp not in seen:
            records.append(
                dict(
                    crawl_run_id=run.id, site_id=run.site_id, check=old.check, severity=old.severity,
                    unit=old.unit, column=old.column, url=old.url, message=old.message,
                    evidence=old.evidence, fingerprint=fp, status="resolved",
                    first_seen=old.first_seen, last_seen=old.last_seen, times_seen=old.times_seen,
                    deadline=old.deadline, waived_until=None, waiver_reason=None,
                )
            )
    if not records:
        return []
    # One INSERT … RETURNING of all rows (insertmanyvalues on SQLite and PostgreSQL alike); the ORM's own
    # flush would send one statement a row on SQLite. RETURNING gives no order: put them back in it.
    order = {row["fingerprint"]: i for i, row in enumerate(records)}
    stored = session.scalars(insert(FindingRecord).returning(FindingRecord), records).all()
    return sorted(stored, key=lambda rec: order[rec.fingerprint])


def is_waived(rec: FindingRecord, as_of: dt.date) -> bool:
    return rec.waived_until is not None and rec.waived_until >= as_of


def is_overdue(rec: FindingRecord, as_of: dt.date) -> bool:
    """逾期: still there after its rectification deadline."""
    return rec.status in ("open", "reopened") and rec.deadline is not None and rec.deadline < as_of


def select_runs(session: Session, run: str | int = "latest", sites: Sequence[str] = ()) -> list[CrawlRun]:
    """The crawl runs a report or export covers.

    ``latest``: for each site (or each of ``sites``), its newest completed crawl run.
    An id: the crawl runs of that audit run (``govaudit run`` prints it).
    """
    if str(run) == "latest":
        newest = (
            select(CrawlRun.site_id, func.max(CrawlRun.id).label("id"))
            .where(CrawlRun.status == "completed")
            .group_by(CrawlRun.site_id)
            .subquery()
        )
        stmt = select(CrawlRun).join(newest, CrawlRun.id == newest.c.id)
    else:
        try:
            audit_id = int(run)
        except ValueError:
            raise ValueError(f"--run takes 'latest' or a run number, not {run!r}") from None
        if session.get(AuditRun, audit_id) is None:
            raise LookupError(f"no run {audit_id} in the audit database")
        stmt = select(CrawlRun).where(CrawlRun.audit_run_id == audit_id)
    if sites:
        stmt = stmt.where(CrawlRun.site_id.in_(list(sites)))
    return list(session.scalars(stmt.order_by(CrawlRun.site_id)))


def run_findings(session: Session, runs: Sequence[CrawlRun]) -> list[FindingRecord]:
    """The findings of these runs, most severe first, then by check, site and URL."""
    if not runs:
        return []
    rows = session.scalars(
        select(FindingRecord).where(FindingRecord.crawl_run_id.in_([r.id for r in runs]))
    ).all()
    return sorted(rows, key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), r.check, r.site_id, r.url, r.id))


def _iso(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def finding_dict(rec: FindingRecord, as_of: dt.date | None = None) -> dict[str, Any]:
    """One element of ``govaudit findings --format json`` (the DESIGN.md contract, plus extras).

    ``as_of`` (the run's date) decides ``overdue``."""
    return {
        "check": rec.check,
        "severity": rec.severity,
        "site": rec.site_id,
        "unit": rec.unit,
        "column": rec.column,
        "url": rec.url,
        "message": rec.message,
        "evidence": rec.evidence or {},
        "fingerprint": rec.fingerprint,
        "status": rec.status,
        "first_seen": _iso(rec.first_seen),
        "last_seen": _iso(rec.last_seen),
        "times_seen": rec.times_seen,
        "deadline": rec.deadline.isoformat() if rec.deadline else None,
        "overdue": is_overdue(rec, as_of) if as_of else False,
        "waiver": {"reason": rec.waiver_reason, "until": rec.waived_until.isoformat()}
        if rec.waived_until else None,
        "run": rec.crawl_run_id,
    }
