"""Distributed crawling: any number of crawler processes, on one machine or many, crawl one site together.

What is shared lives in Redis under the crawl run's namespace (``<prefix>:<audit run>:<site>``):

- the request queue and the dupefilter: scrapy-redis's ``Scheduler`` with its ``PriorityQueue`` and
  ``RFPDupeFilter`` (keys ``…:requests`` and ``…:dupefilter``);
- what the spider knows of its crawl that a single process keeps in memory (``PortalSpider``'s sets and
  the column registry): the pages requested and probed (``limits.pages`` holds across workers because a
  URL is admitted by one atomic script that also counts), every column with the fields the workers set
  on it, its list pages and entries, the query variants, the rechecks, the home page's links;
- the per-host politeness leases (``<prefix>:host:<host>``, shared by every run): a sorted set of leases
  with an expiry, so that all workers together send a host at most ``limits.concurrency`` requests at a
  time and start them ``limits.delay`` apart, and a killed worker's lease lapses instead of holding it.

Workers write what they fetched through the normal pipeline; the coordinator (``govaudit crawl
--distributed``) writes the columns and settles the crawl run once every worker has stopped
(:func:`finish_crawl_run`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import socket
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider

from crawler.items import ColumnItem
from crawler.messages import MessageFields, join_messages
from crawler.spiders.portal import PortalSpider, adjust_nav_only

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "govaudit"
HEARTBEAT_SECONDS = 5
HEARTBEAT_TTL = 30
POLL_SECONDS = 1.0

# Add ARGV[1] to the set KEYS[1] (first adding ARGV[3], when given): 1 added, 0 a member already,
# -1 refused because the set holds ARGV[2] members (a negative cap: no cap). One script, so that two
# workers can never both add the last member a cap allows.
CLAIM = """
if ARGV[3] ~= '' then redis.call('SADD', KEYS[1], ARGV[3]) end
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
local cap = tonumber(ARGV[2])
if cap >= 0 and redis.call('SCARD', KEYS[1]) >= cap then return -1 end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
"""

# A lease on a host: KEYS[1] the host's leases (token -> expiry, ms), KEYS[2] when the next request may
# start. ARGV: limit, delay (ms), token, lease time (ms). Returns 0 (leased) or the ms to wait. The
# clock is Redis's, so workers on machines whose clocks differ agree.
LEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(20, math.min(200, tonumber(first[2]) - now))
end
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return nxt - now end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 2)
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[2], now + tonumber(ARGV[2]), 'PX', tonumber(ARGV[2]) + 1000)
end
return 0
"""


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=30, socket_connect_timeout=10)


def run_namespace(prefix: str, audit_run_id: int) -> str:
    return f"{prefix}:{audit_run_id}"


