"""Writing the crawl's rows in a process of its own.

The pipeline (crawler.pipelines) gathers a crawl's rows into batches. Writing a batch is SQLAlchemy's
work on every row (its parameters, the JSON columns' encoding) before the database's: about 5 s of
CPU a 10,000-page crawl (bench/run), which in the crawler's process, even in a thread of its own, holds
the one lock its downloader and spider need. Here the batches go, pickled, to ``python -m
crawler.writer FD`` over a Unix socket pair, and are written there, in order, one transaction each,
exactly as the pipeline writes them itself (``write_batch``).

The pipeline's writer thread hands over one batch at a time and waits for its answer: None, or why the
batch could not be stored (logged by the pipeline, with the run; the batch is dropped as one that failed
in the pipeline's own process would be, and the others stay). A writer process that dies is reported
and the pipeline writes the rest itself (``WriterGone``).
"""

from __future__ import annotations

import logging
import pickle
import signal
import socket
import subprocess
import sys
from typing import Any

from sqlalchemy import Integer, bindparam, delete, insert, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from crawler.gctune import tune_gc
from govaudit.models import AnnualReport, Column, Document, Link, Listing, NewMediaAccount, Page, Probe

logger = logging.getLogger(__name__)
_HEAD = 4
# Pages first: other rows are looked up by page URL after the crawl.
ORDER = (Page, Probe, Document, Listing, Link, Column, NewMediaAccount, AnnualReport)

# Pages carried from an earlier run whose rows are copied from it: (that run, [(url, depth), ...]).
Carried = list[tuple[int, list[tuple[str, int]]]]
Batch = tuple[dict[type, list[dict[str, Any]]], list[tuple[type, dict[str, Any]]], list[str], Carried]
COPY_CHUNK = 400  # URLs a copying statement names


def copy_carried(session: Session, run_id: int, previous_run: int, pages: list[tuple[str, int]]) -> None:
    """The rows of pages carried unchanged from ``previous_run`` (crawler.revisit), copied into ``run_id``
    by the database itself: each page (at tonight's depth; its kind and column as then, which settling the
    run's documents corrects where tonight's lists say otherwise), its links (with their targets' outcomes
    of then, settled after the crawl) and its document (its column too). The page and the document name
    the run they were copied from (``copied_from``)."""
    by_depth: dict[int, list[str]] = {}
    for url, depth in pages:
        by_depth.setdefault(depth, []).append(url)
    urls = bindparam("urls", expanding=True)
    kept = [c for c in Page.__table__.columns.keys() if c not in ("id", "crawl_run_id", "depth", "copied_from")]
    page_copy = insert(Page.__table__).from_select(
        ["crawl_run_id", "depth", "copied_from", *kept],
        select(literal(run_id, Integer), bindparam("depth", type_=Integer), literal(previous_run, Integer),
               *(Page.__table__.c[c] for c in kept))
        .where(Page.crawl_run_id == previous_run, Page.url.in_(urls)))
    # With last night's outcomes of their targets: settled again after the crawl only where a target's
    # outcome changed (crawler.pipelines.resolve_link_status).
    link_kept = ["from_url", "to_url", "anchor", "kind", "hidden", "status", "error", "final_url"]
    link_copy = insert(Link.__table__).from_select(
        ["crawl_run_id", *link_kept],
        select(literal(run_id, Integer), *(Link.__table__.c[c] for c in link_kept))
        .where(Link.crawl_run_id == previous_run, Link.from_url.in_(urls)).order_by(Link.id))
    doc_kept = [c for c in Document.__table__.columns.keys() if c not in ("id", "crawl_run_id", "copied_from")]
    doc_copy = insert(Document.__table__).from_select(
        ["crawl_run_id", "copied_from", *doc_kept],
        select(literal(run_id, Integer), literal(previous_run, Integer), *(Document.__table__.c[c] for c in doc_kept))
        .where(Document.crawl_run_id == previous_run, Document.url.in_(urls)))
    for depth, group in by_depth.items():
        for start in range(0, len(group), COPY_CHUNK):
            chunk = group[start:start + COPY_CHUNK]
            session.execute(page_copy, {"depth": depth, "urls": chunk})
            session.execute(link_copy, {"urls": chunk})
            session.execute(doc_copy, {"urls": chunk})


