"""The crawl's disk-backed request queue, without a disk write for every request.

With a JOBDIR (every crawl has one: crawler.crawl), Scrapy keeps each priority's requests in a
``PickleLifoDiskQueue``: every request is turned into a dict, pickled and appended to a file when it is
scheduled, and read back, unpickled and the file truncated when it is sent, about a tenth of the crawl
process's time on a 10,000-page site (bench/run --profile). Most requests are sent a moment after they
were scheduled: a list page's articles are the next requests out.

``SpillingLifoDiskQueue`` keeps the newest ``KEEP`` requests of a queue in memory and only the older ones
in Scrapy's own disk queue, in the same file it would use. The order is Scrapy's LIFO exactly: the
requests moved to disk are always the oldest held in memory, so every request on disk is older than
every request in memory. Memory stays bounded (``KEEP`` requests a queue, a queue per host and
priority), and a crawl that is stopped writes what it held in memory to the file first, so resuming
from the JOBDIR finds every request it would have found before.
"""

from __future__ import annotations

import collections
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.squeues import PickleLifoDiskQueue

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class SpillingLifoDiskQueue:
    """``SCHEDULER_DISK_QUEUE``: a LIFO queue whose newest ``KEEP`` requests stay in memory."""

    # About 650 bytes a request in memory: at most about 32 MB a queue. (10,000 before: at 100,000 pages the
    # 70,000 articles queued behind their list pages went through the disk, 4 % of the crawl's thread.)
    KEEP = 50000
    _warned = False

    def __init__(self, crawler: Crawler, key: str):
        self.crawler = crawler
        self.key = key
        self.memory: collections.deque[Request] = collections.deque()
        self.unserializable: list[Request] = []  # cannot go to disk: kept here, as Scrapy keeps them in memory
        # A queue left by a stopped crawl is resumed from its file.
        self.disk: Any = PickleLifoDiskQueue(crawler, key) if Path(key).exists() else None

    @classmethod
    def from_crawler(cls, crawler: Crawler, key: str, *args: Any, **kwargs: Any) -> SpillingLifoDiskQueue:
        return cls(crawler, key)

    def push(self, request: Request) -> None:
        self.memory.append(request)
        if len(self.memory) > self.KEEP:
            self._spill(self.KEEP // 2)

    def _spill(self, count: int) -> None:
        if self.disk is None:
            self.disk = PickleLifoDiskQueue(self.crawler, self.key)
        for _ in range(count):
            request = self.memory.popleft()  # the oldest held: newer than every request on disk
            try:
                self.disk.push(request)
            except ValueError as exc:
                self.unserializable.append(request)
                if self.crawler.stats is not None:
                    self.crawler.stats.inc_value("scheduler/unserializable")
                if not SpillingLifoDiskQueue._warned:
                    SpillingLifoDiskQueue._warned = True
                    logger.warning("cannot write the request for %s to the crawl's queue on disk (%s): it is "
                                   "kept in memory, and lost if the crawl is stopped", request.url, exc)

    def pop(self) -> Request | None:
        if self.memory:
            return self.memory.pop()
        if self.disk is not None and len(self.disk):
            return self.disk.pop()
        if self.unserializable:
            return self.unserializable.pop()
        return None

    def peek(self) -> Request | None:
        if self.memory:
            return self.memory[-1]
        if self.disk is not None and len(self.disk):
            return self.disk.peek()
        if self.unserializable:
            return self.unserializable[-1]
        return None

    def close(self) -> None:
        if self.memory:  # the crawl stops with requests still to send: they go where a resumed crawl looks
            self._spill(len(self.memory))
        if self.unserializable:
            logger.warning("%d requests that cannot be written to disk are dropped with the stopped crawl's queue",
                           len(self.unserializable))
        if self.disk is not None:
            self.disk.close()  # removes its file when empty

    def __len__(self) -> int:
        return len(self.memory) + (len(self.disk) if self.disk is not None else 0) + len(self.unserializable)
