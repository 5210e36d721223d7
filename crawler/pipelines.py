"""The only place that writes crawl data: batched, transactional inserts into the audit database."""

from __future__ import annotations

import dataclasses
import logging
import pickle
import queue
import threading
import time
from typing import Any

from scrapy import signals
from sqlalchemy import and_, delete, func, insert, or_, select, union, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from crawler.annual_reports import settle_reports
from crawler.items import (
    AnnualReportItem,
    CarriedItem,
    ColumnItem,
    DocumentItem,
    ItemBatch,
    LinksItem,
    ListingsItem,
    MessageItem,
    NewMediaAccountItem,
    PageItem,
    ProbeItem,
)
from crawler.writer import Batch, WriterGone, WriterProcess, write_batch
from govaudit.db import open_database
from govaudit.models import (
    AnnualReport,
    Column,
    CrawlRun,
    Document,
    Link,
    Listing,
    Message,
    NewMediaAccount,
    Page,
    Probe,
    utcnow,
)

logger = logging.getLogger(__name__)

# Bulk UPDATE and DELETE statements: the session holds none of the rows they touch, so the ORM need not
# learn which rows they were ("synchronize_session": its default made SQLite return the id of every
# link settled, 650,000 of them on a 100,000-page first run, a second and a half).
BULK = {"synchronize_session": False}
FLUSH_ROWS = 1000
FLUSH_SECONDS = 2.0
# Batches handed to the writer thread and not yet written: the crawl waits when the database is slower.
WRITER_QUEUE = 4
_FIELDS: dict[type, tuple[str, ...]] = {}


def row_of(item: Any) -> dict[str, Any]:
    """An item's fields as a row. Shallow: ``dataclasses.asdict`` deep-copies every value, which cost
    a fifth of the pipeline's time, and an item is not changed once the spider has yielded it."""
    names = _FIELDS.get(type(item))
    if names is None:
        names = _FIELDS[type(item)] = tuple(f.name for f in dataclasses.fields(item))
    return {name: getattr(item, name) for name in names}


