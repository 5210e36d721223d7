"""Distributed crawling (crawler.distributed, govaudit.distributed): crawler processes that share one
scrapy-redis queue and dupefilter per site, through the Redis server on 127.0.0.1:6379."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from govaudit.models import Column, CrawlRun, Document, Link, Listing, Page, Probe
from tests.conftest import ANCHOR

REDIS_SERVER = os.environ.get("GOVAUDIT_TEST_REDIS", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis_prefix():
    """A key prefix of its own on the Redis server, deleted afterwards; in CI an unreachable server fails."""
    import redis

    server = redis.Redis.from_url(REDIS_SERVER, decode_responses=True, socket_connect_timeout=3)
    try:
        server.ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_SERVER} is required in CI: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_SERVER}: {exc}")
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in server.scan_iter(match=f"{prefix}:*", count=1000):
        server.delete(key)
    server.close()


def govaudit(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "govaudit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env, **kwargs)


def distributed(config: Path, db: str, prefix: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    return govaudit("crawl", "--distributed", "--redis", REDIS_SERVER, "--redis-prefix", prefix, "--config",
                    str(config), "--db", db, "--out", str(cwd / "out"), "--as-of", ANCHOR.isoformat(), *extra,
                    cwd=cwd)


def stored(db: str) -> dict[str, Counter]:
    """What a run stored, per table, as a multiset of rows by site (ids, times and orders left out)."""
    engine = create_engine(db)
    rows: dict[str, Counter] = {}
    with Session(engine) as session:
        site_of = dict(session.execute(select(CrawlRun.id, CrawlRun.site_id)).all())

        def take(name, model, *fields):
            rows[name] = Counter(
                (site_of[r.crawl_run_id], *(getattr(r, f) for f in fields))
                for r in session.scalars(select(model)))

        take("pages", Page, "url", "final_url", "status", "error", "kind", "column_url", "content_hash", "title")
        # A page read in the browser is hashed as scrapy-playwright answers it, the DOM at the load event:
        # whether a script's own fetch (the demo's list.json) has landed by then is a matter of timing.
        rendered = {(site_of[r.crawl_run_id], r.url) for r in session.scalars(select(Page).where(Page.rendered_by_js))}
        rows["pages"] = Counter({(row[:7] + (None,) + row[8:] if row[:2] in rendered else row): n
                                 for row, n in rows["pages"].items()})
        take("links", Link, "from_url", "to_url", "kind", "hidden", "status", "error")
        take("listings", Listing, "column_url", "page_url", "url", "title", "date")
        take("documents", Document, "url", "column_url", "index_number", "published_date", "validity")
        take("probes", Probe, "url", "kind", "status", "error")
        take("columns", Column, "url", "name", "category", "source", "status", "error", "entries", "list_pages",
             "placeholder", "nav_only", "single_page", "truncated", "reader")
        stats = {r.site_id: r.stats for r in session.scalars(select(CrawlRun))}
    engine.dispose()
    rows["stats"] = stats  # type: ignore[assignment]
    return rows


def findings(db: str, cwd: Path) -> Counter:
    listed = govaudit("findings", "--db", db, "--format", "json", cwd=cwd)
    assert listed.returncode == 0, listed.stderr[-3000:]
    return Counter((f["check"], f["site"], f["url"], f["message"], f["fingerprint"]) for f in json.loads(listed.stdout))


def fetched(portal) -> Counter:
    """The demo servers' request counts, without robots.txt (each crawler process reads it once a host)."""
    return Counter({k: n for k, n in portal.requests.items() if not k[2].startswith("/robots.txt")})


