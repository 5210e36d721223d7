"""Retention: old runs lose their crawl data, never their findings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govaudit.models import (
    AvailabilityProbe,
    Column,
    CrawlRun,
    Document,
    Link,
    Listing,
    Message,
    NewMediaAccount,
    Page,
    Probe,
    Screenshot,
    utcnow,
)

# What a crawl stored; findings, runs and their stats stay, so trends and lifecycles survive pruning.
CRAWL_TABLES = (Link, Listing, Message, Document, Probe, Column, Screenshot, NewMediaAccount, Page)
# AV01 reads the last 7 days of availability probes: never prune closer than that.
PROBE_DAYS_KEPT = 8


@dataclass
class PruneResult:
    runs: int
    rows: dict[str, int]


def prune(session: Session, keep_days: int, now: dt.datetime | None = None) -> PruneResult:
    """Delete the pages, links, listings, documents, probes, columns, screenshots and 政务新媒体 account
    pages of crawl runs that started more than ``keep_days`` days ago, and availability probes older
    than that (but never younger than 8 days: AV01 reads a week). The newest completed run of each site is always kept whole
    (it is the baseline of the next run's lifecycle and of a re-audit)."""
    if keep_days < 0:
        raise ValueError("--keep-days must be 0 or more")
    cutoff = (now or utcnow()) - dt.timedelta(days=keep_days)
    newest = {
        site_id: run_id
        for site_id, run_id in session.execute(
            select(CrawlRun.site_id, CrawlRun.id).where(CrawlRun.status == "completed").order_by(CrawlRun.id)
        )
    }
    old = [
        run_id for run_id, site_id in session.execute(
            select(CrawlRun.id, CrawlRun.site_id).where(CrawlRun.started_at < cutoff)
        )
        if newest.get(site_id) != run_id
    ]
    rows: dict[str, int] = {}
    for start in range(0, len(old), 500):
        chunk = old[start:start + 500]
        for model in CRAWL_TABLES:
            deleted = session.execute(delete(model).where(model.crawl_run_id.in_(chunk))).rowcount or 0
            rows[model.__tablename__] = rows.get(model.__tablename__, 0) + deleted
    for run in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(old))) if old else []:
        run.stats = {**(run.stats or {}), "pruned": True}
    probe_cutoff = (now or utcnow()) - dt.timedelta(days=max(keep_days, PROBE_DAYS_KEPT))
    rows[AvailabilityProbe.__tablename__] = session.execute(
        delete(AvailabilityProbe).where(AvailabilityProbe.checked_at < probe_cutoff)
    ).rowcount or 0
    return PruneResult(runs=len(old), rows=rows)
