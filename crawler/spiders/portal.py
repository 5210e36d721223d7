"""The ``portal`` spider: one configured site, crawled within its hosts and limits.

It fetches and extracts; it never decides whether something is a defect. Internal pages are crawled;
links to service hosts (一网通办) and outside are probed once, not crawled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import time
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request, Spider, signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.request import request_from_dict
from twisted.python.failure import Failure

from crawler import callbacks, readers
from crawler.annual_reports import ReportFinder, report_kind, request_meta
from crawler.dates import find_date
from crawler.encoding import decode_body
from crawler.items import (
    CarriedItem,
    ColumnItem,
    DocumentItem,
    ItemBatch,
    LinkItem,
    LinksItem,
    ListingItem,
    ListingsItem,
    MessageItem,
    NewMediaAccountItem,
    PageItem,
    ProbeItem,
)
from crawler.listing import (
    DataRequest,
    ListingPage,
    ListPage,
    dated_items,
    navigation_columns,
    read_data,
    read_list,
)
from crawler.messages import MessageFields, join_messages, read_board
from crawler.metadata import DocumentMeta, redate
from crawler.new_media import read_account_page
from crawler.readers import ReaderPool, page_title, parse_tree, read_html
from crawler.reuse import READER_VERSION, Carry, PageReading, ReadingStore
from crawler.revisit import Carried, Revisits, listing_signature
from govaudit.config import SiteConfig, host_allowed, host_of
from govaudit.db import masked_url
from govaudit.targets import CREDENTIALS, REFUSALS, refusal

# The readings store's key of a list page's reading and list, beside its plain reading's (_kept_list).
LIST_READING = "\x1flist"

# Guessing a discovered column's category from its name (marked as guessed in the database).
_CATEGORY_WORDS = (
    ("report", ("年报", "年度报告")),
    ("interaction", ("信箱", "留言", "互动", "咨询", "访谈", "征集", "调查")),
    ("personnel", ("人事", "任免", "招聘", "招考", "录用")),
    ("plan", ("规划", "计划")),
    ("policy", ("政策", "文件", "规章", "解读")),
    ("notice", ("通知", "公告", "公示", "通告")),
    ("news", ("动态", "要闻", "新闻", "资讯", "工作信息")),
    ("service", ("办事", "服务")),
)
callbacks.install()  # the disk queue (JOBDIR) names a request's callback without a walk of the spider
_NON_HTML_SUFFIX = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|wps|zip|rar|7z|jpe?g|png|gif|mp4|mp3)$", re.I)


def guess_category(name: str) -> str:
    for category, words in _CATEGORY_WORDS:
        if any(word in name for word in words):
            return category
    return "other"


# Session ids old Java, PHP and ASP CMSs put into every link: a new one per answer would make one page
# endlessly many. ``sid`` counts only as a long token: short, it is often a CMS's site id.
_SESSION_PATH = re.compile(r";jsessionid=[^/?#]*", re.I)
_SESSION_PARAM = re.compile(r"(?:jsessionid|phpsessid|sessionid|session_id|aspsessionid\w*)=[^&]*"
                            r"|sid=[0-9A-Za-z]{16,}", re.I)


@lru_cache(maxsize=65536)  # menus and footers repeat the same links on every page
def normalize_url(url: str) -> str:
    """Drop the fragment and session ids and give an empty path its '/', so one page has one spelling.
    A password in the URL becomes ``***`` (a user name alone too: it is often a token): it is stored,
    logged and reported masked, and never sent."""
    parts = urlsplit(masked_url(url.strip()))
    netloc = parts.netloc
    if "@" in netloc and parts.password is None:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    path = _SESSION_PATH.sub("", parts.path)
    query = "&".join(p for p in parts.query.split("&") if not _SESSION_PARAM.fullmatch(p)) \
        if parts.query else ""
    return urlunsplit((parts.scheme.lower(), netloc.lower(), path or "/", query, ""))


def probe_allowed(url: str, site: SiteConfig | None = None) -> bool:
    """Whether an outside link may be probed for ``site`` (govaudit.targets has the rule): http(s),
    no credentials, no private network unless the site is configured for it."""
    return refusal(url, site) is None


def masked(value: Any) -> Any:
    """A page's strings (nested in dicts and lists too) with passwords in URLs masked."""
    if isinstance(value, str):
        return masked_url(value) if "@" in value else value
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def requested_url(response: Response) -> str:
    """The URL that was asked for: after a redirect, ``response.request`` is the redirected request."""
    redirects = response.meta.get("redirect_urls")
    return normalize_url(redirects[0] if redirects else response.request.url)


class NeedsBody(Exception):
    """A page carried from the last run turned out to need its HTML (an annual report): it is asked for."""


def _no_body() -> str:
    raise NeedsBody


def clean_title(title: str | None, site_name: str) -> str | None:
    """A page's <title> without the site name CMSs append ("标题_示范县人民政府", "标题 - 示范县")."""
    if not title:
        return title
    for sep in ("_", "-", "|", "—", "－"):
        head, found, tail = title.rpartition(sep)
        if found and head.strip() and tail.strip() and tail.strip() in site_name + "门户网站首页":
            return head.strip()
    return title


_FAILURES = (
    # Scrapy 2.13+ wraps Twisted's errors in its own; older ones raise Twisted's directly.
    ("DNS lookup failed", ("CannotResolveHostError", "DNSLookupError")),
    ("timeout", ("DownloadTimeoutError", "TimeoutError", "TCPTimedOutError")),
    ("connection refused", ("DownloadConnectionRefusedError", "ConnectionRefusedError")),
    ("response too large or cancelled", ("DownloadCancelledError", "CancelledError")),
    ("connection lost", ("ResponseDataLossError", "ConnectionLost", "ConnectionDone", "ResponseFailed",
                         "ResponseNeverReceived")),
    ("TLS error", ("SSLError", "TLSError", "OpenSSL.SSL.Error")),
)


def _underlying(exc: BaseException) -> list[BaseException]:
    """The errors inside a wrapped one, innermost first: Scrapy 2.13+ raises its own error ``from``
    Twisted's, and a ResponseFailed carries its reasons (a TLS or a lost connection) as failures."""
    inner: list[BaseException] = []
    for reason in getattr(exc, "reasons", None) or ():
        inner.extend(_underlying(getattr(reason, "value", reason)))
    if exc.__cause__ is not None:
        inner.extend(_underlying(exc.__cause__))
    return [*inner, exc]


def describe_failure(failure: Failure) -> str:
    """A short, stable description of why a request got no response (checks match these words)."""
    exc = failure.value
    if isinstance(exc, IgnoreRequest):  # not sent, or given up by a middleware: its own words
        message = str(exc)
        if "robots.txt" in message:
            return "robots.txt"
        return "too many redirects" if "max redirections" in message else message or "ignored"
    for cause in _underlying(exc):
        names = {cls.__name__ for cls in type(cause).__mro__}
        names |= {f"{cls.__module__}.{cls.__name__}" for cls in type(cause).__mro__}
        for reason, classes in _FAILURES:
            if names.intersection(classes):
                request = getattr(failure, "request", None)
                host = urlsplit(request.url).hostname if request is not None else None
                # Which name did not resolve: a link's host is not always the page's.
                return f"{reason}: {host}" if reason == "DNS lookup failed" and host else reason
    name = type(exc).__name__
    text = str(exc).strip()
    return f"{name}: {text}"[:300] if text else name