def test_two_workers_store_what_one_process_does(demo_portal, tmp_path, redis_prefix):
    config = demo_portal.write_config(tmp_path / "sites.yml")
    single_dir, dist_dir = tmp_path / "single", tmp_path / "dist"
    single_dir.mkdir()
    dist_dir.mkdir()
    single_db, dist_db = f"sqlite:///{single_dir}/audit.db", f"sqlite:///{dist_dir}/audit.db"

    done = govaudit("run", "--config", str(config), "--db", single_db, "--out", str(single_dir / "out"),
                    "--as-of", ANCHOR.isoformat(), cwd=single_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    single_fetched = fetched(demo_portal)
    single_robots = Counter({k: n for k, n in demo_portal.requests.items() if k[2] == "/robots.txt"})
    demo_portal.requests.clear()

    done = distributed(config, dist_db, redis_prefix, dist_dir, "--workers", "2", "--idle-timeout", "3")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (dist_dir / "out" / "index.html").is_file()
    dist_fetched = fetched(demo_portal)

    one, two = stored(single_db), stored(dist_db)
    for table in ("pages", "links", "listings", "documents", "probes", "columns"):
        assert two[table] == one[table], (table, sorted(two[table] - one[table])[:5], sorted(one[table] - two[table])[:5])
    # Nothing fetched twice: every URL asked for as often as the single process asked for it.
    assert dist_fetched == single_fetched, (sorted(dist_fetched - single_fetched), sorted(single_fetched - dist_fetched))
    # robots.txt: read by each worker for itself (a 503 one with its retries), so at most twice as often.
    robots = {k: n for k, n in demo_portal.requests.items() if k[2] == "/robots.txt"}
    assert robots and all(n <= 2 * single_robots[k] for k, n in robots.items()), (robots, single_robots)
    assert findings(dist_db, dist_dir) == findings(single_db, single_dir)

    # Both processes crawled, and the stats add up to the single crawl's.
    by_worker: Counter = Counter()
    for site, stats in two["stats"].items():
        assert stats["workers"] == 2 and stats["close_reason"] == "finished", (site, stats)
        by_worker.update(stats["pages_by_worker"])
        for name in ("pages", "errors", "probes", "columns", "rechecked", "recovered", "truncated"):
            assert stats[name] == one["stats"][site][name], (site, name)
    assert len(by_worker) == 2 and all(n > 0 for n in by_worker.values()), by_worker


class SlowSite:
    """A site of ``pages`` pages linked from its home page, each answered after ``delay`` seconds; it
    records how many requests it was serving at most at once."""

    def __init__(self, pages: int, delay: float):
        self.pages, self.delay = pages, delay
        self.active = self.max_active = 0
        self.lock = threading.Lock()
        self.paths: Counter[str] = Counter()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                with site.lock:
                    site.active += 1
                    site.max_active = max(site.max_active, site.active)
                    site.paths[self.path] += 1
                try:
                    time.sleep(site.delay)
                    if self.path == "/":
                        links = "".join(f'<li><a href="/p/{n}.html">第{n}号文件</a></li>' for n in range(site.pages))
                        body = f"<html><head><title>测试县人民政府</title></head><body><ul>{links}</ul></body></html>"
                        status = 200
                    elif self.path.startswith("/p/"):
                        body = f"<html><head><title>文件{self.path}</title></head><body><p>正文</p></body></html>"
                        status = 200
                    else:
                        body, status = "<html><body>404</body></html>", 404
                    data = body.encode()
                finally:
                    # Counted out before the answer is sent: once it is, the client may send its next
                    # request before this thread runs again (a busy machine), which is not two at once.
                    with site.lock:
                        site.active -= 1
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.host = f"127.0.0.1:{self.server.server_address[1]}"

    def config(self, path: Path, concurrency: int, max_pages: int) -> Path:
        path.write_text(f"""sites:
  - id: slow
    name: 测试县人民政府
    url: http://{self.host}/
    unit: 测试县人民政府办公室
    render: static
    screenshots: false
    robots: false
    limits: {{pages: {max_pages}, depth: 2, concurrency: {concurrency}, delay: 0, timeout: 10}}
""", encoding="utf-8")
        return path

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_site():
    site = SlowSite(pages=40, delay=0.3)
    yield site
    site.close()


def test_a_worker_waits_for_the_home_page_another_worker_reads(redis_prefix):
    """The worker that did not get the home page asks for no column before the one that did has read it
    (and registered the columns of its menu): else a menu column met first as a plain page, in a
    configured column's navigation, would be fetched twice."""
    import asyncio

    from scrapy.utils.test import get_crawler

    from crawler.distributed import DistributedPortalSpider
    from govaudit.config import SiteConfig

    site = SiteConfig(id="s", name="测试站", url="http://s.test/", unit="办公室",
                      columns=[{"name": "通知公告", "url": "http://s.test/tzgg/", "category": "notice"}])

    def worker(name: str) -> DistributedPortalSpider:
        return DistributedPortalSpider.from_crawler(
            get_crawler(DistributedPortalSpider), site=site, run_id=1, as_of=ANCHOR, redis_url=REDIS_SERVER,
            namespace=f"{redis_prefix}:1:s", worker=name, idle_timeout=3)

    async def scenario() -> None:
        one, two = worker("one"), worker("two")
        first = one.start()
        assert (await anext(first)).url == "http://s.test/"
        waiting = asyncio.ensure_future(anext(two.start()))
        await asyncio.sleep(1.0)
        assert not waiting.done()
        one._home_done()  # worker one has read the home page
        assert (await asyncio.wait_for(waiting, 3)).url == "http://s.test/tzgg/"
        # Worker one asks for no column the other asked for.
        assert [request.url async for request in first] == []

    asyncio.run(scenario())


def test_host_limit_holds_across_workers(slow_site, tmp_path, redis_prefix):
    """Two workers, each allowed 2 requests per host by Scrapy, together never send more than the site's 2."""
    config = slow_site.config(tmp_path / "sites.yml", concurrency=2, max_pages=100)
    db = f"sqlite:///{tmp_path}/audit.db"
    done = distributed(config, db, redis_prefix, tmp_path, "--workers", "2", "--idle-timeout", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert slow_site.max_active == 2  # in parallel, but never past the limit
    assert all(n == 1 for n in slow_site.paths.values()), slow_site.paths
    assert len(slow_site.paths) == 41
    rows = stored(db)
    assert len(rows["pages"]) == 41
    stats = rows["stats"]["slow"]
    assert stats["workers"] == 2 and all(n > 0 for n in stats["pages_by_worker"].values()), stats


def test_host_limit_holds_in_one_process_with_no_delay(slow_site, tmp_path):
    """One crawler, ``concurrency: 2, delay: 0``: the site never sees more than 2 requests at once (Scrapy
    2.19 alone sent 9 at once with no download delay; crawler.crawl keeps a minimal one)."""
    config = slow_site.config(tmp_path / "sites.yml", concurrency=2, max_pages=100)
    done = govaudit("run", "--config", str(config), "--db", f"sqlite:///{tmp_path}/audit.db", "--out",
                    str(tmp_path / "out"), "--as-of", ANCHOR.isoformat(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(slow_site.paths) == 41
    assert slow_site.max_active == 2  # in parallel, but never past the limit


def test_page_cap_holds_across_workers(slow_site, tmp_path, redis_prefix):
    config = slow_site.config(tmp_path / "sites.yml", concurrency=4, max_pages=10)
    db = f"sqlite:///{tmp_path}/audit.db"
    done = distributed(config, db, redis_prefix, tmp_path, "--workers", "2", "--idle-timeout", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert sum(slow_site.paths.values()) == 10
    rows = stored(db)
    assert sum(rows["pages"].values()) == 10
    assert rows["stats"]["slow"]["truncated"] is True


def test_a_worker_joins_a_run_and_stops_when_the_queue_is_idle(slow_site, tmp_path, redis_prefix):
    """A coordinator with no crawler of its own waits; a worker joins with --run N, crawls everything and
    stops by itself once the queue has been idle; the coordinator then audits."""
    config = slow_site.config(tmp_path / "sites.yml", concurrency=2, max_pages=100)
    db = f"sqlite:///{tmp_path}/audit.db"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    coordinator = subprocess.Popen(
        [sys.executable, "-m", "govaudit", "crawl", "--distributed", "--redis", REDIS_SERVER, "--redis-prefix",
         redis_prefix, "--config", str(config), "--db", db, "--out", str(tmp_path / "out"), "--as-of",
         ANCHOR.isoformat(), "--workers", "0", "--idle-timeout", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = coordinator.stderr.readline()
        while line and "--run" not in line:
            line = coordinator.stderr.readline()
        assert "--run 1" in line, line
        assert not slow_site.paths  # nothing crawled before a worker joins
        worker = govaudit("crawl", "--distributed", "--redis", REDIS_SERVER, "--redis-prefix", redis_prefix,
                          "--config", str(config), "--db", db, "--run", "1", cwd=tmp_path)
        assert worker.returncode == 0, worker.stderr[-3000:]  # it stopped by itself: the queue went idle
        _out, err = coordinator.communicate(timeout=300)
        assert coordinator.returncode == 0, err[-3000:]
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.wait()
    assert len(slow_site.paths) == 41 and all(n == 1 for n in slow_site.paths.values())
    rows = stored(db)
    assert rows["stats"]["slow"]["workers"] == 1 and rows["stats"]["slow"]["close_reason"] == "finished"
    # The run is done: its keys are gone, and joining it again is refused.
    late = govaudit("crawl", "--distributed", "--redis", REDIS_SERVER, "--redis-prefix", redis_prefix,
                    "--config", str(config), "--db", db, "--run", "1", cwd=tmp_path)
    assert late.returncode == 1 and "no distributed run 1" in late.stderr


def test_unreachable_redis_is_a_clear_error(tmp_path, slow_site):
    config = slow_site.config(tmp_path / "sites.yml", concurrency=2, max_pages=10)
    done = govaudit("crawl", "--distributed", "--redis", "redis://:s3cret@127.0.0.1:1/0", "--config", str(config),
                    "--db", f"sqlite:///{tmp_path}/audit.db", cwd=tmp_path)
    assert done.returncode == 1 and "Redis at redis://:***@127.0.0.1:1/0 is not reachable" in done.stderr
    assert "s3cret" not in done.stderr
    assert not slow_site.paths


def test_lease_script_limits_a_host_and_lapses(redis_prefix):
    """The lease itself: at most ``limit`` at once, handed back on release, lapsing on its own."""
    from crawler.distributed import HostLeaseMiddleware, connect

    middleware = HostLeaseMiddleware(connect(REDIS_SERVER), redis_prefix, limit=2, delay=0, lease_seconds=0.5)
    keys = [f"{redis_prefix}:host:h:leases", f"{redis_prefix}:host:h:next"]

    def lease(token: str) -> int:
        return int(middleware._lease(keys=keys, args=[2, 0, token, 500]))

    assert lease("a") == 0 and lease("b") == 0
    assert lease("c") > 0  # the third waits
    middleware.server.zrem(keys[0], "a")
    assert lease("c") == 0
    assert lease("d") > 0
    time.sleep(0.6)  # b and c were never given back (a killed worker): they lapse
    assert lease("d") == 0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_a_killed_worker_fails_the_run_and_keeps_what_was_stored(slow_site, tmp_path, redis_prefix):
    """A worker killed outright loses the requests it had taken from the queue: the site's crawl run is
    failed (naming the worker), not audited with holes; the other worker finishes, the rows stay."""
    import signal

    config = slow_site.config(tmp_path / "sites.yml", concurrency=2, max_pages=100)
    db = f"sqlite:///{tmp_path}/audit.db"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    coordinator = subprocess.Popen(
        [sys.executable, "-m", "govaudit", "crawl", "--distributed", "--redis", REDIS_SERVER, "--redis-prefix",
         redis_prefix, "--config", str(config), "--db", db, "--out", str(tmp_path / "out"), "--as-of",
         ANCHOR.isoformat(), "--workers", "2", "--idle-timeout", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while sum(slow_site.paths.values()) < 8 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [pid for pid in children(coordinator.pid)
                   if "crawler.crawl" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)
        _out, err = coordinator.communicate(timeout=300)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.wait()
    assert coordinator.returncode == 1, err[-3000:]  # its only site failed
    engine = create_engine(db)
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun)).one()
        assert run.status == "failed" and "did not finish: worker(s)" in run.error, run.error
        assert session.scalars(select(Page)).first() is not None  # what was stored stays
    engine.dispose()


def test_parallel_audits_on_postgresql(slow_site, tmp_path, redis_prefix, pg_url):
    """Two sites, two workers, PostgreSQL: the sites are audited in two processes at once."""
    config = slow_site.config(tmp_path / "sites.yml", concurrency=2, max_pages=100)
    text = config.read_text(encoding="utf-8")
    config.write_text(text + text.split("\n", 1)[1].replace("id: slow", "id: slow-b"), encoding="utf-8")
    done = distributed(config, pg_url, redis_prefix, tmp_path, "--workers", "2", "--idle-timeout", "2",
                       "--jobs", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert all(n == 2 for n in slow_site.paths.values()), slow_site.paths  # once per site
    rows = stored(pg_url)
    for site in ("slow", "slow-b"):
        assert sum(n for key, n in rows["pages"].items() if key[0] == site) == 41
    engine = create_engine(pg_url)
    with Session(engine) as session:
        assert {r.status for r in session.scalars(select(CrawlRun))} == {"completed"}
    engine.dispose()


def test_lease_script_spaces_requests_by_the_delay(redis_prefix):
    """``limits.delay`` holds across workers: after one lease, the next waits about that long."""
    from crawler.distributed import HostLeaseMiddleware, connect

    middleware = HostLeaseMiddleware(connect(REDIS_SERVER), redis_prefix, limit=4, delay=0.3, lease_seconds=5)
    keys = [f"{redis_prefix}:host:d:leases", f"{redis_prefix}:host:d:next"]

    def lease(token: str) -> int:
        return int(middleware._lease(keys=keys, args=[4, 300, token, 5000]))

    assert lease("a") == 0
    wait = lease("b")
    assert 200 < wait <= 300
    time.sleep(wait / 1000 + 0.02)
    assert lease("b") == 0
