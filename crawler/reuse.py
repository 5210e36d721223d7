"""What was read from a page, kept for the next crawl: an unchanged page is not read again.

An incremental crawl asks for every page with its validators; a page answered 304 (or with the very same
bytes) at the same URL gives the same reading, so its links, visible text, meta tags and metadata block
are taken from here instead of parsing the HTML again. Readings are keyed by the page's URL, the hash of
its body, and a version of the reading code itself, so a new release of the readers reads every page
afresh. Dates are kept as text and read again against the run's date (``crawler.metadata.redate``).

One SQLite file per site, beside the site's HTTP cache (``--full`` removes both).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from crawler.listing import FoundLink
from crawler.messages import MessageFields
from crawler.metadata import DocumentMeta

KEEP_DAYS = 30  # a reading no crawl has used for this long is dropped
COMMIT_EVERY = 200


def _reader_version() -> str:
    """A hash of the modules a reading comes from: a changed reader must not be served old readings."""
    here = Path(__file__).parent
    digest = hashlib.sha1()
    for name in ("content.py", "dates.py", "encoding.py", "listing.py", "messages.py", "metadata.py", "readers.py", "reuse.py",
                 "spiders/portal.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


READER_VERSION = _reader_version()


@dataclass
class PageReading:
    """What the spider reads from one HTML page that is not a column's list or the home page."""

    encoding: str | None
    encoding_source: str | None
    title: str | None
    text: str | None = None
    meta_tags: dict[str, str] | None = None
    footer: dict[str, Any] | None = None
    links: list[FoundLink] | None = None  # None: the page was not read (unparsable, moved, off the site)
    document: DocumentMeta | None = None
    message: MessageFields | None = None  # a board message's fields (crawler.messages)


class Carry(NamedTuple):
    """What an incremental crawl needs of a page's reading to carry it with its rows copied
    (crawler.revisit): kept with the page's last answer (``ReadingStore.put_answer``), so that a carried
    page costs one small record instead of its whole reading (unpickling that was about 55 µs a page,
    most of a carried page's cost at 100,000 pages)."""

    version: str  # READER_VERSION of the reading it was made of
    title: str | None
    document_title: str | None  # None too when there is no document
    has_document: bool
    published_date: dt.date | None
    date_texts: tuple[tuple[str, str], ...]  # the document's dates as written
    links: tuple[tuple[str, str, bool], ...]  # (url, anchor, in_nav) of each FoundLink
    message: bool  # a board message's page (never carried)

    @classmethod
    def of(cls, reading: PageReading) -> Carry | None:
        if reading.links is None:
            return None
        document = reading.document
        return cls(READER_VERSION, reading.title, document.title if document is not None else None,
                   document is not None, document.published_date if document is not None else None,
                   tuple(document.date_texts.items()) if document is not None else (),
                   tuple((link.url, link.anchor, link.in_nav) for link in reading.links), reading.message is not None)


class ReadingStore:
    def __init__(self, path: Path, today: dt.date):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.today = today.isoformat()
        self.db = sqlite3.connect(path)
        # A store of what can be read again from the pages themselves: a commit need not wait for the disk
        # (WAL, synchronous=NORMAL: a crash of the process loses nothing committed; a power cut at most the
        # last commits, whose pages are then read again).
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS reading (key TEXT PRIMARY KEY, data BLOB NOT NULL, "
                        "used TEXT NOT NULL)")
        # Each plain page's last answer 200 (crawler.revisit): when, and what it was apart from its body.
        self.db.execute("CREATE TABLE IF NOT EXISTS answer (url TEXT PRIMARY KEY, time REAL NOT NULL, "
                        "data BLOB NOT NULL)")
        self.pending = 0
        self.hits = 0
        self.used: list[str] = []

    @staticmethod
    def key(url: str, body_hash: str) -> str:
        return f"{READER_VERSION}\x1f{url}\x1f{body_hash}"

    def get(self, key: str) -> PageReading | None:
        row = self.db.execute("SELECT data FROM reading WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            reading = pickle.loads(row[0])  # noqa: S301 - our own file, written by put()
        except Exception:  # noqa: BLE001 - a damaged entry is read afresh, not trusted
            return None
        self.used.append(key)  # marked used in one batch (an UPDATE a page cost a tenth of a carried page)
        if len(self.used) >= COMMIT_EVERY:
            self._mark_used()
        self.hits += 1
        return reading

    def put(self, key: str, reading: PageReading, pickled: bytes | None = None) -> None:
        """Keep ``reading`` (``pickled``: its pickle made already, by a reader process)."""
        data = pickled if pickled is not None else pickle.dumps(reading, protocol=pickle.HIGHEST_PROTOCOL)
        self.db.execute("INSERT OR REPLACE INTO reading (key, data, used) VALUES (?, ?, ?)", (key, data, self.today))
        self._written()

    def put_answer(self, url: str, answer: dict[str, Any]) -> None:
        """``url`` was answered 200 (or 304) just now: ``answer`` holds its final URL, headers, body hash and
        size, and whether it is HTML."""
        self.db.execute("INSERT OR REPLACE INTO answer (url, time, data) VALUES (?, ?, ?)",
                        (url, time.time(), pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)))
        self._written()

    def answer(self, url: str) -> tuple[float, dict[str, Any]] | None:
        """When ``url`` was last answered, and what ``put_answer`` kept of it."""
        row = self.db.execute("SELECT time, data FROM answer WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        try:
            return row[0], pickle.loads(row[1])  # noqa: S301 - our own file, written by put_answer()
        except Exception:  # noqa: BLE001 - a damaged entry: the page is asked for
            return None

    def _mark_used(self) -> None:
        self.db.executemany("UPDATE reading SET used = ? WHERE key = ?", [(self.today, key) for key in self.used])
        self.used = []
        self._written()

    def _written(self) -> None:
        self.pending += 1
        if self.pending >= COMMIT_EVERY:
            self.db.commit()
            self.pending = 0

    def close(self) -> None:
        """Commit, and drop readings unused for KEEP_DAYS days (pages gone or changed)."""
        self._mark_used()
        cutoff = (dt.date.fromisoformat(self.today) - dt.timedelta(days=KEEP_DAYS)).isoformat()
        self.db.execute("DELETE FROM reading WHERE used < ?", (cutoff,))
        self.db.execute("DELETE FROM answer WHERE time < ?", (time.time() - KEEP_DAYS * 86400,))
        self.db.commit()
        self.db.close()