def site_namespace(prefix: str, audit_run_id: int, site_id: str) -> str:
    return f"{run_namespace(prefix, audit_run_id)}:{site_id}"


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class SharedState:
    """One site's crawl state in Redis (see the module's docstring)."""

    def __init__(self, server: redis.Redis, namespace: str):
        self.server = server
        self.ns = namespace
        self._claim = server.register_script(CLAIM)

    def key(self, *parts: str) -> str:
        return ":".join((self.ns, *parts))

    # sets -------------------------------------------------------------------------------
    def claim(self, store: str, scope: str | None, member: str, cap: int | None = None,
              initial: str | None = None) -> int:
        key = self.key("set", store, scope) if scope is not None else self.key("set", store)
        return int(self._claim(keys=[key], args=[member, -1 if cap is None else cap, initial or ""]))

    def size(self, store: str, scope: str | None = None) -> int:
        return self.server.scard(self.key("set", store, scope) if scope is not None else self.key("set", store))

    def members(self, store: str, scope: str | None = None) -> set[str]:
        return self.server.smembers(self.key("set", store, scope) if scope is not None else self.key("set", store))

    def forget(self, store: str, member: str) -> None:
        self.server.srem(self.key("set", store), member)

    # columns ----------------------------------------------------------------------------
    def add_column(self, column: ColumnItem) -> bool:
        """Register a column; False when another worker (or an earlier call) registered it first."""
        if not self.server.hsetnx(self.key("columns"), column.url, json.dumps(dataclasses.asdict(column))):
            return False
        self.server.rpush(self.key("column_order"), column.url)
        return True

    def column(self, url: str) -> ColumnItem | None:
        raw = self.server.hget(self.key("columns"), url)
        return ColumnItem(**json.loads(raw)) if raw else None

    def set_column_fields(self, url: str, values: dict[str, Any], weak: bool = False) -> None:
        key = self.key("column", url)
        if weak:
            for name, value in values.items():
                self.server.hsetnx(key, name, json.dumps(value))
        else:
            self.server.hset(key, mapping={name: json.dumps(value) for name, value in values.items()})

    def add_entries(self, url: str, n: int) -> int:
        """Count ``n`` new entries of a column; the position of the first (unique across workers)."""
        return self.server.hincrby(self.key("entry_positions"), url, n) - n

    def columns(self) -> list[ColumnItem]:
        """Every column in the order it was registered, with what the workers set on it."""
        found = []
        for url in dict.fromkeys(self.server.lrange(self.key("column_order"), 0, -1)):
            column = self.column(url)
            if column is None:
                continue
            for name, value in self.server.hgetall(self.key("column", url)).items():
                setattr(column, name, json.loads(value))
            # Counted in the shared sets: no worker saw all of them.
            column.list_pages = self.size("pages_read", url)
            column.entries = self.size("column_entries", url)
            found.append(column)
        return found

    # maps and counters ------------------------------------------------------------------
    def put_json(self, name: str, field: str, value: Any) -> None:
        self.server.hset(self.key(name), field, json.dumps(value))

    def get_json(self, name: str, field: str) -> Any:
        raw = self.server.hget(self.key(name), field)
        return json.loads(raw) if raw is not None else None

    def pop_json(self, name: str, field: str) -> Any:
        with self.server.pipeline() as pipe:
            pipe.hget(self.key(name), field)
            pipe.hdel(self.key(name), field)
            raw, _ = pipe.execute()
        return json.loads(raw) if raw is not None else None

    def incr(self, name: str, field: str) -> int:
        return self.server.hincrby(self.key(name), field, 1)

    def count(self, name: str) -> int:
        return self.server.hlen(self.key(name))

    # activity ---------------------------------------------------------------------------
    def touch(self) -> None:
        """Something was fetched or queued: the run is not idle."""
        self.server.set(self.key("active_at"), f"{time.time():.3f}")

    def idle_seconds(self) -> float:
        raw = self.server.get(self.key("active_at"))
        return time.time() - float(raw) if raw else float("inf")

    def queue_size(self) -> int:
        return self.server.zcard(self.key("requests"))

    def clear(self) -> None:
        for key in self.server.scan_iter(match=f"{self.ns}:*", count=1000):
            self.server.delete(key)


class SharedMap:
    """A dict of sets in a Redis hash (``static_links``: a page read again in the browser may be read
    by another worker than the one that queued it)."""

    def __init__(self, state: SharedState, name: str):
        self.state = state
        self.name = name

    def __setitem__(self, key: str, value: set[str]) -> None:
        self.state.put_json(self.name, key, sorted(value))

    def pop(self, key: str, default: Any = None) -> Any:
        value = self.state.pop_json(self.name, key)
        return set(value) if value is not None else default