class AuditDatabasePipeline:
    """Buffers rows per table and writes them in one transaction per flush.

    A flush that fails is logged and its rows dropped; what was flushed before stays. The crawl run is
    marked ``crawled`` only when the spider closed normally, so a killed crawl is recognisable.
    """

    def __init__(self, db_url: str, run_id: int, shared: Any = None, writer_thread: bool = True,
                 writer_process: bool = True):
        self.db_url = db_url
        self.run_id = run_id
        # A distributed crawl (crawler.distributed.SharedState): which URLs have a row is known in Redis,
        # and the coordinator, not this worker, settles the run.
        self.shared = shared
        self.factory: sessionmaker[Session] | None = None
        self.buffers: dict[type, list[dict[str, Any]]] = {}
        self.page_urls: set[str] = set()
        self.probe_urls: set[str] = set()
        self.account_urls: set[str] = set()
        self.report_urls: set[str] = set()
        # Rows fetched again (a column found late, a failure checked a second time): updated, not added.
        self.updates: list[tuple[type, dict[str, Any]]] = []
        self.replaced: list[str] = []  # pages read again: their earlier links and document are deleted
        self.carried: list[tuple[int, list[tuple[str, int]]]] = []  # pages whose rows are copied (CarriedItem)
        self.carried_rows = 0
        self.last_flush = time.monotonic()
        self.counts: dict[str, int] = {}
        # Batches are written by a thread of their own, in order, while the crawl goes on: the database's
        # own work (SQLite's statements and commits, PostgreSQL's round trips) runs without the GIL. A
        # distributed crawl writes in the crawl's thread (its updates wait for other workers' rows).
        self.writer_thread = writer_thread and shared is None
        self._batches: queue.Queue | None = None
        self._writer: threading.Thread | None = None
        # ... and written by a process of their own (crawler.writer), which the thread hands them to.
        self.writer_process = writer_process and self.writer_thread
        self._process: WriterProcess | None = None

    @classmethod
    def from_crawler(cls, crawler):
        shared = None
        if crawler.settings.get("GOVAUDIT_NAMESPACE"):
            from crawler.distributed import SharedState, connect

            shared = SharedState(connect(crawler.settings["REDIS_URL"]), crawler.settings["GOVAUDIT_NAMESPACE"])
        pipeline = cls(crawler.settings["GOVAUDIT_DB"], crawler.settings.getint("GOVAUDIT_RUN_ID"), shared,
                       writer_thread=crawler.settings.getbool("GOVAUDIT_WRITER_THREAD", True),
                       writer_process=crawler.settings.getbool("GOVAUDIT_WRITER_PROCESS", True))
        # The close reason reaches signal handlers only, and they run after close_spider.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, spider=None) -> None:
        self.factory = open_database(self.db_url)
        if self.shared is not None:
            return
        if self.writer_thread:
            if self.writer_process:
                try:
                    self._process = WriterProcess(self.db_url, self.run_id)
                except OSError as exc:
                    logger.warning("run %s: could not start the writer process (%s): rows are written in the "
                                   "crawl's process", self.run_id, exc)
            self._batches = queue.Queue(maxsize=WRITER_QUEUE)
            self._writer = threading.Thread(target=self._write_batches, name=f"run {self.run_id} writer",
                                            daemon=True)
            self._writer.start()
        # A resumed crawl writes into the run it interrupted: pages stored then are updated, not added.
        with self.factory() as session:
            for model, seen in ((Page, self.page_urls), (Probe, self.probe_urls),
                                (NewMediaAccount, self.account_urls), (AnnualReport, self.report_urls)):
                seen.update(session.scalars(select(model.url).where(model.crawl_run_id == self.run_id)))

    def _add(self, model: type, row: dict[str, Any]) -> None:
        row["crawl_run_id"] = self.run_id
        self.buffers.setdefault(model, []).append(row)
        self.counts[model.__tablename__] = self.counts.get(model.__tablename__, 0) + 1

    def process_item(self, item: Any, spider=None) -> Any:
        if isinstance(item, ItemBatch):
            for each in item.items:
                self._store(each)
        else:
            self._store(item)
        if sum(len(rows) for rows in self.buffers.values()) + self.carried_rows >= FLUSH_ROWS or (
            time.monotonic() - self.last_flush > FLUSH_SECONDS
        ):
            self.flush()
        return item

    def _store(self, item: Any) -> None:
        if isinstance(item, PageItem | ProbeItem | NewMediaAccountItem | AnnualReportItem):
            model, seen = {PageItem: (Page, self.page_urls), ProbeItem: (Probe, self.probe_urls),
                           NewMediaAccountItem: (NewMediaAccount, self.account_urls),
                           AnnualReportItem: (AnnualReport, self.report_urls)}[type(item)]
            row = row_of(item)
            adds_links = row.pop("adds_links", False)
            if not isinstance(item, AnnualReportItem) and row.get("fetched_at") is None:
                row["fetched_at"] = utcnow()
            if model is Page:
                row["copied_from"] = None  # made from tonight's answer, even where a copy was stored first
            if self._stored_before(model, item.url, seen):
                self.updates.append((model, row))
                if model is Page and not adds_links:
                    self._replace_rows_of(item.url)
            else:
                self._add(model, row)
        elif isinstance(item, LinksItem):
            for link in item.links:
                self._add(Link, row_of(link))
        elif isinstance(item, ListingsItem):
            for entry in item.entries:
                self._add(Listing, row_of(entry))
        elif isinstance(item, DocumentItem):
            self._add(Document, row_of(item))
        elif isinstance(item, CarriedItem):
            self._carry(item)

    def _carry(self, item: CarriedItem) -> None:
        """Pages carried from the last run: their rows are copied from it when the batch is written. A
        page read again later (in another role) replaces the copy, as it would a row added here."""
        pages = [(url, depth) for url, depth in item.pages if url not in self.page_urls]
        self.page_urls.update(url for url, _ in pages)
        if not pages:
            return
        self.carried.append((item.previous_run, pages))
        self.carried_rows += len(pages) + item.links + item.documents
        for table, n in ((Page.__tablename__, len(pages)), (Link.__tablename__, item.links),
                         (Document.__tablename__, item.documents)):
            self.counts[table] = self.counts.get(table, 0) + n

    def _replace_rows_of(self, url: str) -> None:
        """A page read again (in another role: a plain link first, its column's list page after) gives
        its links and document anew: the earlier reading's rows go, in the buffers and in the database."""
        for model, column in ((Link, "from_url"), (Document, "url")):
            rows = self.buffers.get(model)
            if rows:
                self.buffers[model] = [row for row in rows if row[column] != url]
        self.replaced.append(url)

    def _stored_before(self, model: type, url: str, seen: set[str]) -> bool:
        """Whether a row of ``url`` was added already (by any worker of a distributed crawl); marks it added."""
        if self.shared is not None:
            return self.shared.claim(f"stored_{model.__tablename__}", None, url) == 0
        if url in seen:
            return True
        seen.add(url)
        return False

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.buffers and not self.updates and not self.replaced and not self.carried:
            return
        batch = (self.buffers, self.updates, self.replaced, self.carried)
        self.buffers, self.updates, self.replaced, self.carried = {}, [], [], []
        self.carried_rows = 0
        if self._batches is not None:
            self._batches.put(batch)  # waits while WRITER_QUEUE batches are waiting already
        else:
            self._write(*batch)

    def _write_batches(self) -> None:
        assert self._batches is not None
        while True:
            batch = self._batches.get()
            try:
                if batch is None:
                    if self._process is not None:
                        self._process.close()
                        self._process = None
                    return
                self._write_elsewhere(batch)
            finally:
                self._batches.task_done()

    def _stop_writer(self) -> None:
        """Every batch handed over is written; later flushes write in the calling thread."""
        if self._writer is None:
            return
        assert self._batches is not None
        self._batches.put(None)
        self._writer.join()
        self._writer = self._batches = None

    def _write(self, buffers: dict[type, list[dict[str, Any]]], updates: list[tuple[type, dict[str, Any]]],
               replaced: list[str], carried: list[tuple[int, list[tuple[str, int]]]] = ()) -> None:
        """One batch in one transaction; a batch that fails is logged and dropped, the others stay."""
        assert self.factory is not None
        try:
            missed = write_batch(self.factory, self.run_id, buffers, updates, replaced, carried)
        except Exception:
            logger.exception("run %s: could not store %d rows (and %d pages carried from the last run)", self.run_id,
                             sum(len(r) for r in buffers.values()), sum(len(pages) for _, pages in carried))
            return
        if self.shared is not None:
            for model, row in missed:
                # Another worker added the row but has not written it yet: try again next flush.
                tries = row.setdefault("_tries", 0)
                if tries < 30:
                    row["_tries"] = tries + 1
                    self.updates.append((model, row))

    def _write_elsewhere(self, batch: Batch) -> None:
        """A batch written by the writer process (crawler.writer), or here when there is none."""
        if self._process is None:
            self._write(*batch)
            return
        try:
            error = self._process.write(*batch)
        except WriterGone as exc:
            logger.warning("run %s: the writer process ended (%s): the crawl's rows are written in its own "
                           "process from now on", self.run_id, exc)
            self._process.close()
            self._process = None
            self._write(*batch)
            return
        except (pickle.PicklingError, TypeError, AttributeError, ValueError):  # a value pickle cannot take
            self._write(*batch)
            return
        if error is not None:
            logger.error("run %s: could not store %d rows: %s", self.run_id,
                         sum(len(r) for r in batch[0].values()), error)

    def close_spider(self, spider=None) -> None:
        began = time.monotonic()
        self.flush()
        self._stop_writer()
        self.closing_seconds = time.monotonic() - began

    def spider_closed(self, spider, reason: str) -> None:
        began = time.monotonic()
        self._stop_writer()  # close_spider stopped it, unless it was not called
        self.flush()
        written = time.monotonic()
        if self.shared is not None:
            for _ in range(30):  # updates waiting for another worker's rows
                if not self.updates:
                    break
                time.sleep(0.2)
                self.flush()
            spider.worker_report(reason, self.counts)
            return
        columns: list[ColumnItem] = spider.column_items()
        assert self.factory is not None
        with self.factory.begin() as session:
            settle_crawl_run(session, self.run_id, columns, spider.crawl_stats(), self.counts, reason,
                             resumed=bool(spider.resumed), messages=spider.message_items())
        logger.info("run %s: closed: the last rows written in %.1f s, the run settled in %.1f s", self.run_id,
                    getattr(self, "closing_seconds", 0.0) + written - began, time.monotonic() - written)


