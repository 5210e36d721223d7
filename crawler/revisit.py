"""Revisiting: which unchanged pages an incremental crawl takes from the last run instead of asking again.

An incremental crawl already asks for every page with its validators, so an unchanged page costs a 304
and is not read again (``crawler.reuse``). But each request still costs a full trip through Scrapy and the
site's politeness delay, and a site's articles and attachments, nine in ten of its pages, hardly ever
change once published. So what hangs below an unchanged entry of a column's list (the entry's page, and
what that page links, when it is carried too) is **carried** from the last run, without a request, when all
of these hold (``limits.revisit_days`` = N, 30 by default; 0 asks for every page every night):

- the site's previous crawl run completed, and it stored the page as an answer 200 (an error is always
  asked again), as a plain page or a document, not the home page, a column or one of its list pages;
- the site answered it 200 (or 304) at that very URL (no redirect) less than N days ago, and the readings
  store (``crawler.reuse``) keeps that answer and, for an HTML page, what it read as; it is not a message
  of a board (a message may be answered any day), an annual report or a report's attachment;
- it is not the page's turn: every page is asked again on one night in N, spread by a hash of its URL
  (``zlib.crc32(url) % N == as_of.toordinal() % N``), so a site gets about 1/N of its pages revalidated a
  night instead of all of them every Nth night;
- no finding of the site's last audit names the page (a page under rectification is asked every night,
  so that a fix shows the next morning);
- when a column's list leads to it, the list shows the entry with the same title and date as last time
  (an edited entry is asked at once); else a carried page links it, or a page asked for tonight below
  such an entry (on its turn, say) that read as it read last time, so links what it linked then.

The home page, every column's own page, every page they link other than through a list entry, message
boards, 政务新媒体 accounts, annual reports' attachments and outside links (probes) are asked every night
whatever this says, so 栏目更新, blank columns, dead links of the menus and home page, unanswered messages
and dead service links are judged on tonight's answers. A column's **further list pages** (``index_1.html``
…) follow the list page before them: when that one answered what it answered last run (a new entry on top
shifts every page, so the first page changes with any new document), a further list page that is not on
its turn, that no finding names and whose last answer was last run's is carried too, read from the list
kept with its reading (``stats.lists_carried``); its entries then lead to their pages as above. A carried
page is stored with the time of its last real answer (``page.fetched_at``) and counted in
``stats.carried``. ``govaudit run --full`` asks for everything.

A carried page's rows (the page, its links, its document) are what the last run stored, so when the
site's configuration is the same as then (``crawl_run.site_config``: which hosts are the site's, which
are service hosts, its columns; a change of only what paces the crawl, ``govaudit.config.PACING_LIMITS``
such as ``delay`` or ``revisit_days``, does not count) they are **copied** in the audit database (``crawler.writer.copy_carried``), not made
again by the spider and the pipeline; only what the spider needs to go on (the links to follow, the
attachments to fetch) is taken from the page's reading. A page with a year-less date (``6月25日``) that
tonight reads as another day than then, or any page after the configuration changed, is made afresh
from its reading as before.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.dates import parse_date
from crawler.reuse import ReadingStore
from govaudit.config import shaping_config
from govaudit.db import make_engine
from govaudit.models import CrawlRun, FindingRecord, Listing, Page

CARRIED_KINDS = ("other", "document")


@functools.lru_cache(maxsize=8192)
def _reads_as(text: str, as_of: dt.date | None) -> dt.date | None:
    """``parse_date``, remembered: a site's documents share a few thousand date texts."""
    return parse_date(text, as_of=as_of)


def due(url: str, as_of: dt.date, days: int) -> bool:
    """Whether ``as_of`` is the night a page is asked for again whatever else holds (one night in ``days``)."""
    return zlib.crc32(url.encode()) % days == as_of.toordinal() % days


def listing_signature(title: str | None, date: dt.date | None) -> int:
    """What an entry of a column's list shows of its page; a change means the page was edited."""
    return zlib.crc32(f"{title or ''}\x1f{date.isoformat() if date else ''}".encode())


@dataclass
class Carried:
    """A page's last answer 200, as the readings store keeps it (``ReadingStore.put_answer``)."""

    answer: dict[str, Any]  # url (final), headers, sha1, size, html
    fetched_at: dt.datetime  # when the site last answered it, as the audit database stores times (UTC, naive)


