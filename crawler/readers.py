"""Reading pages in separate processes, so that a crawl uses more than one core.

Scrapy runs in one thread: its downloader, scheduler and the spider's callbacks share one core. Reading an
article (decoding it, parsing the HTML, its visible text, links, metadata block, message fields) is pure
work on the bytes of the answer, and costs about as much as the rest of the request's cycle. So the
plain pages of a crawl (the articles, not the home page or the columns' lists, whose readings steer the
crawl at once) are read by reader processes while the crawler goes on downloading.

One pool serves every site crawled in a process (``crawler.readers: N`` in sites.yml; 0 reads in the
crawler's own process). A reading made here is the very one the crawler would make itself: the same
function, ``read_html``. A reader that fails on a page, or a reader process that dies, costs nothing but
time: the page is read again in the crawler's process (which reports what went wrong, with the site and
the URL, as it always has), and after a process died its share of pages is read there too.

The protocol: a Unix socket pair per process, frames of a 4-byte length and a pickle; jobs go out as
``(job, body, content_type, url, as_of)``, answers come back in order as ``(job, ok, error or the
reading's own pickle)``: the crawler keeps those bytes in its store of readings as they are.
The crawler's side is asyncio streams (it never blocks on a full socket); the reader's side is a plain
loop, ``python -m crawler.readers FD``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import pickle
import signal
import socket
import subprocess
import sys
from typing import Any

import lxml.html
from lxml import etree

from crawler.content import fast_html_parser, read_page
from crawler.encoding import decode_body
from crawler.gctune import tune_gc
from crawler.listing import extract_links, parse_listing_page
from crawler.messages import read_message
from crawler.metadata import parse_metadata, text_lines
from crawler.reuse import PageReading

logger = logging.getLogger(__name__)
_TREE_PARSER = fast_html_parser()  # lxml.html's default parser, its element classes looked up in C
_HEAD = 4


def parse_tree(text: str):
    """The page's tree, or None when it is empty or does not parse."""
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text, parser=_TREE_PARSER)
    except (etree.ParserError, ValueError):
        return None


def page_title(tree) -> str | None:
    title = tree.findtext(".//title")
    return " ".join(title.split())[:500] if title and title.strip() else None


def read_html(body: bytes, content_type: str | None, url: str, *, kind: str, elsewhere: bool,
              rendered: str | None, as_of: dt.date) -> tuple[str, PageReading, Any, Any]:
    """Decode and read a page: its HTML text, what was read from it, its parsed tree (None when it does not
    parse) and, for the home page and list pages (``kind`` home, column, list), the reading of
    crawler.listing that their lists are read from too (parsed once for links and lists). A page that moved
    or left the site (``elsewhere``) gets its title only. ``url`` is where the answer came from."""
    if rendered is not None:
        text, encoding, source = rendered, "utf-8", "browser"
    else:
        decoded = decode_body(body, content_type)
        text, encoding, source = decoded.text, decoded.encoding, decoded.source
    tree = parse_tree(text)
    reading = PageReading(encoding=encoding, encoding_source=source,
                          title=page_title(tree) if tree is not None else None)
    listed = None
    if tree is not None and not elsewhere:
        content = read_page(tree, footer=kind == "home")
        reading.text, reading.meta_tags, reading.footer = content.text, content.meta, content.footer
        if kind in ("home", "column", "list"):
            listed = parse_listing_page(text, url, as_of=as_of)
        reading.links = extract_links(listed if listed is not None else text, url)
        if kind == "other":
            lines = text_lines(tree)  # laid out once for both readers
            reading.document = parse_metadata(tree, as_of=as_of, lines=lines)
            reading.message = read_message(tree, lines=lines)
    return text, reading, tree, listed


def read_plain(body: bytes, content_type: str | None, url: str, as_of: dt.date) -> PageReading:
    """A plain page's reading (not the home page, not a list), as the crawler's own would be."""
    return read_html(body, content_type, url, kind="other", elsewhere=False, rendered=None, as_of=as_of)[1]


def _frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(_HEAD, "big") + data