class DistributedPortalSpider(PortalSpider):
    """The portal spider, its crawl shared with other processes through Redis (module docstring)."""

    name = "portal"

    def __init__(self, *args: Any, redis_url: str, namespace: str, worker: str, idle_timeout: float,
                 **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.redis_url = redis_url
        self.namespace = namespace
        self.worker = worker
        self.idle_timeout = idle_timeout
        self.shared = SharedState(connect(redis_url), namespace)
        self.static_links = SharedMap(self.shared, "static_links")  # type: ignore[assignment]
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._active, signal=signals.response_received)
        crawler.signals.connect(spider._active, signal=signals.request_scheduled)
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        return spider

    def _opened(self, spider=None) -> None:
        # Scrapy's engine looks at its scheduler every 5 s when it has nothing to do; a worker waiting
        # for the requests of other workers should notice them sooner (the engine reads this attribute
        # when it starts its heartbeat, just after spider_opened).
        engine = getattr(self.crawler, "engine", None)
        if engine is not None and hasattr(engine, "_SLOT_HEARTBEAT_INTERVAL"):
            engine._SLOT_HEARTBEAT_INTERVAL = POLL_SECONDS

    async def start(self):
        # The configured columns: registered by the first worker, no-ops for the others.
        for column in self.columns.values():
            self.shared.add_column(column)
        self.shared.server.hset(self.shared.key("workers"), self.worker, json.dumps({"state": "running"}))
        self.shared.touch()
        async for request in super().start():
            yield request

    def _admit_account(self, url: str) -> bool:
        """A 政务新媒体 account page: fetched by one worker of the run."""
        return self.shared.claim("accounts", None, url) == 1

    # The home page may be read by another worker: whichever reads it says so in Redis.
    def _home_done(self) -> None:
        super()._home_done()
        self.shared.server.set(self.shared.key("home_read"), "1")

    def _home_read_elsewhere(self) -> bool:
        # Claimed by another worker: its menu's columns must be registered before this worker follows
        # the links of the configured columns' pages (a column met first as a plain page is fetched twice).
        return True

    async def _await_home(self) -> None:
        deadline = time.monotonic() + self._home_wait_seconds()
        while time.monotonic() < deadline and not self._home_read.is_set():
            if self.shared.server.get(self.shared.key("home_read")):
                return
            await asyncio.sleep(0.2)

    # Message boards: a board's rows and its messages' pages may be read by different workers; both are
    # kept in Redis and joined when the coordinator settles the run (shared_messages).
    def _keep_board_row(self, url: str, column_url: str, fields: MessageFields) -> None:
        self.shared.server.hsetnx(self.shared.key("board_rows"), url,
                                  json.dumps([column_url, dataclasses.asdict(fields)]))

    def _keep_message_page(self, url: str, fields: MessageFields) -> None:
        self.shared.put_json("message_pages", url, dataclasses.asdict(fields))

    def _active(self, *args: Any, **kwargs: Any) -> None:
        self.idle_since = None
        self.shared.touch()

    # state that lives in Redis --------------------------------------------------------------
    def _admit(self, url: str, again: bool) -> bool:
        claimed = self.shared.claim("requested", None, url, self.site.limits.pages)
        if claimed == 0:
            return again
        if claimed < 0:
            self.truncated = True
            return False
        if self._trapped(url):
            self.shared.forget("requested", url)
            return False
        return True

    def _trapped(self, url: str) -> bool:
        parts = urlsplit(url)
        if not parts.query:
            return False
        path = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        if self.shared.incr("query_variants", path) <= self.site.limits.query_variants:
            return False
        self.truncated = True
        if self.shared.claim("capped_paths", None, path) == 1:
            self.logger.warning("%s: %s: more than %d query variants: the others are not crawled", self.site.id,
                                path, self.site.limits.query_variants)
        return True

    def _admit_probe(self, url: str) -> bool:
        return self.shared.claim("probed", None, url, self.site.limits.pages) == 1

    def _recheck_number(self, url: str) -> int | None:
        done = self.shared.incr("rechecks", url) - 1
        return done if done < self.site.limits.recheck_times else None

    def known_column(self, url: str | None) -> ColumnItem | None:
        if not url:
            return None
        column = self.columns.get(url)
        if column is None:
            column = self.shared.column(url)
            if column is not None:
                self.columns[url] = column  # a column never goes away: kept once seen
        return column

    def column_changed(self, column: ColumnItem, *fields: str, weak: bool = False) -> None:
        self.shared.set_column_fields(column.url, {name: getattr(column, name) for name in fields}, weak=weak)

    def _claim(self, store: str, scope: str, member: str, cap: int | None = None, initial: str | None = None) -> int:
        return self.shared.claim(store, scope, member, cap, initial)

    def _claimed(self, store: str, scope: str) -> int:
        return self.shared.size(store, scope)

    def _entries_taken(self, column: ColumnItem, n: int) -> int:
        return self.shared.add_entries(column.url, n)

    def _set_home_links(self, links: set[str]) -> None:
        self.home_links = links
        self.shared.server.delete(self.shared.key("set", "home_links"))
        if links:
            self.shared.server.sadd(self.shared.key("set", "home_links"), *links)

    def _set_subcolumns(self, column_url: str, urls: list[str]) -> None:
        self.subcolumns[column_url] = urls
        self.shared.put_json("subcolumns", column_url, urls)

    def _add_column(self, column: ColumnItem) -> bool:
        if not self.shared.add_column(column):
            return False
        self.columns[column.url] = column
        return True

    def queued(self) -> int:
        return self.shared.size("requested")

    # the end of the crawl -------------------------------------------------------------------
    def on_idle(self) -> None:
        """Rechecks first (the portal spider's own idle); then the worker stays while the run is busy, and
        stops once the shared queue has been empty and no worker has fetched anything for
        ``idle_timeout`` seconds (scrapy-redis's ``MAX_IDLE_TIME_BEFORE_CLOSE``)."""
        super().on_idle()
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if self.shared.queue_size() > 0:
            self.idle_since = now
            raise DontCloseSpider
        idle = min(now - self.idle_since, self.shared.idle_seconds())
        if idle < self.idle_timeout:
            raise DontCloseSpider
        self.logger.info("%s: the shared queue has been idle for %.0f s: worker %s stops", self.site.id, idle,
                         self.worker)

    def worker_report(self, reason: str, counts: dict[str, int]) -> None:
        """What this worker did, for the coordinator to add up."""
        self.shared.server.hset(self.shared.key("workers"), self.worker, json.dumps(
            {"state": "closed", "reason": reason, "stats": self.crawl_stats(), "counts": counts}))

    def crawl_stats(self) -> dict[str, Any]:
        stats = super().crawl_stats()
        stats.pop("columns", None)
        stats.pop("probes", None)
        stats.pop("rechecked", None)
        return stats


