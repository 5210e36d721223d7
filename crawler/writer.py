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

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session, sessionmaker

from govaudit.models import AnnualReport, Column, Document, Link, Listing, NewMediaAccount, Page, Probe

logger = logging.getLogger(__name__)
_HEAD = 4
# Pages first: other rows are looked up by page URL after the crawl.
ORDER = (Page, Probe, Document, Listing, Link, Column, NewMediaAccount, AnnualReport)

Batch = tuple[dict[type, list[dict[str, Any]]], list[tuple[type, dict[str, Any]]], list[str]]


def write_batch(factory: sessionmaker[Session], run_id: int, buffers: dict[type, list[dict[str, Any]]],
                updates: list[tuple[type, dict[str, Any]]], replaced: list[str]) -> list[tuple[type, dict[str, Any]]]:
    """One batch in one transaction: the rows of pages read again (``replaced``) deleted, the new rows
    added, the rows fetched again updated. Returns the updates that found no row."""
    missed = []
    with factory.begin() as session:
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
              replaced: list[str]) -> str | None:
        """Writes one batch; returns None, or why it could not be stored. Raises ``WriterGone``; a
        batch that cannot be pickled raises what pickle raises (the caller writes it itself)."""
        data = pickle.dumps((buffers, updates, replaced), protocol=pickle.HIGHEST_PROTOCOL)
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

    sock = socket.socket(fileno=fd)
    incoming = sock.makefile("rb")
    url = _receive(incoming)
    if url is None:
        return
    engine = make_engine(url.decode("utf-8"))  # the pipeline's process has created or migrated the schema
    factory = sessionmaker(engine, expire_on_commit=False)
    try:
        while (data := _receive(incoming)) is not None:
            buffers, updates, replaced = pickle.loads(data)  # noqa: S301 - from our parent
            try:
                write_batch(factory, run_id, buffers, updates, replaced)  # (a missed update: see the pipeline)
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
