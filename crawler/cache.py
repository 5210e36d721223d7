"""The HTTP cache's storage: one SQLite file a site instead of Scrapy's seven files a page.

Scrapy's ``FilesystemCacheStorage`` writes a folder with seven files for every answer, and writes them
all again when a page is revalidated (a 304 refreshes the stored copy's headers). On a 10,000-page site
that was 70,000 files opened for writing a night, about a tenth of the crawl's time (bench/run), and
700,000 files on disk at 100,000 pages. Here every answer is one row; a revalidated answer whose body did
not change rewrites its headers and time, not its body. Rows are written by a thread of their own, on
its own connection (SQLite lets go of the interpreter while it writes: the crawl goes on meanwhile; the
writes were 3 % of a 100,000-page first crawl's time), committed every ``COMMIT_EVERY`` writes and when
the spider closes; a crawl killed outright loses at most those last rows, which are then fetched whole
next time, as a page never seen would be.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import queue
import sqlite3
import threading
from pathlib import Path
from time import time
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.response import response_from_dict

logger = logging.getLogger(__name__)
COMMIT_EVERY = 500
FILE_NAME = "responses.sqlite"


class SqliteCacheStorage:
    """``HTTPCACHE_STORAGE`` for ``HTTPCACHE_DIR/responses.sqlite``, keyed by a hash of the request (``_key``)."""

    def __init__(self, settings: BaseSettings):
        self.path = Path(settings["HTTPCACHE_DIR"]) / FILE_NAME
        self.expiration_secs: int = settings.getint("HTTPCACHE_EXPIRATION_SECS")
        self.db: sqlite3.Connection | None = None  # read here; written by the writer thread's own connection
        self.keys: set[str] = set()
        self._rows: queue.SimpleQueue[tuple[str, float, bytes, str, bytes, bool] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None

    def open_spider(self, spider: Spider) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS response (key TEXT PRIMARY KEY, time REAL NOT NULL, "
                        "meta BLOB NOT NULL, body_sha1 TEXT NOT NULL, body BLOB NOT NULL)")
        # The keys stored: a request for a page never stored (every request of a first crawl) costs no
        # query, and storing it no UPDATE first (about 40 bytes a page; a cache shared with another
        # process may hold more rows than these, which are then fetched and stored again).
        self.keys = {key for (key,) in self.db.execute("SELECT key FROM response")}
        self.db.commit()
        logger.debug("Using the SQLite cache storage in %s (%d answers)", self.path, len(self.keys))
        self._writer = threading.Thread(target=self._write, name="httpcache-writer", daemon=True)
        self._writer.start()

    def close_spider(self, spider: Spider) -> None:
        if self._writer is not None:
            self._rows.put(None)
            self._writer.join()
            self._writer = None
        if self.db is not None:
            self.db.close()
            self.db = None

    def _write(self) -> None:
        """The writer thread: the rows ``store_response`` queued, in order."""
        db = sqlite3.connect(self.path)
        db.execute("PRAGMA synchronous=NORMAL")
        pending = 0
        failed = False
        while (row := self._rows.get()) is not None:
            key, now, meta, sha1, body, known = row
            try:
                updated = known and db.execute(
                    "UPDATE response SET time = ?, meta = ? WHERE key = ? AND body_sha1 = ?",
                    (now, meta, key, sha1)).rowcount
                if not updated:
                    db.execute("INSERT OR REPLACE INTO response (key, time, meta, body_sha1, body) "
                               "VALUES (?, ?, ?, ?, ?)", (key, now, meta, sha1, body))
                pending += 1
                if pending >= COMMIT_EVERY:
                    db.commit()
                    pending = 0
            except sqlite3.Error as exc:  # a full disk: the pages are fetched whole next time
                if not failed:
                    logger.warning("%s: the HTTP cache could not store an answer: %s", self.path, exc)
                failed = True
        try:
            db.commit()
        except sqlite3.Error as exc:
            logger.warning("%s: the HTTP cache could not store its last answers: %s", self.path, exc)
        db.close()

    @staticmethod
    def _key(request: Request) -> str:
        """The request's method, URL and body, hashed. The spider asks for normalized URLs already:
        Scrapy's fingerprint canonicalized each URL again, 1.5 % of a crawl's time (bench/run --profile)."""
        digest = hashlib.sha1(f"{request.method} {request.url}".encode("utf-8", "surrogatepass"))
        if request.body:
            digest.update(b"\0" + request.body)
        return digest.hexdigest()

    def retrieve_response(self, spider: Spider, request: Request) -> Response | None:
        assert self.db is not None
        key = self._key(request)
        if key not in self.keys:
            return None
        row = self.db.execute("SELECT time, meta, body FROM response WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        stored, meta, body = row
        if 0 < self.expiration_secs < time() - stored:
            return None
        try:
            data: dict[str, Any] = pickle.loads(meta)  # noqa: S301 - our own file, written below
        except Exception:  # noqa: BLE001 - a damaged row is fetched afresh, not trusted
            return None
        data["body"] = body
        request.meta["cache_timestamp"] = stored
        return response_from_dict(data)

    def store_response(self, spider: Spider, request: Request, response: Response) -> None:
        assert self.db is not None
        key = self._key(request)
        # What the response is apart from its body; its flags ("cached") describe one crawl, not the page.
        meta = pickle.dumps({k: v for k, v in response.to_dict().items() if k not in ("body", "flags")},
                            protocol=pickle.HIGHEST_PROTOCOL)
        body = response.body
        known = key in self.keys
        self.keys.add(key)
        self._rows.put((key, time(), meta, hashlib.sha1(body).hexdigest(), body, known))