def settle_crawl_run(session: Session, run_id: int, columns: list[ColumnItem], crawl_stats: dict[str, Any],
                     counts: dict[str, int], reason: str, resumed: bool,
                     messages: list[MessageItem] | None = None) -> None:
    """After the crawl: the columns and the boards' messages as the spider knows them, the links' outcomes,
    the documents' columns, the annual reports' dates, the run's stats; the run is ``crawled`` when the crawl
    finished normally."""
    # The columns as the spider knows them now: an interrupted session of the crawl stored them too.
    session.execute(delete(Column).where(Column.crawl_run_id == run_id), execution_options=BULK)
    if columns:
        session.execute(insert(Column), [dict(dataclasses.asdict(c), crawl_run_id=run_id) for c in columns])
    counts = {**counts, Column.__tablename__: len(columns)}
    if messages is not None:
        store_messages(session, run_id, messages)
        counts[Message.__tablename__] = len(messages)
    resolve_link_status(session, run_id)
    settle_documents(session, run_id)
    settle_reports(session, run_id)
    run = session.get(CrawlRun, run_id)
    if run is not None:
        stats = dict(run.stats or {})
        rows = dict(stats.get("rows") or {}) if resumed else {}
        for table, n in counts.items():
            rows[table] = n if table in (Column.__tablename__, Message.__tablename__) else rows.get(table, 0) + n
        stats.update(crawl_stats)
        stats["rows"] = rows
        stats["close_reason"] = reason
        run.stats = stats
        if reason == "finished" and run.status == "running":
            run.status = "crawled"