# Failures a second look after the crawl would only repeat: the crawler's own refusals, and a page past
# the size cap (another 20 MB for the same answer).
LASTING_FAILURES = frozenset({"too many redirects", "response too large or cancelled", *REFUSALS})
_SCRIPT = re.compile(r"<script\b", re.I)
# Answers that say "not now" rather than "not here": fetched again before they count.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 524})
# Characters of a column page's own text (not links, menus or footer) that make it one page of
# information, like 机构职能 or 公开指南, rather than an empty list.
SINGLE_PAGE_TEXT = 150
PAGES_PER_CONTEXT = 20
NETWORK_IDLE_MS = 5000
# What the spider knows of its crawl, kept in ``spider.state`` (Scrapy's JOBDIR) when a crawl is
# interrupted, so that a resumed crawl neither fetches a page twice nor forgets a column it found.
RESUMED_STATE = (
    "columns", "list_pages", "column_entries", "pages_read", "parsed", "requested", "probed", "truncated",
    "pages_done", "errors", "robots_blocked", "static_links", "rendered", "render_errors", "render_seconds",
    "rechecks", "recovered", "not_modified", "not_probed", "home_links", "subcolumns", "query_variants",
    "capped_paths", "accounts_requested", "board_rows", "message_pages", "carried", "copied", "lists_reused",
    "lists_carried",
)


def adjust_nav_only(columns: list[ColumnItem], home_links: set[str], subcolumns: dict[str, list[str]]) -> None:
    """Links that the home page carries too are the site's own menu and footer, repeated on every page
    of a flat layout: they do not make a blank page a navigation node."""
    for column in columns:
        if column.nav_only and home_links:
            own = [url for url in subcolumns.get(column.url, []) if url not in home_links]
            column.nav_only = len(own) >= 2


class ContextPool:
    """Browser contexts for rendering, recycled: after ``pages`` pages a context takes no new ones,
    and it is closed once its last page is (pages are always closed before their context)."""

    def __init__(self, pages: int):
        self.pages = pages
        self.serial = 0
        self.assigned = 0
        self.open: dict[str, int] = {}

    @property
    def current(self) -> str:
        return f"render-{self.serial}"

    def meta(self) -> dict[str, Any]:
        """The request meta that sends a request through the browser, in the current context."""
        if self.assigned >= self.pages:
            self.serial += 1
            self.assigned = 0
        self.assigned += 1
        name = self.current
        self.open[name] = self.open.get(name, 0) + 1
        return {"playwright": True, "playwright_include_page": True, "playwright_context": name,
                "playwright_page_goto_kwargs": {"wait_until": "load"}}

    def done(self, name: str) -> bool:
        """A page of context ``name`` is finished; True when the context should now be closed."""
        self.open[name] = self.open.get(name, 1) - 1
        if self.open[name] <= 0 and name != self.current:
            del self.open[name]
            return True
        return False