def write_batch(factory: sessionmaker[Session], run_id: int, buffers: dict[type, list[dict[str, Any]]],
                updates: list[tuple[type, dict[str, Any]]], replaced: list[str],
                carried: Carried = ()) -> list[tuple[type, dict[str, Any]]]:
    """One batch in one transaction: the rows of pages carried from an earlier run copied from it, the
    rows of pages read again (``replaced``) deleted, the new rows added, the rows fetched again updated.
    Returns the updates that found no row."""
    missed = []
    with factory.begin() as session:
        for previous_run, pages in carried:  # first: a page carried, then read again, is replaced below
            copy_carried(session, run_id, previous_run, pages)
        for start in range(0, len(replaced), 500):  # before the inserts: they hold the new rows
            urls = replaced[start:start + 500]
            session.execute(delete(Link).where(Link.crawl_run_id == run_id, Link.from_url.in_(urls)))
            session.execute(delete(Document).where(Document.crawl_run_id == run_id, Document.url.in_(urls)))
        for model in ORDER:
            rows = buffers.get(model)
            if rows:
                session.execute(insert(model), rows)
        for model, row in updates:
            values = {k: v for k, v in row.items() if k not in ("url", "_tries")}
            done = session.execute(update(model).where(model.crawl_run_id == run_id, model.url == row["url"])
                                   .values(**values))
            if done.rowcount == 0:
                missed.append((model, row))
    return missed


class WriterGone(Exception):
    """The writer process ended: the batch in hand and the rest are written by the pipeline itself."""


def _send(sock: socket.socket, data: bytes) -> None:
    sock.sendall(len(data).to_bytes(_HEAD, "big") + data)


def _receive(stream) -> bytes | None:
    head = stream.read(_HEAD)
    if len(head) < _HEAD:
        return None
    size = int.from_bytes(head, "big")
    data = stream.read(size)
    return data if len(data) == size else None


class WriterProcess:
    """The pipeline's end of one writer process (used from the pipeline's writer thread only)."""

    def __init__(self, db_url: str, run_id: int):
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen([sys.executable, "-m", "crawler.writer", str(theirs.fileno()), str(run_id)],
                                        pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self.sock = ours
        self.answers = ours.makefile("rb")
        _send(ours, db_url.encode("utf-8"))

    def write(self, buffers: dict[type, list[dict[str, Any]]], updates: list[tuple[type, dict[str, Any]]],
              replaced: list[str], carried: Carried = ()) -> str | None:
        """Writes one batch; returns None, or why it could not be stored. Raises ``WriterGone``; a
        batch that cannot be pickled raises what pickle raises (the caller writes it itself)."""
        data = pickle.dumps((buffers, updates, replaced, carried), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            _send(self.sock, data)
            answer = _receive(self.answers)
        except OSError as exc:
            raise WriterGone(f"{type(exc).__name__}: {exc}") from None
        if answer is None:
            code = self.process.poll()
            raise WriterGone("its socket closed" + (f", exit code {code}" if code is not None else ""))
        return pickle.loads(answer)  # noqa: S301 - our own child

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # the process ends when its end closes
        except OSError:
            pass
        self.answers.close()
        self.sock.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(fd: int, run_id: int) -> None:
    from govaudit.db import make_engine

    tune_gc()
    sock = socket.socket(fileno=fd)
    incoming = sock.makefile("rb")
    url = _receive(incoming)
    if url is None:
        return
    engine = make_engine(url.decode("utf-8"))  # the pipeline's process has created or migrated the schema
    factory = sessionmaker(engine, expire_on_commit=False)
    try:
        while (data := _receive(incoming)) is not None:
            buffers, updates, replaced, carried = pickle.loads(data)  # noqa: S301 - from our parent
            try:
                write_batch(factory, run_id, buffers, updates, replaced, carried)  # (a missed update: see the pipeline)
                answer = None
            except Exception as exc:  # noqa: BLE001 - reported by the pipeline, with the run
                answer = f"{type(exc).__name__}: {exc}"[:2000]
            try:
                _send(sock, pickle.dumps(answer))
            except OSError:
                return
    finally:
        engine.dispose()


if __name__ == "__main__":
    # Ctrl-C or a TERM to the crawl's process group: the crawler winds down and still hands over its last
    # batches; this process ends when the pipeline closes its end of the socket (or dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(int(sys.argv[1]), int(sys.argv[2]))