class _Reader:
    """One reader process, and the crawler's end of its socket."""

    def __init__(self, number: int):
        self.number = number
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler.readers", str(theirs.fileno())], pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL)
        theirs.close()
        self.sock = ours
        self.writer: asyncio.StreamWriter | None = None
        self.reader: asyncio.StreamReader | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.alive = True
        self.task: asyncio.Task | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_unix_connection(sock=self.sock)
        self.task = asyncio.get_running_loop().create_task(self._answers())

    async def _answers(self) -> None:
        assert self.reader is not None
        try:
            while True:
                head = await self.reader.readexactly(_HEAD)
                job, ok, value = pickle.loads(await self.reader.readexactly(int.from_bytes(head, "big")))  # noqa: S301 - our own child
                future = self.pending.pop(job, None)
                if future is not None and not future.done():
                    future.set_result((ok, value))
        except (asyncio.IncompleteReadError, ConnectionError, OSError, pickle.UnpicklingError, EOFError) as exc:
            self._ended(exc)
        except asyncio.CancelledError:
            self._ended(None)
            raise

    def _ended(self, exc: BaseException | None) -> None:
        if self.alive and exc is not None:
            code = self.process.poll()
            logger.warning("reader process %d ended (%s%s) with %d pages being read; they and its share of "
                           "the rest are read in the crawler's process", self.number,
                           type(exc).__name__, f", exit code {code}" if code is not None else "", len(self.pending))
        self.alive = False
        for future in self.pending.values():
            if not future.done():
                future.set_result((False, "the reader process ended"))
        self.pending.clear()

    def send(self, job: int, payload: tuple) -> asyncio.Future:
        assert self.writer is not None
        future = asyncio.get_running_loop().create_future()
        self.pending[job] = future
        try:
            self.writer.write(_frame((job, *payload)))
        except (ConnectionError, OSError, RuntimeError) as exc:
            self._ended(exc)
        return future

    def close(self) -> None:
        self.alive = False
        if self.task is not None:
            self.task.cancel()
        try:  # at once: the reactor may stop before the transport's own close runs
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            if self.writer is not None:
                self.writer.close()
            self.sock.close()
        except (OSError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ReaderPool:
    """``processes`` reader processes, started on first use, shared by every spider of the process."""

    def __init__(self, processes: int):
        self.processes = processes
        self.readers: list[_Reader] = []
        self._starting: asyncio.Task | None = None
        self._jobs = itertools.count()
        self._turn = itertools.count()
        self.users = 0
        self.read = 0  # pages read by the processes
        self.fallbacks = 0  # pages they could not read (read by the crawler instead)

    async def _start(self) -> None:
        readers = []
        try:
            for number in range(self.processes):
                reader = _Reader(number + 1)
                readers.append(reader)
                await reader.connect()
        except OSError as exc:
            logger.warning("could not start the reader processes (%s): pages are read in the crawler's process",
                           exc)
            for reader in readers:
                reader.close()
            readers = []
        self.readers = readers

    async def reading(self, body: bytes, content_type: str | None, url: str,
                      as_of: dt.date) -> tuple[PageReading, bytes] | None:
        """The page's reading (``read_plain``) made by a reader process, and its pickle (what
        ``ReadingStore.put`` would make of it); None when none could make it: the caller reads the page
        itself."""
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start())
        if not self._starting.done():
            await asyncio.shield(self._starting)
        alive = [reader for reader in self.readers if reader.alive]
        if not alive:
            return None
        reader = alive[next(self._turn) % len(alive)]
        ok, value = await reader.send(next(self._jobs), (body, content_type, url, as_of))
        if ok:
            try:
                reading = pickle.loads(value)  # noqa: S301 - our own child
            except Exception as exc:  # noqa: BLE001 - read again by the crawler
                ok, value = False, f"{type(exc).__name__}: {exc}"
        if not ok:
            self.fallbacks += 1
            return None
        self.read += 1
        return reading, value

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
        self.readers = []
        self._starting = None


_POOL: ReaderPool | None = None


def pool(processes: int) -> ReaderPool | None:
    """The process's pool (None for 0 processes): the spiders of one crawl process share it; the last
    spider to close (``release``) ends its processes."""
    global _POOL
    if processes <= 0:
        return None
    if _POOL is None:
        _POOL = ReaderPool(processes)
    _POOL.users += 1
    return _POOL


def release(reader_pool: ReaderPool | None) -> None:
    global _POOL
    if reader_pool is None:
        return
    reader_pool.users -= 1
    if reader_pool.users <= 0:
        reader_pool.close()
        if _POOL is reader_pool:
            _POOL = None


def serve(fd: int) -> None:
    """A reader process: read jobs until the crawler closes its end."""
    tune_gc()
    sock = socket.socket(fileno=fd)
    incoming = sock.makefile("rb")
    outgoing = sock.makefile("wb")
    while True:
        head = incoming.read(_HEAD)
        if len(head) < _HEAD:
            return
        job, body, content_type, url, as_of = pickle.loads(incoming.read(int.from_bytes(head, "big")))  # noqa: S301 - from our parent
        try:  # the reading pickled apart: the crawler keeps these very bytes in its store of readings
            reading = pickle.dumps(read_plain(body, content_type, url, as_of), protocol=pickle.HIGHEST_PROTOCOL)
            frame = _frame((job, True, reading))
        except Exception as exc:  # noqa: BLE001 - the crawler reads it again itself, and says what fails
            frame = _frame((job, False, f"{type(exc).__name__}: {exc}"))
        try:
            outgoing.write(frame)
            outgoing.flush()
        except (BrokenPipeError, ConnectionError):
            return


if __name__ == "__main__":
    # Ctrl-C or a TERM sent to the crawl's process group: the crawler winds down and may still send pages;
    # this process ends when it closes its end of the socket (or dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(int(sys.argv[1]))