class Revisits:
    def __init__(self, days: int, as_of: dt.date, readings: ReadingStore, previous: dict[str, int],
                 flagged: set[str], previous_run: int | None = None, previous_as_of: dt.date | None = None,
                 copies: bool = False, lists: dict[str, tuple[str | None, str | None, str]] | None = None):
        self.days = days
        self.as_of = as_of
        self.oldest = time.time() - days * 86400
        self.readings = readings
        self.previous = previous  # url -> its list entry's signature last run (0: not listed)
        self.flagged = flagged
        self.previous_run = previous_run
        self.previous_as_of = previous_as_of
        # The rows of a carried page may be copied from the last run's (the site's config is the same).
        self.copies = copies and previous_run is not None
        # The last run's column and list pages: url -> (content hash, column, kind).
        self.lists = lists or {}

    @classmethod
    def open(cls, *, days: int, as_of: dt.date, readings: ReadingStore | None, db_url: str | None,
             site_id: str, run_id: int) -> Revisits | None:
        """The revisits of one site's crawl; None when there is nothing to carry (``revisit_days: 0``, no
        readings store, no completed earlier run of the site)."""
        if days <= 0 or readings is None or not db_url:
            return None
        engine = make_engine(db_url)
        with Session(engine) as session:
            previous_run = session.scalar(
                select(CrawlRun.id).where(CrawlRun.site_id == site_id, CrawlRun.id < run_id)
                .order_by(CrawlRun.id.desc()).limit(1))
            last = session.get(CrawlRun, previous_run) if previous_run is not None else None
            if last is None or last.status != "completed":
                engine.dispose()
                return None
            tonight = session.get(CrawlRun, run_id)
            # The same rows of the same answers: the same config but for its pacing (a slower delay, a
            # longer turn) keeps the copies.
            copies = tonight is not None and last.site_config is not None and \
                shaping_config(last.site_config) == shaping_config(tonight.site_config)
            previous_as_of = last.as_of
            previous = dict.fromkeys(session.scalars(select(Page.url).where(
                Page.crawl_run_id == previous_run, Page.status == 200, Page.error.is_(None),
                Page.kind.in_(CARRIED_KINDS))), 0)
            for url, title, date in session.execute(
                    select(Listing.url, Listing.title, Listing.date).where(Listing.crawl_run_id == previous_run)):
                if url in previous:
                    previous[url] = listing_signature(title, date)
            lists = {url: (content_hash, column_url, kind) for url, content_hash, column_url, kind in session.execute(
                select(Page.url, Page.content_hash, Page.column_url, Page.kind).where(
                    Page.crawl_run_id == previous_run, Page.status == 200, Page.error.is_(None),
                    Page.kind.in_(("column", "list"))))}
            flagged = set(session.scalars(select(FindingRecord.url).where(
                FindingRecord.crawl_run_id == previous_run, FindingRecord.status != "resolved")))
        engine.dispose()
        if not previous:
            return None
        return cls(days, as_of, readings, previous, flagged, previous_run, previous_as_of, copies, lists)

    def dates_hold(self, date_texts: dict[str, str] | Iterable[tuple[str, str]]) -> bool:
        """Whether a document's dates, as written, read as the same days tonight as on the last run (a
        year-less date may not): only then may its row be copied. ``date_texts``: name -> text, or pairs."""
        pairs = date_texts.items() if isinstance(date_texts, dict) else date_texts
        return all(_reads_as(text, self.previous_as_of) == _reads_as(text, self.as_of) for _, text in pairs)

    def list_unchanged(self, url: str, content_hash: str | None) -> bool:
        """Whether a column's page or a further list page answered tonight what it answered last run."""
        then = self.lists.get(url)
        return then is not None and content_hash is not None and then[0] == content_hash

    def lookup_list(self, url: str, column_url: str) -> Carried | None:
        """The last answer of a further list page of ``column_url`` when it may be carried: the list page
        before it is unchanged tonight (the caller knows), and the page was that column's list page last
        run, is not on its turn, no finding names it, and its last answer is last run's and recent."""
        then = self.lists.get(url)
        if then is None or then[1] != column_url or then[2] != "list" or url in self.flagged \
                or due(url, self.as_of, self.days):
            return None
        found = self.readings.answer(url)
        if found is None or found[0] < self.oldest or found[1].get("sha1") != then[0]:
            return None
        fetched_at = dt.datetime.fromtimestamp(found[0], dt.UTC).replace(tzinfo=None)
        return Carried(answer=found[1], fetched_at=fetched_at)

    def lookup(self, url: str, listed: int | None = None) -> Carried | None:
        """The last answer of ``url`` when the page may be carried (see the module's rules), else None.
        ``listed``: the signature of the list entry that leads to it, when one does."""
        signature = self.previous.get(url)
        if signature is None or url in self.flagged or due(url, self.as_of, self.days):
            return None
        if listed is not None and signature != listed:
            return None
        found = self.readings.answer(url)
        if found is None or found[0] < self.oldest:
            return None
        fetched_at = dt.datetime.fromtimestamp(found[0], dt.UTC).replace(tzinfo=None)
        return Carried(answer=found[1], fetched_at=fetched_at)