def store_messages(session: Session, run_id: int, messages: list[MessageItem]) -> None:
    """The boards' messages as the spider knows them at close (a resumed crawl knows them all again)."""
    session.execute(delete(Message).where(Message.crawl_run_id == run_id), execution_options=BULK)
    if messages:
        session.execute(insert(Message), [dict(dataclasses.asdict(m), crawl_run_id=run_id) for m in messages])


def resolve_link_status(session: Session, run_id: int) -> None:
    """Give each link its target's outcome: the page row for internal links, the probe for others.

    Links copied from an earlier run with their page (crawler.writer.copy_carried) hold their targets'
    outcomes of then: only those whose target's outcome is not what it was then are settled again (nine in
    ten of an unchanged night's links are copied; updating them all was most of its settling)."""
    since = session.scalar(select(Page.copied_from).where(Page.crawl_run_id == run_id,
                                                           Page.copied_from.is_not(None)).limit(1))
    # The links made tonight are those of the pages made tonight (a copied page's links are copied with it),
    # found by the index of their pages, not by reading every link of the run.
    made_tonight = select(Page.url).where(Page.crawl_run_id == run_id, Page.copied_from.is_(None))
    for model, kinds in ((Page, ("nav", "content")), (Probe, ("service", "external"))):
        # UPDATE … FROM (SQLite 3.33+, PostgreSQL): one lookup of its target a link, where a scalar subquery
        # for each of the three columns made three; and only the links whose outcome changes are written.
        where = [Link.crawl_run_id == run_id, Link.kind.in_(kinds), model.crawl_run_id == run_id,
                 model.url == Link.to_url,
                 or_(Link.status.is_distinct_from(model.status), Link.error.is_distinct_from(model.error),
                     Link.final_url.is_distinct_from(model.final_url))]
        outcome = {"status": model.status, "error": model.error, "final_url": model.final_url}
        if since is None:  # every link: found through the targets, by the index of links by target
            targets = Link.to_url.in_(select(model.url).where(model.crawl_run_id == run_id))
            session.execute(update(Link).where(*where, targets).values(**outcome), execution_options=BULK)
            continue
        # Two statements, each using one index of the link table (an OR of the two would read every link).
        changed = _changed_targets(model, run_id, since)
        for which in (Link.from_url.in_(made_tonight), Link.to_url.in_(changed)):
            session.execute(update(Link).where(*where, which).values(**outcome), execution_options=BULK)
        # A target gone since (it has no row tonight): its links have no outcome any more.
        gone = ~select(model.id).where(model.crawl_run_id == run_id, model.url == Link.to_url).exists()
        session.execute(
            update(Link)
            .where(Link.crawl_run_id == run_id, Link.kind.in_(kinds), Link.to_url.in_(changed), gone,
                   or_(Link.status.is_not(None), Link.error.is_not(None), Link.final_url.is_not(None)))
            .values(status=None, error=None, final_url=None),
            execution_options=BULK,
        )