def distributed_settings(site_limits, redis_url: str, namespace: str, idle_timeout: float) -> dict[str, Any]:
    """scrapy-redis's scheduler, queue and dupefilter under the run's namespace, and the host leases."""
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": f"{namespace}:requests",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_DUPEFILTER_KEY": f"{namespace}:dupefilter",
        # A worker that stops must not flush the queue the others still crawl from; the coordinator
        # deletes the run's keys when the run is done.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,  # the priority queue never blocks the reactor
        "REDIS_URL": redis_url,
        "MAX_IDLE_TIME_BEFORE_CLOSE": int(idle_timeout),
        # Spacing is the leases' job, across workers: Scrapy's own delay would add to it per process.
        "DOWNLOAD_DELAY": 0,
        # Requests a worker takes from the shared queue at once (they wait here for their lease): a few
        # more than the host limit, so that the other workers get their share of the queue.
        "CONCURRENT_REQUESTS": max(2 * site_limits.concurrency, 8),
        "GOVAUDIT_HOST_LIMIT": site_limits.concurrency,
        "GOVAUDIT_HOST_DELAY": site_limits.delay,
        "GOVAUDIT_LEASE_SECONDS": site_limits.timeout * 2 + 10,
        "GOVAUDIT_REDIS_PREFIX": namespace.split(":", 1)[0],
    }


class HostLeaseMiddleware:
    """Per-host politeness across every worker: a request is sent only with a lease on its host (at most
    ``limits.concurrency`` held at once, handed out ``limits.delay`` apart); the lease is given back with
    the answer or the failure, and lapses by itself after ``GOVAUDIT_LEASE_SECONDS`` (a killed worker).

    Placed last before the downloader, so that a wait here holds no connection and a retry or redirect
    takes a lease of its own."""

    def __init__(self, server: redis.Redis, prefix: str, limit: int, delay: float, lease_seconds: float):
        self.server = server
        self.prefix = prefix
        self.limit = max(1, limit)
        self.delay_ms = int(delay * 1000)
        self.lease_ms = int(lease_seconds * 1000)
        self._lease = server.register_script(LEASE)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(connect(settings["REDIS_URL"]), settings.get("GOVAUDIT_REDIS_PREFIX", DEFAULT_PREFIX),
                   settings.getint("GOVAUDIT_HOST_LIMIT", 2), settings.getfloat("GOVAUDIT_HOST_DELAY", 0.0),
                   settings.getfloat("GOVAUDIT_LEASE_SECONDS", 60.0))

    def _keys(self, request: Request) -> list[str]:
        host = request.meta.get("download_slot") or urlsplit(request.url).netloc
        return [f"{self.prefix}:host:{host}:leases", f"{self.prefix}:host:{host}:next"]

    async def process_request(self, request: Request, spider=None):
        keys = self._keys(request)
        token = uuid.uuid4().hex
        while True:
            wait = int(self._lease(keys=keys, args=[self.limit, self.delay_ms, token, self.lease_ms]))
            if wait == 0:
                break
            await asyncio.sleep(wait / 1000)
        request.meta["govaudit_lease"] = (keys[0], token)
        return None

    def _release(self, request: Request) -> None:
        lease = request.meta.pop("govaudit_lease", None)
        if lease is not None:
            self.server.zrem(*lease)

    def process_response(self, request: Request, response, spider=None):
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider=None):
        self._release(request)
        return None


