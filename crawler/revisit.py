"""Revisiting: which unchanged pages an incremental crawl takes from the last run instead of asking again.

An incremental crawl already asks for every page with its validators, so an unchanged page costs a 304
and is not read again (``crawler.reuse``). But each request still costs a full trip through Scrapy and the
site's politeness delay, and a site's articles and attachments, nine in ten of its pages, hardly ever
change once published. So a page is **carried** from the last run, without a request, when all of these
hold (``limits.revisit_days`` = N, 7 by default; 0 asks for every page every night):

- the site's previous crawl run completed, and it stored the page as an answer 200 (an error is always
  asked again), as a plain page or a document, not the home page, a column or one of its list pages;
- the HTTP cache holds the page's answer 200, at that very URL (no redirect), and the site answered
  it (200 or 304) less than N days ago;
- for an HTML page, the readings store (``crawler.reuse``) holds what it read as, and it is not a message
  of a board (a message may be answered any day) nor an annual report's attachment;
- it is not the page's turn: every page is asked again on one night in N, spread by a hash of its URL
  (``zlib.crc32(url) % N == as_of.toordinal() % N``), so a site gets about 1/N of its pages revalidated a
  night instead of all of them every Nth night;
- no finding of the site's last audit names the page (a page under rectification is asked every night,
  so that a fix shows the next morning);
- when a column's list leads to it, the list shows the entry with the same title and date as last time
  (an edited entry is asked at once).

The home page, every column and list page, message boards, 政务新媒体 accounts, annual reports'
attachments and outside links (probes) are asked every night whatever this says, so 栏目更新, blank
columns, unanswered messages and dead service links are judged on tonight's answers. A carried page is
stored with the time of its last real answer (``page.fetched_at``) and counted in ``stats.carried``.
``govaudit run --full`` asks for everything.
"""

from __future__ import annotations

import datetime as dt
import pickle
import sqlite3
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.cache import FILE_NAME
from govaudit.db import make_engine
from govaudit.models import CrawlRun, FindingRecord, Listing, Page

CARRIED_KINDS = ("other", "document")


def listing_signature(title: str | None, date: dt.date | None) -> int:
    """What an entry of a column's list shows of its page; a change means the page was edited."""
    return zlib.crc32(f"{title or ''}\x1f{date.isoformat() if date else ''}".encode())


@dataclass
class Cached:
    """A page's stored answer, as the HTTP cache holds it."""

    data: dict[str, Any]  # scrapy.utils.response.response_from_dict, without the body
    stored: float  # when the site last answered it (200 or 304), seconds since the epoch
    body: bytes
    fetched_at: dt.datetime  # the same, as the audit database stores times (UTC, naive)


class Revisits:
    def __init__(self, days: int, as_of: dt.date, cache_path: Path, previous: dict[str, int],
                 flagged: set[str], fingerprint):
        self.days = days
        self.turn = as_of.toordinal() % days
        self.oldest = time.time() - days * 86400
        self.previous = previous  # url -> its list entry's signature last run (0: not listed)
        self.flagged = flagged
        self.fingerprint = fingerprint
        self.db = sqlite3.connect(f"file:{cache_path}?mode=ro", uri=True)
        self.carried = 0

    @classmethod
    def open(cls, *, days: int, as_of: dt.date, cache_dir: str | None, db_url: str | None, site_id: str,
             run_id: int, fingerprint) -> Revisits | None:
        """The revisits of one site's crawl; None when there is nothing to carry (``revisit_days: 0``, no
        HTTP cache, no completed earlier run of the site)."""
        if days <= 0 or not cache_dir or not db_url:
            return None
        cache_path = Path(cache_dir) / FILE_NAME
        if not cache_path.exists():
            return None
        engine = make_engine(db_url)
        with Session(engine) as session:
            previous_run = session.scalar(
                select(CrawlRun.id).where(CrawlRun.site_id == site_id, CrawlRun.id < run_id)
                .order_by(CrawlRun.id.desc()).limit(1))
            if previous_run is None or session.scalar(
                    select(CrawlRun.status).where(CrawlRun.id == previous_run)) != "completed":
                return None
            previous = dict.fromkeys(session.scalars(select(Page.url).where(
                Page.crawl_run_id == previous_run, Page.status == 200, Page.error.is_(None),
                Page.kind.in_(CARRIED_KINDS))), 0)
            for url, title, date in session.execute(
                    select(Listing.url, Listing.title, Listing.date).where(Listing.crawl_run_id == previous_run)):
                if url in previous:
                    previous[url] = listing_signature(title, date)
            flagged = set(session.scalars(select(FindingRecord.url).where(
                FindingRecord.crawl_run_id == previous_run, FindingRecord.status != "resolved")))
        engine.dispose()
        if not previous:
            return None
        return cls(days, as_of, cache_path, previous, flagged, fingerprint)

    def due(self, url: str) -> bool:
        """Whether tonight is the page's turn to be asked again."""
        return zlib.crc32(url.encode()) % self.days == self.turn

    def lookup(self, request, url: str, listed: int | None = None) -> Cached | None:
        """The stored answer of ``url`` when the page may be carried (see the module's rules), else None.
        ``listed``: the signature of the list entry that leads to it, when one does."""
        signature = self.previous.get(url)
        if signature is None or url in self.flagged or self.due(url):
            return None
        if listed is not None and signature != listed:
            return None
        row = self.db.execute("SELECT time, meta, body FROM response WHERE key = ?",
                              (self.fingerprint(request).hex(),)).fetchone()
        if row is None or row[0] < self.oldest:
            return None
        try:
            data = pickle.loads(row[1])  # noqa: S301 - the HTTP cache's own file (crawler.cache)
        except Exception:  # noqa: BLE001 - a damaged row: the page is asked for
            return None
        if data.get("status") != 200:
            return None
        fetched_at = dt.datetime.fromtimestamp(row[0], dt.UTC).replace(tzinfo=None)
        return Cached(data=data, stored=row[0], body=row[2], fetched_at=fetched_at)

    def close(self) -> None:
        self.db.close()