def _changed_targets(model: type, run_id: int, since: int):
    """The URLs of ``model`` rows (pages or probes) whose outcome tonight is not the one of run ``since``:
    new, changed or gone."""
    now, then = aliased(model), aliased(model)
    changed = (
        select(now.url)
        .outerjoin(then, and_(then.crawl_run_id == since, then.url == now.url))
        .where(now.crawl_run_id == run_id,
               or_(then.id.is_(None), now.status.is_distinct_from(then.status),
                   now.error.is_distinct_from(then.error), now.final_url.is_distinct_from(then.final_url)))
    )
    gone = select(then.url).where(
        then.crawl_run_id == since,
        ~select(now.id).where(now.crawl_run_id == run_id, now.url == then.url).exists())
    return union(changed, gone)


def settle_documents(session: Session, run_id: int) -> None:
    """A page reached from a column's listing is a document of that column (the first one listing it).

    The home page's own dated items are listings too, but not a column's: they settle nothing.
    """
    columns = select(Column.url).where(Column.crawl_run_id == run_id)
    # The first listing of each URL, found in one grouped pass: a subquery per document (listing.url has
    # no index) read every listing of the run once per document, 3 minutes at 100,000 pages (bench/run).
    first_ids = (
        select(func.min(Listing.id))
        .where(Listing.crawl_run_id == run_id, Listing.url.is_not(None), Listing.column_url.in_(columns))
        .group_by(Listing.url)
    )
    first = select(Listing.url, Listing.column_url).where(Listing.id.in_(first_ids)).subquery()
    # Only the rows whose kind or column is not already the right one are written: on an incremental run
    # nearly every page and document was copied with its kind and column of the last run (crawler.writer.
    # copy_carried), and writing them all again was most of the time the run took to settle.
    session.execute(
        update(Document)
        .where(Document.crawl_run_id == run_id, Document.url == first.c.url,
               Document.column_url.is_distinct_from(first.c.column_url))
        .values(column_url=first.c.column_url),
        execution_options=BULK,
    )
    session.execute(
        update(Document)
        .where(Document.crawl_run_id == run_id, Document.column_url.is_not(None),
               Document.url.not_in(select(first.c.url)))
        .values(column_url=None),
        execution_options=BULK,
    )
    # A document copied from an earlier run (crawler.writer.copy_carried) that tonight is another column's
    # is not the row it was: it is audited as a fresh one (Document.copied_from).
    then = aliased(Document)
    same_column = (
        select(then.id)
        .where(then.crawl_run_id == Document.copied_from, then.url == Document.url,
               then.column_url.is_not_distinct_from(Document.column_url))
        .exists()
    )
    session.execute(
        update(Document)
        .where(Document.crawl_run_id == run_id, Document.copied_from.is_not(None), ~same_column)
        .values(copied_from=None),
        execution_options=BULK,
    )
    listed = select(Listing.url).where(
        Listing.crawl_run_id == run_id, Listing.url.is_not(None), Listing.column_url.in_(columns)
    )
    session.execute(
        update(Page)
        .where(Page.crawl_run_id == run_id, Page.kind == "other", Page.url.in_(listed))
        .values(kind="document"),
        execution_options=BULK,
    )
    # A page copied as the document it was, that no column lists tonight, is a plain page again.
    session.execute(
        update(Page)
        .where(Page.crawl_run_id == run_id, Page.kind == "document", Page.url.not_in(listed))
        .values(kind="other", column_url=None),
        execution_options=BULK,
    )
    doc_column = (
        select(Document.column_url)
        .where(Document.crawl_run_id == run_id, Document.url == Page.url)
        .scalar_subquery()
    )
    session.execute(
        update(Page)
        .where(Page.crawl_run_id == run_id, Page.kind == "document", Page.column_url.is_distinct_from(doc_column))
        .values(column_url=doc_column),
        execution_options=BULK,
    )