def add_up(reports: list[dict]) -> dict[str, Any]:
    """The crawl stats of a run from its workers' reports: counts added, flags or-ed, time the longest."""
    total: dict[str, Any] = {}
    for report in reports:
        for name, value in (report.get("stats") or {}).items():
            if isinstance(value, bool):
                total[name] = total.get(name, False) or value
            elif isinstance(value, (int, float)):
                total[name] = (max if name == "duration_s" else sum)((total.get(name, 0), value))
            elif isinstance(value, list):
                total[name] = sorted({*total.get(name, []), *value})
            else:
                total.setdefault(name, value)
    if "render_seconds" in total:
        total["render_seconds"] = round(total["render_seconds"], 2)
    return total


def shared_columns(state: SharedState) -> list[ColumnItem]:
    columns = state.columns()
    home_links = state.members("home_links")
    subcolumns = {column.url: state.get_json("subcolumns", column.url) or [] for column in columns}
    adjust_nav_only(columns, home_links, subcolumns)
    return columns


def finish_crawl_run(factory, state: SharedState, run_id: int) -> dict[str, Any]:
    """Settle a crawl run every worker has stopped crawling: its columns (from Redis), the links'
    outcomes, the documents' columns, and the stats added up over the workers. Marks it ``crawled``
    when every worker stopped normally; returns the stats."""
    from crawler.pipelines import settle_crawl_run
    from govaudit.models import CrawlRun

    reports = [json.loads(raw) for raw in state.server.hgetall(state.key("workers")).values()]
    closed = [r for r in reports if r.get("state") == "closed"]
    stats = add_up(closed)
    stats["probes"] = state.size("probed")
    stats["rechecked"] = state.count("rechecks")
    stats["workers"] = len(reports)
    stats["pages_by_worker"] = {name: (json.loads(raw).get("stats") or {}).get("pages", 0)
                                for name, raw in state.server.hgetall(state.key("workers")).items()}
    stats["capped_paths"] = sorted(state.members("capped_paths"))
    stats["truncated"] = bool(stats.get("truncated")) or bool(stats["capped_paths"])
    counts: dict[str, int] = {}
    for report in closed:
        for table, n in (report.get("counts") or {}).items():
            counts[table] = counts.get(table, 0) + n
    unfinished = sorted(name for name, raw in state.server.hgetall(state.key("workers")).items()
                        if json.loads(raw).get("reason") != "finished")
    if unfinished:
        stats["unfinished_workers"] = unfinished
    reasons = {r.get("reason") for r in closed}
    reason = "finished" if reports and len(closed) == len(reports) and reasons == {"finished"} else \
        ",".join(sorted(str(r) for r in reasons - {"finished"})) or "unfinished"
    columns = shared_columns(state)
    stats["columns"] = len(columns)
    with factory.begin() as session:
        as_of = session.get(CrawlRun, run_id).as_of
        settle_crawl_run(session, run_id, columns, stats, counts, reason, resumed=False,
                         messages=shared_messages(state, as_of))
    return stats


def shared_messages(state: SharedState, as_of) -> list:
    """The boards' messages of a distributed crawl: every worker's board rows joined with every worker's
    message pages (as ``PortalSpider.message_items`` does in one process)."""
    rows = {}
    for url, raw in state.server.hgetall(state.key("board_rows")).items():
        column_url, fields = json.loads(raw)
        rows[url.decode() if isinstance(url, bytes) else url] = (column_url, MessageFields(**fields))
    pages = {(url.decode() if isinstance(url, bytes) else url): MessageFields(**json.loads(raw))
             for url, raw in state.server.hgetall(state.key("message_pages")).items()}
    return join_messages(rows, pages, as_of)