class PortalSpider(Spider):
    name = "portal"

    def __init__(self, site: SiteConfig, run_id: int, as_of: dt.date, browser: bool = False, **kwargs: Any):
        super().__init__(name=self.name, **kwargs)
        self.site = site
        self._link_hosts: dict[str, str] = {}  # URL -> "site", "service" or "external" (link_kind)
        # Whether a browser (scrapy-playwright + Chromium) is wired in for this crawl.
        self.browser = browser
        self.run_id = run_id
        self.as_of = as_of
        self.home = normalize_url(site.url)
        self._home_read = asyncio.Event()  # set once the home page was read or failed (start() waits)
        self.columns: dict[str, ColumnItem] = {}
        self.list_pages: dict[str, set[str]] = {}
        self.column_entries: dict[str, set[str]] = {}
        self.pages_read: dict[str, set[str]] = {}
        self.parsed: set[str] = set()
        self.requested: set[str] = set()
        self.probed: set[str] = set()
        self.truncated = False
        self.query_variants: dict[str, int] = {}  # path -> distinct queries of it requested
        self.capped_paths: list[str] = []
        self.pages_done = 0
        self.errors = 0
        self.robots_blocked = 0
        self.started = time.monotonic()
        self.render_modes: dict[str, str] = {}
        self.static_links: dict[str, set[str]] = {}  # pages read again in the browser: links seen before
        self.rendered = 0
        self.render_errors = 0
        self.render_seconds = 0.0
        self.contexts = ContextPool(PAGES_PER_CONTEXT)
        # Transient failures (a timeout, a 503) are fetched again once the crawl is otherwise done.
        self.recheck_due: list[Request] = []
        self.rechecks: dict[str, int] = {}
        self.recheck_waiting = False
        self.recovered = 0
        self.not_modified = 0
        self.not_probed = 0
        self.home_links: set[str] = set()
        self.subcolumns: dict[str, list[str]] = {}
        # Message boards (interaction columns): each message's row on its board, and what its page says.
        self.board_rows: dict[str, tuple[str, MessageFields]] = {}
        self.message_pages: dict[str, MessageFields] = {}
        self.resumed = 0  # how many times this crawl was resumed from its job directory
        self.seconds_before = 0.0  # time and bytes of the crawl's earlier, interrupted sessions
        self.bytes_before = 0
        self.close_reason: str | None = None
        self.readings: ReadingStore | None = None  # what unchanged pages read as last time (crawler.reuse)
        self.revisits: Revisits | None = None  # unchanged pages taken from the last run (crawler.revisit)
        self.carried = 0
        self.copied = 0  # carried pages whose rows were copied from the last run's (crawler.writer)
        self.lists_reused = 0  # list pages whose list was taken as read from the same bytes before (_kept_list)
        self.lists_carried = 0  # further list pages carried from the last run without a request (_carried_list)
        self._list_backlog: list[tuple[str, int, str, tuple[Carried, PageReading, ListPage]]] = []
        # Carried pages whose rows are copied from the last run, not yet handed to the pipeline.
        self._carrying: list[tuple[str, int]] = []
        self._carrying_links = 0
        self._carrying_documents = 0
        self.reader_pool: ReaderPool | None = None  # reader processes for plain pages (crawler.readers)
        self.accounts_requested: set[str] = set()  # 政务新媒体 account pages (new_media), by configured URL
        self.reports = ReportFinder()  # annual reports and their attachments (crawler.annual_reports)
        for column in site.columns:
            url = normalize_url(column.url)
            self.render_modes[url] = column.render or site.render
            self.columns[url] = ColumnItem(
                name=column.name, url=url, category=column.category, category_guessed=False,
                unit=column.unit or site.unit, source="config",
            )

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    # --- an interrupted crawl, resumed ------------------------------------------------------
    def _restore(self) -> None:
        """Take up an interrupted crawl: what it knew comes back from the job directory's state, the
        requests it had queued from Scrapy's disk queue."""
        saved = getattr(self, "state", {}).get("govaudit")
        if not saved or saved.get("run_id") != self.run_id:
            return
        for name in RESUMED_STATE:
            if name in saved:  # a state saved before a name was added keeps its default
                setattr(self, name, saved[name])
        self.resumed = saved["resumed"] + 1
        self.seconds_before = saved["seconds"]
        self.bytes_before = saved["bytes"]
        self.recheck_due = [request_from_dict(d, spider=self) for d in saved["recheck_due"]]
        self.logger.info("%s: resuming the interrupted crawl of run %s: %d pages done, %d requested",
                         self.site.id, self.run_id, self.pages_done, len(self.requested))

    def closed(self, reason: str) -> None:
        self.close_reason = reason
        readers.release(self.reader_pool)
        self.reader_pool = None
        if self.readings is not None:
            self.readings.close()
        state = getattr(self, "state", None)
        if state is None:
            return  # no job directory: nothing to resume from
        if reason == "finished":
            state.pop("govaudit", None)
            return
        state["govaudit"] = {
            **{name: getattr(self, name) for name in RESUMED_STATE},
            "run_id": self.run_id, "resumed": self.resumed, "seconds": self._seconds(),
            "bytes": self._bytes_received(),
            "recheck_due": [request.to_dict(spider=self) for request in self.recheck_due],
        }

    # --- requests ---------------------------------------------------------------------------
    async def start(self):
        self._restore()  # a resumed crawl has requested these already: they come back from its queue
        self.reader_pool = readers.pool(self.settings.getint("GOVAUDIT_READERS", 0))
        store = self.settings.get("GOVAUDIT_READINGS")
        if store:
            self.readings = ReadingStore(Path(store), self.as_of)
            self.revisits = Revisits.open(
                days=self.site.limits.revisit_days, as_of=self.as_of, readings=self.readings,
                db_url=self.settings.get("GOVAUDIT_DB"), site_id=self.site.id, run_id=self.run_id)
        home = self._page_request(self.home, hops=0, priority=10, render=self.site.render == "js")
        if home is not None:
            yield home
        if home is not None or self._home_read_elsewhere():
            # The home page first: the columns its menu names are known as columns before any other page
            # links them (else a column first fetched as a plain page is fetched again, and which one
            # comes first would depend on which answer arrives first).
            await self._await_home()
        # A snapshot: the home page may be read, and columns found in its menu, while this still runs.
        for url in list(self.columns):
            request = self._page_request(url, hops=1, priority=5, render=self.render_mode(url) == "js")
            if request is not None:
                yield request
        for request in self._account_requests():
            yield request

    def _home_read_elsewhere(self) -> bool:
        """Whether the home page, not requested here, is read by another process of this crawl (whose
        reading this one must wait for, as for its own)."""
        return False

    def _home_wait_seconds(self) -> float:
        return max(30.0, 3.0 * self.site.limits.timeout)

    async def _await_home(self) -> None:
        try:
            await asyncio.wait_for(self._home_read.wait(), self._home_wait_seconds())
        except TimeoutError:
            self.logger.info("%s: the home page was not read within %.0f s; the columns are requested anyway",
                             self.site.id, self._home_wait_seconds())

    def _home_done(self) -> None:
        """The home page was read (its menu's columns are known) or could not be."""
        self._home_read.set()

    def render_mode(self, column_url: str | None) -> str:
        """static | js | auto for a column (its own setting, else the site's)."""
        return self.render_modes.get(column_url or "", self.site.render)

    def _admit(self, url: str, again: bool) -> bool:
        """Whether to request a page: once (unless ``again``), within ``limits.pages`` and the query cap."""
        if url in self.requested and not again:
            return False
        if len(self.requested) >= self.site.limits.pages and url not in self.requested:
            self.truncated = True
            return False
        if url not in self.requested and self._trapped(url):
            return False
        self.requested.add(url)
        return True

    def _page_request(self, url: str, hops: int, *, list_of: str | None = None, priority: int = 0,
                      again: bool = False, render: bool = False, extra: dict | None = None) -> Request | None:
        if not self._admit(url, again):
            return None
        meta: dict[str, Any] = {"hops": hops, "list_of": list_of, "download_slot": host_of(url), **(extra or {})}
        if render and self.browser:
            meta.update(self.contexts.meta())
        return Request(url, callback=self.parse_page, errback=self.page_failed, priority=priority,
                       dont_filter=True, meta=meta)

    def _follow(self, url: str, hops: int, *, priority: int = 0, listed: int | None = None,
                from_carried: bool = False):
        """A plain page to crawl: its request, or, when it is carried from the last run without one
        (``crawler.revisit``), its rows and what it leads to. Only what hangs below an unchanged entry of a
        column's list may be carried: ``listed`` is the signature of the entry that leads to it, or
        ``from_carried`` says a carried page links it (or an unchanged one asked for below such an entry).
        Any other link of a page read tonight is asked for."""
        if self.revisits is None or url in self.requested or (listed is None and not from_carried):
            request = self._page_request(url, hops, priority=priority)
            if request is not None:
                yield request
            return
        response = None
        try:
            found = self._carried(url, listed)
            if found is not None:
                carried, summary = found
                if self.revisits.copies and (summary is None or not summary.date_texts
                                             or self.revisits.dates_hold(summary.date_texts)):
                    yield from self._carry_rows(url, hops, carried, summary)
                    return
                reading = self._carried_reading(carried) if summary is not None else None
                if summary is not None and reading is None:
                    raise NeedsBody(url)  # its reading is gone: the page is asked for
                response = self._carried_response(url, hops, carried, reading)
                if not self._admit(url, False):
                    return
                self.carried += 1
                yield from self._handle(response, None)
                return
        except Exception as exc:  # noqa: BLE001 - the page is asked for instead, and the crawl goes on
            if not isinstance(exc, NeedsBody):  # not expected: reports are not carried
                self.logger.exception("%s: %s: could not take the page from the last run; asking for it",
                                      self.site.id, url)
            # What was stored of it is replaced when its answer comes (the pipeline replaces a page read again).
            self.requested.discard(url)
            if url in self.parsed:
                self.parsed.discard(url)
                self.pages_done -= 1
            if response is not None:
                self.carried -= 1
        # Asked for, but below an unchanged list entry still: if it is unchanged too, what it links may be
        # carried (``_handle``).
        request = self._page_request(url, hops, priority=priority, extra={"below_list": True})
        if request is not None:
            yield request

    def _carried(self, url: str, listed: int | None) -> tuple[Carried, Carry | None] | None:
        """The last answer of a page the crawl may carry instead of asking again, and, for an HTML page,
        what it read as (crawler.revisit); None when the page is asked for."""
        assert self.revisits is not None and self.readings is not None
        if url == self.home or self.known_column(url) is not None or url in self.board_rows \
                or self.reports.is_attachment(url, {}):
            return None
        carried = self.revisits.lookup(url, listed)
        if carried is None:
            return None
        answer = carried.answer
        if not answer["html"]:
            return carried, None
        # Carried only as it read last time: a page the readers have not seen (a new release of them)
        # or a board's message is asked for.
        summary = answer.get("carry")
        if not isinstance(summary, Carry) or summary.version != READER_VERSION or summary.message:
            return None
        if any(report_kind(title) for title in (summary.title, summary.document_title) if title):
            return None  # an annual report is read from its HTML, which is not kept
        return carried, summary

    def _carried_list(self, url: str, column_url: str) -> tuple[Carried, PageReading, ListPage] | None:
        """A further list page of a column that may be carried from the last run (``Revisits.lookup_list``),
        with its reading and list as kept (``_kept_list``); None when it is asked for. Not one whose title
        is an annual report's (read from its HTML, which is not kept)."""
        if self.revisits is None or self.readings is None:
            return None
        carried = self.revisits.lookup_list(url, column_url)
        if carried is None:
            return None
        answer = carried.answer
        reading, page = self._kept_list(self.readings.key(answer["url"], answer["sha1"]) + LIST_READING)
        if reading is None or page is None or reading.links is None or report_kind(reading.title):
            return None
        return carried, reading, page

    def _carried_list_response(self, url: str, hops: int, column_url: str, carried: Carried, reading: PageReading,
                               page: ListPage) -> Response:
        """A carried list page as a response without a body, read by ``_handle`` from its kept list."""
        response = self._carried_response(url, hops, carried, reading)
        response.meta.update(list_of=column_url, carried_list=page, download_slot=host_of(url))
        return response

    def _carried_reading(self, carried: Carried) -> PageReading | None:
        """A carried page's whole reading, for its rows to be made afresh (``_carried_response``)."""
        assert self.readings is not None
        answer = carried.answer
        reading = self.readings.get(self.readings.key(answer["url"], answer["sha1"]))
        return reading if reading is not None and reading.links is not None else None

    def _carried_response(self, url: str, hops: int, carried: Carried, reading: PageReading | None) -> Response:
        """A carried page as a response without a body (its hash, size and reading come from the readings
        store), for ``_handle`` to make its rows afresh."""
        answer = carried.answer
        meta: dict[str, Any] = {"hops": hops, "list_of": None, "carried_from": carried.fetched_at,
                                "carried_hash": answer["sha1"], "carried_size": answer["size"],
                                "carried_html": answer["html"]}
        if reading is not None:
            meta["carried_reading"] = reading
        request = Request(url, callback=self.parse_page, errback=self.page_failed, dont_filter=True, meta=meta)
        return Response(answer["url"], status=200, headers=answer["headers"], body=b"", flags=["carried"],
                        request=request)

    def _carry_rows(self, url: str, hops: int, carried: Carried, summary: Carry | None):
        """A carried page whose rows are copied from the last run's in the database (crawler.writer):
        what ``_handle`` would make of it, but only what the crawl goes on with is made here (the
        attachments a link names as a report's, the links to follow or probe), from the page's
        ``Carry``. The page is handed to the pipeline with the others of this callback (``_carried_item``)."""
        link_items: list[LinkItem] = []
        fetch: list[str] = []
        if summary is not None:
            link_items = [LinkItem(from_url=url, to_url=normalize_url(link_url), anchor=masked_url(anchor[:500]) or None,
                                   kind=self.link_kind(link_url, in_nav))
                          for link_url, anchor, in_nav in summary.links]
            title = summary.document_title or clean_title(masked(summary.title), self.site.name)
            # The page's own report row needs its HTML (NeedsBody: it is asked for); never so here.
            _items, fetch = self.reports.on_page(url, title, _no_body, link_items, summary.published_date)
        if not self._admit(url, False):
            return
        self.carried += 1
        self.copied += 1
        self.pages_done += 1
        self.parsed.add(url)
        self._carrying.append((url, hops))
        if summary is not None:
            self._carrying_links += len(link_items)
            self._carrying_documents += summary.has_document
        for target in fetch:
            request = self._page_request(target, hops + 1, priority=2, again=target in self.parsed,
                                         extra=request_meta(self.reports.attachments[target]))
            if request is not None:
                yield request
        yield from self._follow_links(link_items, hops, below=True)

    def _follow_links(self, link_items: list[LinkItem], hops: int, below: bool):
        """A page's links: the site's followed (within ``limits.depth``), the others probed. ``below``: what
        it links may be carried from the last run (``_follow``)."""
        for link in link_items:
            if link.kind in ("nav", "content"):
                if hops < self.site.limits.depth:
                    yield from self._follow(link.to_url, hops + 1, from_carried=below)
            else:
                request = self._probe_request(link.to_url, link.kind)
                if request is not None:
                    yield request

    def _carried_item(self) -> CarriedItem | None:
        """The pages this callback carried with their rows copied (``_carry_rows``), for the pipeline."""
        if not self._carrying:
            return None
        assert self.revisits is not None and self.revisits.previous_run is not None
        item = CarriedItem(previous_run=self.revisits.previous_run, pages=self._carrying,
                           links=self._carrying_links, documents=self._carrying_documents)
        self._carrying, self._carrying_links, self._carrying_documents = [], 0, 0
        return item

    def _trapped(self, url: str) -> bool:
        """Whether one more query of this URL's path goes past ``limits.query_variants``: a calendar's
        endless next months, or a search's endless parameters. Said once per path."""
        parts = urlsplit(url)
        if not parts.query:
            return False
        path = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        seen = self.query_variants.get(path, 0)
        if seen < self.site.limits.query_variants:
            self.query_variants[path] = seen + 1
            return False
        self.truncated = True
        if path not in self.capped_paths:
            self.capped_paths.append(path)
            self.logger.warning("%s: %s: more than %d query variants: the others are not crawled", self.site.id,
                                path, self.site.limits.query_variants)
        return True

    def _render_again(self, url: str, hops: int, list_of: str | None, links: set[str]) -> Request:
        """The same page once more, in the browser (render: auto found nothing in its HTML)."""
        self.static_links[url] = links
        meta: dict[str, Any] = {"hops": hops, "list_of": list_of, "download_slot": host_of(url),
                                "rerender": True, **self.contexts.meta()}
        return Request(url, callback=self.parse_page, errback=self.render_failed, priority=3, dont_filter=True,
                       meta=meta)

    def _admit_probe(self, url: str) -> bool:
        if url in self.probed or len(self.probed) >= self.site.limits.pages:
            return False
        self.probed.add(url)
        return True

    def _probe_request(self, url: str, kind: str) -> Request | None:
        if not self._admit_probe(url):
            return None
        why = refusal(url, self.site) if kind == "external" else None
        if why is not None and why != CREDENTIALS:
            # A page may link anywhere; the crawler does not knock on private networks because of it.
            # (A link with credentials is refused by SafeTargetMiddleware instead, and so reported.)
            self.not_probed += 1
            self.logger.info("%s: %s: not probed: %s", self.site.id, url, why.removeprefix("refused: "))
            return None
        # A probe is one GET of a linked page, as a reader's click would be: robots.txt of the
        # other host is not fetched for it.
        return Request(
            url, callback=self.parse_probe, errback=self.probe_failed, priority=-5, dont_filter=True,
            meta={"probe_kind": kind, "dont_obey_robotstxt": True, "download_slot": host_of(url)},
        )

    def link_kind(self, url: str, in_nav: bool) -> str:
        where = self._link_hosts.get(url)
        if where is None:  # the site's host lists do not change during a crawl: asked once a URL
            if host_allowed(url, self.site.allowed_hosts):
                where = "site"
            else:
                where = "service" if host_allowed(url, self.site.service_hosts) else "external"
            if len(self._link_hosts) < 200_000:
                self._link_hosts[url] = where
        if where == "site":
            return "nav" if in_nav else "content"
        return where

    # --- transient failures -----------------------------------------------------------------
    def _maybe_recheck(self, request: Request, why: str) -> None:
        """Fetch a transient failure again after the crawl (``limits.recheck_times``, ``recheck_delay``):
        one timeout or one 503 must not become a finding."""
        url = normalize_url(request.url)
        done = self._recheck_number(url)
        if done is None:
            return
        keep = ("hops", "list_of", "probe_kind", "dont_obey_robotstxt", "download_slot", "account", "annual_report",
                "download_maxsize")
        meta = {k: v for k, v in request.meta.items() if k in keep}
        meta["recheck"] = done + 1
        self.logger.info("%s: %s: %s; will check again", self.site.id, url, why)
        self.recheck_due.append(Request(url, callback=request.callback, errback=request.errback,
                                        dont_filter=True, priority=-10, meta=meta))

    def _will_recheck(self, url: str) -> bool:
        return any(normalize_url(request.url) == url for request in self.recheck_due)

    def _recheck_number(self, url: str) -> int | None:
        """How many second looks ``url`` had before this one, counting this one; None past the limit."""
        done = self.rechecks.get(url, 0)
        if done >= self.site.limits.recheck_times:
            return None
        self.rechecks[url] = done + 1
        return done

    def on_idle(self) -> None:
        """Hold the crawl open while failed pages wait for their second look."""
        if self.recheck_waiting:
            raise DontCloseSpider
        if not self.recheck_due:
            return
        due, self.recheck_due = self.recheck_due, []
        self.recheck_waiting = True

        def resend() -> None:
            self.recheck_waiting = False
            for request in due:
                self.crawler.engine.crawl(request)

        from twisted.internet import reactor

        reactor.callLater(self.site.limits.recheck_delay, resend)
        raise DontCloseSpider

    # --- pages ------------------------------------------------------------------------------
    def known_column(self, url: str | None) -> ColumnItem | None:
        """The column at ``url``, if one is configured or was discovered."""
        return self.columns.get(url or "")

    def column_changed(self, column: ColumnItem, *fields: str, weak: bool = False) -> None:
        """``fields`` of ``column`` were set (a distributed crawl shares them; ``weak``: unless set already)."""

    def _claim(self, store: str, scope: str, member: str, cap: int | None = None, initial: str | None = None) -> int:
        """Add ``member`` to the set ``store[scope]`` (created holding ``initial``): 1 added, 0 there
        already, -1 not added because the set holds ``cap`` members."""
        members = getattr(self, store).setdefault(scope, {initial} if initial is not None else set())
        if member in members:
            return 0
        if cap is not None and len(members) >= cap:
            return -1
        members.add(member)
        return 1

    def _claimed(self, store: str, scope: str) -> int:
        return len(getattr(self, store).get(scope, ()))

    def _entries_taken(self, column: ColumnItem, n: int) -> int:
        """Count ``n`` new entries of a column; returns the position of the first."""
        start = column.entries
        column.entries += n
        return start

    def _set_home_links(self, links: set[str]) -> None:
        self.home_links = links

    def _set_subcolumns(self, column_url: str, urls: list[str]) -> None:
        self.subcolumns[column_url] = urls

    def _add_column(self, column: ColumnItem) -> bool:
        """Register a discovered column; False when it is known already."""
        if column.url in self.columns:
            return False
        self.columns[column.url] = column
        return True

    def role_of(self, url: str, meta: dict) -> tuple[str, str | None]:
        if url == self.home:
            return "home", None
        if self.known_column(url) is not None:
            return "column", url
        if meta.get("list_of"):
            return "list", meta["list_of"]
        return "other", None

    async def parse_page(self, response: Response):
        # The requests go on at once; the items wait for the end of the callback and go to the pipeline
        # as one (ItemBatch), in the order they were made. Those made before a failure are still stored.
        made: list[Any] = []
        try:
            async for output in self._parse_page(response):
                if isinstance(output, Request):
                    yield output
                else:
                    made.append(output)
        except Exception:
            if made:
                yield ItemBatch(made)
            raise
        finally:
            if requested_url(response) == self.home:
                self._home_done()
        if made:
            yield made[0] if len(made) == 1 else ItemBatch(made)

    async def _parse_page(self, response: Response):
        rendered = await self._rendered_html(response)
        if rendered is None and self.reader_pool is not None:
            await self._read_ahead(response)
        for item in self._handle(response, rendered):  # an async generator has no "yield from"
            yield item
        # Further list pages carried from the last run (_read_list_page), one after the other: a carried
        # list page's next one joins the backlog instead of nesting a generator a page.
        while self._list_backlog:
            url, hops, column_url, (carried_from, reading, page) = self._list_backlog.pop(0)  # in page order
            self.carried += 1
            self.lists_carried += 1
            for item in self._handle(self._carried_list_response(url, hops, column_url, carried_from, reading,
                                                                 page), None):
                yield item
        carried = self._carried_item()
        if carried is not None:
            yield carried

    async def _read_ahead(self, response: Response) -> None:
        """A plain page is read by a reader process (``crawler.readers``) while the crawl goes on; its
        reading waits in the request's meta for ``_handle``, which makes of it what it makes of its own.
        Only where ``_handle`` would read the page itself: a plain HTML page, answered at its own URL, of
        the site, not read before with these bytes."""
        url = requested_url(response)
        meta = response.meta
        if response.status >= 400 or "carried" in response.flags or meta.get("rerender") \
                or self.role_of(url, meta)[0] != "other" or self.reports.is_attachment(url, meta) \
                or normalize_url(response.url) != url or not host_allowed(response.url, self.site.allowed_hosts):
            return
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        if not self._is_html(response, content_type):
            return
        if self.readings is not None:
            stored = self.readings.get(self.readings.key(response.url, hashlib.sha1(response.body).hexdigest()))
            if stored is not None:
                meta["read_ahead"] = (stored, False, None)
                return
        answer = await self.reader_pool.reading(response.body, content_type, response.url, self.as_of)
        if answer is not None:
            meta["read_ahead"] = (answer[0], True, answer[1])

    def _handle(self, response: Response, rendered: str | None):
        """A page's answer (fetched, or carried from the last run: ``crawler.revisit``): its rows, and
        the requests for what it leads to."""
        url = requested_url(response)
        meta = response.meta
        hops = meta.get("hops", 0)
        rerender = bool(meta.get("rerender"))
        kind, column_url = self.role_of(url, meta)
        if kind == "other" and url in self.parsed and not rerender and not meta.get("recheck") \
                and not self.reports.is_attachment(url, meta):
            # Asked for as a plain page, then again as the list page it is, and the list page's answer came
            # first (its request goes before): this one would undo what the list page's reading stored.
            return
        if not rerender:
            self.pages_done += 1
        self.parsed.add(url)
        final_url = normalize_url(response.url)
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        carried = "carried" in response.flags  # taken from the last run (crawler.revisit): no body at hand
        page = PageItem(
            url=url, final_url=final_url, status=response.status, content_type=content_type,
            content_hash=meta["carried_hash"] if carried else hashlib.sha1(response.body).hexdigest(),
            size=meta["carried_size"] if carried else len(response.body),
            depth=hops, kind=kind, column_url=column_url, rendered_by_js=rendered is not None,
            fetched_at=meta.get("carried_from"), adds_links=rerender,
        )
        column = self.known_column(column_url) if kind == "column" else None
        if column is not None:
            column.status, column.final_url, column.error = response.status, final_url, None
            self.column_changed(column, "status", "final_url", "error")
        if "cached" in response.flags:
            self.not_modified += 1  # revalidated: the server answered 304, the stored copy is read
        if response.status >= 400:
            self.errors += 1
            self.logger.warning("%s: %s: HTTP %s", self.site.id, url, response.status)
            if response.status in TRANSIENT_STATUSES:
                self._maybe_recheck(response.request, f"HTTP {response.status}")
            yield page
            if self.reports.is_attachment(url, meta) and not self._will_recheck(url):
                report = self.reports.on_attachment(url, content_type, b"", failure=f"HTTP {response.status}")
                if report is not None:
                    yield report
            return
        if meta.get("recheck"):
            self.recovered += 1
        if self.reports.is_attachment(url, meta):  # a report's attachment: its text and tables are read
            yield page
            report = self.reports.on_attachment(url, content_type, response.body)
            if report is not None:
                yield report
            return
        html = meta["carried_html"] if carried else self._is_html(response, content_type)
        answer = None  # this answer, kept for revisiting (crawler.revisit); an HTML page's with its Carry
        if not carried and self.readings is not None and kind in ("other", "list") and rendered is None \
                and final_url == url:
            answer = {"url": response.url, "headers": dict(response.headers), "sha1": page.content_hash,
                      "size": page.size, "html": html}
        if not html:
            if answer is not None:
                self.readings.put_answer(url, answer)
            yield page
            return
        off_site = not host_allowed(response.url, self.site.allowed_hosts)
        # Redirected within the site: what the page shows belongs to where it landed, which is crawled
        # (once) in its own right; a column keeps reading its list wherever it moved.
        moved = final_url != url and (kind not in ("column", "list") or final_url == self.home)
        # A page read before at this URL with these very bytes (a 304, or unchanged) is not read again.
        key = list_key = None
        if self.readings is not None and kind == "other" and rendered is None and not off_site and not moved:
            key = self.readings.key(response.url, page.content_hash)
        if self.readings is not None and kind in ("column", "list") and rendered is None and final_url == url \
                and not off_site:
            column = self.known_column(column_url)
            if column is not None and column.category != "interaction":  # a board's rows are read from its HTML
                list_key = self.readings.key(response.url, page.content_hash) + LIST_READING
        text = tree = listed = None
        list_page = meta.get("carried_list")  # a further list page carried from the last run (_carried_list)
        ahead = meta.pop("read_ahead", None) if kind == "other" and not off_site and not moved else None
        pickled = None
        if ahead is not None:  # read by a reader process (_read_ahead), or found in the store there
            reading, fresh, pickled = ahead
        else:
            reading = meta.get("carried_reading") or (self.readings.get(key) if key else None)
            if reading is None and list_key is not None:
                reading, list_page = self._kept_list(list_key)
            fresh = reading is None
            if reading is None:
                text, reading, tree, listed = self._read(response, content_type, rendered, kind, off_site or moved)
        if fresh and key and reading.links is not None:
            self.readings.put(key, reading, pickled)
        if answer is not None:
            answer["carry"] = Carry.of(reading) if key else None
            self.readings.put_answer(url, answer)
        page.encoding, page.encoding_source = reading.encoding, reading.encoding_source
        # A password written into a page (a URL with user:password) is stored masked, as links are.
        page.title, page.text, page.meta_tags, page.footer = (
            masked(v) for v in (reading.title, reading.text, reading.meta_tags, reading.footer))
        yield page
        if reading.links is None:
            if moved and not off_site and tree is not None:
                request = self._page_request(final_url, hops)
                if request is not None:
                    yield request
            return  # unreadable, or redirected off the site: recorded, nothing read from it
        base = response.url

        link_items = [
            LinkItem(from_url=url, to_url=normalize_url(link.url), anchor=masked_url(link.anchor[:500]) or None,
                     kind=self.link_kind(link.url, link.in_nav), hidden=link.hidden)
            for link in reading.links
        ]
        if rerender:  # the links its HTML had are stored already; keep those the scripts added
            known = self.static_links.pop(url, set())
            link_items = [link for link in link_items if link.to_url not in known]
        if link_items:
            yield LinksItem(from_url=url, links=link_items)
        if kind == "home":
            self._set_home_links({link.to_url for link in link_items})
        yield from self._annual_reports(response, url, page.title, text, content_type, link_items, reading, hops)

        follow_first: list[Request] = []
        if kind == "home":
            follow_first.extend(self._read_home(listed, base))
        if kind in ("column", "list"):
            # Unchanged since the last run (or carried from it): the list pages after it may be carried too.
            unchanged = carried or (self.revisits is not None and self.revisits.list_unchanged(url, page.content_hash))
            follow_first.extend(self._read_list_page(text, listed, list_page, list_key, reading, base, url, column_url,
                                                     hops, rendered is not None, unchanged,
                                                     {link.to_url for link in link_items}))
        elif kind == "other" and reading.document is not None:
            yield self._document(reading.document, url, page.title)
        if kind == "other" and reading.message is not None:
            self._keep_message_page(url, reading.message)
        yield from follow_first

        # What a carried page links may be carried too; so may what a page links that was asked for below an
        # unchanged list entry and read as it read before (its links are the same as then).
        below = "carried" in response.flags or (kind == "other" and bool(meta.get("below_list")) and not fresh)
        yield from self._follow_links(link_items, hops, below)

    def _annual_reports(self, response: Response, url: str, title: str | None, text: str | None,
                        content_type: str | None, link_items: list[LinkItem], reading: PageReading, hops: int):
        """The hook of crawler.annual_reports: this page as a report, and report attachments to fetch
        (whatever the depth: a report's attachment is the report)."""
        document = reading.document
        title = (document.title if document is not None and document.title else None) or clean_title(
            title, self.site.name)
        # A page read from the store of unchanged pages has no HTML at hand: decoded again only for a report.
        html = text if text is not None else (
            _no_body if "carried" in response.flags else lambda: decode_body(response.body, content_type).text)
        published = document.published_date if document is not None else None
        items, fetch = self.reports.on_page(url, title, html, link_items, published)
        yield from items
        for target in fetch:
            request = self._page_request(target, hops + 1, priority=2, again=target in self.parsed,
                                         extra=request_meta(self.reports.attachments[target]))
            if request is not None:
                yield request

    def _read_home(self, page: ListingPage, base: str):
        """The home page: its dated items (for 首页更新) and its navigation columns."""
        entries = dated_items(page, base, as_of=self.as_of)
        yield ListingsItem(column_url=self.home, page_url=self.home, entries=[
            ListingItem(column_url=self.home, page_url=self.home, position=i, title=e.title,
                        url=normalize_url(e.url), date=e.date, date_text=e.date_text)
            for i, e in enumerate(entries)
        ])
        for name, url in navigation_columns(page, base):
            request = self._discover_column(name, normalize_url(url), hops=1)
            if request is not None:
                yield request

    def _discover_column(self, name: str, url: str, hops: int) -> Request | None:
        if url == self.home or self.known_column(url) is not None or not host_allowed(url, self.site.allowed_hosts):
            return None
        if _NON_HTML_SUFFIX.search(urlsplit(url).path):
            return None
        category = guess_category(name)
        if not self._add_column(ColumnItem(
            name=name, url=url, category=category, category_guessed=True, unit=self.site.unit, source="nav",
        )):
            return None
        # Already fetched in another role: fetch it again as the column it turned out to be.
        return self._page_request(url, hops, priority=5, again=True)

    def _kept_list(self, key: str) -> tuple[PageReading | None, ListPage | None]:
        """A list page's reading and list as an earlier night read them from these very bytes (a 304), when
        its entries' dates read the same tonight (a year-less date may not); else (None, None)."""
        assert self.readings is not None
        kept = self.readings.get(key)
        if not isinstance(kept, tuple) or len(kept) != 3:
            return None, None
        reading, page, read_on = kept
        if read_on != self.as_of and not all(
                entry.date is None or (find_date(entry.date_text, year_less=False) or (None,))[0] == entry.date
                for entry in page.entries):
            return None, None
        return reading, page

    def _read_list_page(self, text: str | None, listed: ListingPage | None, kept: ListPage | None,
                        key: str | None, reading: PageReading, base: str, url: str, column_url: str | None,
                        hops: int, rendered: bool, unchanged: bool, links: set[str]):
        """A column's list page: its list (``kept``: as read from the same bytes before), the further list
        pages and the entries to crawl."""
        column = self.known_column(column_url)
        if column is None:
            return
        if kept is not None:
            page = kept
            self.lists_reused += 1
        else:
            page = read_list(listed, base, as_of=self.as_of)
            # Kept for a night it answers 304: read again, a list page cost about 3 ms (bench/run, 100k).
            # Not a page that lists nothing: whether a browser must read it depends on its scripts (_SCRIPT).
            if key is not None and page.entries:
                self.readings.put(key, (reading, page, self.as_of))
        if rendered:
            column.rendered_by_js = True
            self.column_changed(column, "rendered_by_js")
        if column.category == "interaction":
            yield from self._read_board(column, text, base, hops)
        if url == column.url and not page.entries and not rendered and self.render_mode(column.url) == "auto" \
                and self.browser and text is not None and _SCRIPT.search(text):
            # Its HTML lists nothing but scripts may build the list: read it as a browser shows it.
            # Until then this page's placeholder and navigation count as they are.
            yield self._render_again(url, hops, None, links)
        self._claim("pages_read", column.url, url)  # a page read again in the browser is still one page
        column.list_pages = self._claimed("pages_read", column.url)
        self.column_changed(column, "list_pages")
        if url == column.url:
            column.placeholder = page.placeholder if not page.entries else None
            column.nav_only = not page.entries and not page.placeholder and len(page.subcolumns) >= 2
            self._set_subcolumns(column.url, [normalize_url(sub_url) for _, sub_url in page.subcolumns])
            column.single_page = (not page.entries and not page.placeholder and not column.nav_only
                                  and not page.data and page.text_length >= SINGLE_PAGE_TEXT)
            self.column_changed(column, "placeholder", "nav_only", "single_page")
        # The next list pages before the entries: an entry's page carried from the last run is read at once,
        # and its links (a breadcrumb to "index.html") must find the list pages claimed as such.
        for next_url in page.next_pages:
            next_url = normalize_url(next_url)
            if not host_allowed(next_url, self.site.allowed_hosts):
                continue
            claimed = self._claim("list_pages", column.url, next_url, self.site.limits.list_pages, column.url)
            if claimed == 0:
                continue
            if claimed < 0:
                column.truncated = True
                self.column_changed(column, "truncated")
                break
            if unchanged and not rendered:
                found = self._carried_list(next_url, column.url)
                if found is not None and self._admit(next_url, True):
                    self._list_backlog.append((next_url, hops, column.url, found))
                    continue
            # Fetched in another role already (a link to page 2), it is fetched again as a list page.
            request = self._page_request(next_url, hops, list_of=column.url, priority=4, again=True,
                                         render=rendered)
            if request is not None:
                yield request
        yield from self._take_entries(column, url, page, hops)
        if column.nav_only and url == column.url:
            for name, sub_url in page.subcolumns:
                request = self._discover_column(name, normalize_url(sub_url), hops + 1)
                if request is not None:
                    yield request

    def _read_board(self, column: ColumnItem, text: str, base: str, hops: int):
        """A message board's list page: each message's row is kept and its page crawled (it is read with
        the other pages; ``message_items`` joins the two when the crawl closes)."""
        for row in read_board(text, base):
            url = normalize_url(row.url)
            if not host_allowed(url, self.site.allowed_hosts):
                continue
            self._keep_board_row(url, column.url, row.fields)
            request = self._page_request(url, hops + 1, priority=2)
            if request is not None:
                yield request

    def _keep_board_row(self, url: str, column_url: str, fields: MessageFields) -> None:
        self.board_rows.setdefault(url, (column_url, fields))

    def _keep_message_page(self, url: str, fields: MessageFields) -> None:
        self.message_pages[url] = fields

    def message_items(self) -> list[MessageItem]:
        """The boards' messages, each row joined with its page's fields (read at close by the pipeline)."""
        return join_messages(self.board_rows, self.message_pages, self.as_of)

    def _take_entries(self, column: ColumnItem, page_url: str, page: ListPage, hops: int):
        """A list page's (or a data answer's) entries: stored once per column, their pages crawled, and the
        further data the CMS serves them from requested (bounded like pagination)."""
        # One entry once per column: "/x/" and "/x/index.html", or a CMS that serves the same records
        # for every page number, must not count an entry twice.
        entries = []
        for entry in page.entries:
            entry_url = normalize_url(entry.url)
            if self._claim("column_entries", column.url, entry_url) == 1:
                entries.append((entry_url, entry))
        start = self._entries_taken(column, len(entries))
        if page.entries or not column.reader:
            column.reader = page.reader
            self.column_changed(column, "reader", weak=not page.entries)
        yield ListingsItem(column_url=column.url, page_url=page_url, entries=[
            ListingItem(column_url=column.url, page_url=page_url, position=start + i, title=e.title,
                        url=entry_url, date=e.date, date_text=e.date_text)
            for i, (entry_url, e) in enumerate(entries)
        ])
        for data in page.data:
            key = f"{data.method} {data.url} {data.body or ''}"
            if not host_allowed(data.url, self.site.allowed_hosts):
                continue
            claimed = self._claim("list_pages", column.url, key, self.site.limits.list_pages, column.url)
            if claimed == 0:
                continue
            if claimed < 0:
                column.truncated = True
                self.column_changed(column, "truncated")
                break
            yield self._data_request(data, column.url, hops)
        for entry_url, entry in entries:
            if host_allowed(entry_url, self.site.allowed_hosts):
                yield from self._follow(entry_url, hops + 1, priority=2,
                                        listed=listing_signature(entry.title, entry.date))

    def _data_request(self, data: DataRequest, column_url: str, hops: int) -> Request:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if data.body is not None else None
        return Request(
            data.url, method=data.method, body=data.body, headers=headers, callback=self.parse_list_data,
            errback=self.data_failed, priority=4, dont_filter=True,
            meta={"hops": hops, "column": column_url, "reader": data.reader, "download_slot": host_of(data.url)},
        )

    def parse_list_data(self, response: Response):
        """A CMS's list data endpoint (e.g. Hanweb's dataproxy.jsp) answering for a column."""
        column = self.known_column(response.meta["column"])
        if response.status >= 400:
            self.logger.warning("%s: %s: list data of column %s: HTTP %s", self.site.id, response.url,
                                column.name, response.status)
            return
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        text = decode_body(response.body, content_type).text
        page = read_data(text, response.url, response.meta["reader"], as_of=self.as_of)
        yield from self._take_entries(column, normalize_url(response.url), page, response.meta["hops"])
        carried = self._carried_item()
        if carried is not None:
            yield carried

    def data_failed(self, failure: Failure) -> None:
        column = self.known_column(failure.request.meta["column"])
        self.logger.warning("%s: %s: list data of column %s: %s", self.site.id, failure.request.url, column.name,
                            describe_failure(failure))

    def _read(self, response: Response, content_type: str | None, rendered: str | None, kind: str,
              elsewhere: bool) -> tuple[str, PageReading, Any, ListingPage | None]:
        """Decode and read a page in this process (``crawler.readers.read_html``)."""
        return read_html(response.body, content_type, response.url, kind=kind, elsewhere=elsewhere,
                         rendered=rendered, as_of=self.as_of)

    def _document(self, meta: DocumentMeta, url: str, title: str | None) -> DocumentItem:
        meta = redate(meta, self.as_of)  # a reading kept from another night is dated against today
        return DocumentItem(
            url=url, title=meta.title or clean_title(title, self.site.name), index_number=meta.index_number,
            publisher=meta.publisher, written_date=meta.written_date, published_date=meta.published_date, doc_number=meta.doc_number,
            validity=meta.validity, topic=meta.topic, has_metadata=meta.found, raw=dict(meta.raw),
        )

    async def _rendered_html(self, response: Response) -> str | None:
        """The DOM after scripts ran, for a page fetched through the browser; the page is closed here."""
        page = response.meta.get("playwright_page")
        if page is None:
            return None
        started = time.monotonic()
        try:
            try:
                # Lists fetched by scripts arrive after "load"; a page that never goes quiet is read as is.
                await page.wait_for_load_state("networkidle", timeout=NETWORK_IDLE_MS)
            except Exception:  # noqa: BLE001 - playwright's TimeoutError: read what is there
                pass
            html = await page.content()
        finally:
            await self._close_page(page, response.meta.get("playwright_context"))
        self.rendered += 1
        self.render_seconds += time.monotonic() - started + float(response.meta.get("download_latency") or 0)
        return html

    async def _close_page(self, page, context_name: str | None) -> None:
        context = page.context
        await page.close()
        if context_name and self.contexts.done(context_name):
            await context.close()

    async def _release(self, request: Request) -> None:
        """A browser request that failed still holds its page (when one was opened) and its context slot."""
        page = request.meta.get("playwright_page")
        if page is not None:
            await self._close_page(page, request.meta.get("playwright_context"))
        elif request.meta.get("playwright_context"):
            self.contexts.done(request.meta["playwright_context"])

    async def render_failed(self, failure: Failure):
        """Reading a page in the browser failed: what its HTML showed stands."""
        request = failure.request
        await self._release(request)
        url = normalize_url(request.url)
        self.static_links.pop(url, None)
        self.render_errors += 1
        if url == self.home:
            self._home_done()
        self.logger.warning("%s: %s: could not render in the browser: %s", self.site.id, url,
                            describe_failure(failure))

    async def page_failed(self, failure: Failure):
        request = failure.request
        if normalize_url(request.meta.get("redirect_urls", [request.url])[0]) == self.home:
            self._home_done()
        await self._release(request)
        reason = describe_failure(failure)
        if reason == "robots.txt":
            self.robots_blocked += 1
            return
        url = normalize_url(request.meta.get("redirect_urls", [request.url])[0])  # as asked, before redirects
        self.pages_done += 1
        self.errors += 1
        self.logger.warning("%s: %s: %s", self.site.id, url, reason)
        if reason not in LASTING_FAILURES:
            self._maybe_recheck(request, reason)
        kind, column_url = self.role_of(url, request.meta)
        column = self.known_column(column_url) if kind == "column" else None
        if column is not None:
            column.error = reason
            self.column_changed(column, "error")
        yield PageItem(url=url, final_url=None, status=None, error=reason, depth=request.meta.get("hops", 0),
                       kind=kind, column_url=column_url)
        if self.reports.is_attachment(url, request.meta) and not self._will_recheck(url):
            report = self.reports.on_attachment(url, None, b"", failure=reason)
            if report is not None:
                yield report

    # --- probes -----------------------------------------------------------------------------
    def parse_probe(self, response: Response):
        if response.status in TRANSIENT_STATUSES:
            self._maybe_recheck(response.request, f"HTTP {response.status}")
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        title = text = None
        if response.status < 400 and self._is_html(response, content_type):
            tree = self._tree(decode_body(response.body, content_type).text)
            if tree is not None:
                title = self._title(tree)
                body = tree.find("body")
                text = " ".join((body if body is not None else tree).text_content().split())[:500]
        yield ProbeItem(url=requested_url(response), kind=response.meta["probe_kind"],
                        status=response.status, error=None, final_url=normalize_url(response.url),
                        title=title, text=text)

    def probe_failed(self, failure: Failure):
        request = failure.request
        reason = describe_failure(failure)
        self.logger.warning("%s: %s: %s", self.site.id, normalize_url(request.url), reason)
        if reason not in LASTING_FAILURES:
            self._maybe_recheck(request, reason)
        yield ProbeItem(url=normalize_url(request.url), kind=request.meta["probe_kind"], status=None,
                        error=describe_failure(failure), final_url=None, title=None, text=None)

    # --- 政务新媒体 accounts ------------------------------------------------------------------
    def _admit_account(self, url: str) -> bool:
        if url in self.accounts_requested:
            return False
        self.accounts_requested.add(url)
        return True

    def _account_requests(self):
        """One GET of each configured account page (``new_media``), on whatever host it is: like a probe,
        it is not a page of the site, robots.txt is not asked, and nothing is followed from it."""
        for account in self.site.new_media:
            if not self._admit_account(account.url):
                continue  # a resumed crawl: it was requested before, and comes back from the queue
            yield Request(
                account.url, callback=self.parse_account, errback=self.account_failed, priority=-5,
                dont_filter=True,
                meta={"account": {"name": account.name, "platform": account.platform,
                                  "unit": account.unit or self.site.unit, "url": account.url},
                      "dont_obey_robotstxt": True, "download_slot": host_of(account.url)},
            )

    def parse_account(self, response: Response):
        account = response.meta["account"]
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        item = NewMediaAccountItem(**account, status="failed", final_url=response.url,
                                   http_status=response.status)
        if response.status >= 400:
            item.error = f"HTTP {response.status}"
            if response.status in TRANSIENT_STATUSES:
                self._maybe_recheck(response.request, item.error)
        elif not self._is_html(response, content_type):
            item.error = f"not an HTML page ({content_type or 'no content type'})"
        else:
            try:
                page = read_account_page(decode_body(response.body, content_type).text, self.as_of)
            except Exception as exc:  # noqa: BLE001 - a page the reader trips on is stored as unread, not lost
                item.status, item.error = "undated", f"could not be read: {type(exc).__name__}: {exc}"[:300]
            else:
                item.status, item.title, item.closed_notice = page.status, page.title, page.closed_notice
                item.latest_post, item.latest_text = page.latest_post, page.latest_text
                item.posts_seen = page.posts_seen
        if item.error:
            self.logger.warning("%s: %s: account %s: %s", self.site.id, account["url"], account["name"], item.error)
        yield item

    def account_failed(self, failure: Failure):
        request = failure.request
        account = request.meta["account"]
        reason = describe_failure(failure)
        self.logger.warning("%s: %s: account %s: %s", self.site.id, account["url"], account["name"], reason)
        if reason not in LASTING_FAILURES:
            self._maybe_recheck(request, reason)
        yield NewMediaAccountItem(**account, status="failed", error=reason)

    # --- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _is_html(response: Response, content_type: str | None) -> bool:
        if b"\x00" in response.body[:1024] and not response.body.startswith((b"\xff\xfe", b"\xfe\xff")):
            return False  # binary (an image, a PDF) whatever its Content-Type says; UTF-16 has its BOM
        if content_type:
            return "html" in content_type.lower()
        return response.body[:512].lstrip()[:1] == b"<"

    _tree = staticmethod(parse_tree)
    _title = staticmethod(page_title)

    # --- what the pipeline reads at close -----------------------------------------------------
    def column_items(self) -> list[ColumnItem]:
        """Every column; one never fetched (limits, robots.txt) has neither status nor error, so no
        check can mistake it for an unreachable or blank one."""
        columns = list(self.columns.values())
        adjust_nav_only(columns, self.home_links, self.subcolumns)
        return columns

    def queued(self) -> int:
        """Pages requested so far (the progress display's figure)."""
        return len(self.requested)

    def _bytes_received(self) -> int:
        """Body bytes over the network: counted beside the HTTP cache when there is one (Scrapy's own
        figure would count a stored copy read after a 304 as received)."""
        network = self.crawler.stats.get_value("govaudit/network_bytes")
        if network is None:
            network = self.crawler.stats.get_value("downloader/response_bytes", 0)
        return self.bytes_before + network

    def _seconds(self) -> float:
        return self.seconds_before + time.monotonic() - self.started

    def crawl_stats(self) -> dict[str, Any]:
        return {
            "pages": self.pages_done,
            "errors": self.errors,
            "probes": len(self.probed),
            "columns": len(self.columns),
            "robots_blocked": self.robots_blocked,
            "truncated": self.truncated,
            "capped_paths": self.capped_paths,
            "rendered_pages": self.rendered,
            "render_seconds": round(self.render_seconds, 2),
            "render_errors": self.render_errors,
            "rechecked": len(self.rechecks),
            "recovered": self.recovered,
            "not_modified": self.not_modified,
            "carried": self.carried,
            "copied": self.copied,
            "lists_reused": self.lists_reused,
            "lists_carried": self.lists_carried,
            "not_probed": self.not_probed,
            "bytes_received": self._bytes_received(),
            "duration_s": round(self._seconds(), 2),
            "resumed": self.resumed,
            "reused": self.readings.hits if self.readings is not None else 0,
        }
