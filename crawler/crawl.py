"""Crawl configured sites into existing crawl runs, in this process (one Scrapy crawler per site).

``govaudit run`` starts this as a child process (``python -m crawler.crawl``): Twisted's reactor cannot
be restarted, and a crawl that crashes or is killed must not take the caller down with it. Progress is
printed to stdout as one JSON object per line; Scrapy's log goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings
from scrapy.utils.reactor import install_reactor
from twisted.internet import task

from crawler.gctune import tune_gc
from crawler.spiders.portal import PortalSpider
from govaudit import user_agent
from govaudit.browser import chromium_path, launch_options
from govaudit.config import Config, SiteConfig, load_config
from govaudit.db import masked_url


def wants_browser(site: SiteConfig) -> bool:
    return site.render != "static" or any(column.render in ("js", "auto") for column in site.columns)


def browser_settings(site: SiteConfig) -> dict:
    """scrapy-playwright as the download handler: requests marked for the browser go through Chromium,
    every other request through Scrapy's own handler. The browser starts on the first such request."""
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch_options(site.limits.timeout),
        "PLAYWRIGHT_MAX_CONTEXTS": 2,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": site.limits.concurrency,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": site.limits.timeout * 1000,
    }


def cache_settings(cache_dir: Path) -> dict:
    """Incremental crawling: every HTML answer is stored, and asked for again next time with its validators
    (If-None-Match / If-Modified-Since), so an unchanged page costs a 304. Error answers are never stored:
    a 404 must be seen again, not remembered."""
    return {
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.middlewares.SafeTargetMiddleware": 50,
            # Scrapy's, fixed: every request waiting for a host's robots.txt is judged by it.
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.middlewares.RobotsTxtMiddleware": 100,
            "crawler.middlewares.RetryAfterMiddleware": 560,
            "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None,
            "crawler.middlewares.AuditHttpCacheMiddleware": 900,
        },
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": str(cache_dir.resolve()),
        "HTTPCACHE_POLICY": "crawler.middlewares.AuditCachePolicy",
        # One SQLite file a site (crawler.cache), not Scrapy's seven files a page.
        "HTTPCACHE_STORAGE": "crawler.cache.SqliteCacheStorage",
        "HTTPCACHE_IGNORE_HTTP_CODES": list(range(300, 600)),
        # What unchanged pages read as, so that they are not read again (crawler.reuse).
        "GOVAUDIT_READINGS": str((cache_dir / "readings.sqlite").resolve()),
    }


JOB_MARKER = "govaudit-run.json"


def prepare_job_dir(job_dir: Path, site_id: str, run_id: int) -> None:
    """Scrapy's JOBDIR for one site's crawl: its request queue and the spider's state outlive an
    interrupted crawl there. A folder left by another run's crawl is stale and starts afresh."""
    marker = job_dir / JOB_MARKER
    try:
        owner = json.loads(marker.read_text())
    except (OSError, ValueError):
        owner = None
    if owner != {"site": site_id, "run": run_id}:
        shutil.rmtree(job_dir, ignore_errors=True)
    job_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"site": site_id, "run": run_id}))


# Scrapy 2.19 with no download delay hands every queued request of a host to the network before any of
# them counts as in flight, so CONCURRENT_REQUESTS_PER_DOMAIN does not hold (a site limited to 2 got 10 at
# once). Any delay makes the downloader take one request per tick, and the limit holds; 1 ms costs nothing.
MIN_DOWNLOAD_DELAY = 0.001


def site_settings(base: Settings, config: Config, site: SiteConfig, db_url: str, run_id: int,
                  browser: bool = False, cache_dir: Path | None = None, job_dir: Path | None = None) -> Settings:
    """Scrapy settings for one site: its limits, robots switch, browser, cache, and where to store."""
    settings = base.copy()
    limits = site.limits
    settings.setdict(
        {
            "CONCURRENT_REQUESTS_PER_DOMAIN": limits.concurrency,
            "DOWNLOAD_DELAY": max(limits.delay, MIN_DOWNLOAD_DELAY),
            "DOWNLOAD_TIMEOUT": limits.timeout,
            "RETRY_AFTER_MAX": limits.retry_after_max,
            "ROBOTSTXT_OBEY": site.robots,
            "GOVAUDIT_DB": db_url,
            "GOVAUDIT_RUN_ID": run_id,
            "USER_AGENT": user_agent(config.crawler.contact),
            "GOVAUDIT_READERS": config.crawler.readers,
        },
        priority="spider",
    )
    if browser:
        settings.setdict(browser_settings(site), priority="spider")
    if cache_dir is not None:
        settings.setdict(cache_settings(cache_dir), priority="spider")
    if job_dir is not None:
        settings.set("JOBDIR", str(job_dir.resolve()), priority="spider")
    return settings


class MaskCredentials(logging.Filter):
    """Every line of the crawl log with passwords in URLs masked (``user:***@``): the spider stores
    URLs masked already; this covers what Scrapy and other libraries print of a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = masked_url(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = masked_url(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = masked_url(record.exc_text)
        return True


def mask_credentials_in_logs() -> None:
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskCredentials) for f in handler.filters):
            handler.addFilter(MaskCredentials())


def stop_on_signals(process: CrawlerProcess) -> None:
    """SIGINT or SIGTERM, once or many times, stop the crawl gracefully: the requests under way finish
    and the queue and state are kept for a resumed crawl. (Scrapy's own handlers stop uncleanly at
    the second signal; a terminal's Ctrl-C and a parent forwarding it would be two.) SIGKILL still kills."""
    from twisted.internet import reactor

    stopping = []

    def stop() -> None:
        logging.getLogger(__name__).warning("interrupted: stopping the crawl; running it again today resumes it")
        process.stop()  # the crawlers close with reason "shutdown"; start() then stops the reactor

    def handler(signum, _frame) -> None:
        if not stopping:
            stopping.append(signum)
            reactor.callFromThread(stop)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)


@dataclass(frozen=True)
class Distributed:
    """This process is one worker of a distributed crawl (crawler.distributed)."""

    redis_url: str
    namespace: str  # <prefix>:<audit run>; each site's keys are under <namespace>:<site>
    idle_timeout: float
    worker: str


def distributed_site_settings(settings: Settings, site: SiteConfig, dist: Distributed) -> None:
    from crawler.distributed import distributed_settings

    namespace = f"{dist.namespace}:{site.id}"
    settings.setdict(distributed_settings(site.limits, dist.redis_url, namespace, dist.idle_timeout),
                     priority="spider")
    settings.set("GOVAUDIT_NAMESPACE", namespace, priority="spider")
    settings.set("GOVAUDIT_REDIS_PREFIX", dist.namespace.split(":", 1)[0], priority="spider")
    # The readings store (crawler.reuse) is one SQLite file a crawl holds a write transaction on: workers
    # sharing a machine would lock each other out. They read every page; the HTTP cache still saves the bytes.
    settings.set("GOVAUDIT_READINGS", None, priority="spider")
    middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    middlewares["crawler.distributed.HostLeaseMiddleware"] = 950
    settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="spider")


def crawl(config: Config, db_url: str, runs: dict[str, int], as_of: dt.date, progress: bool = True,
          cache_root: Path | None = None, full: bool = False, job_root: Path | None = None,
          distributed: Distributed | None = None) -> None:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    base = get_project_settings()
    # Crawlers built here (one per site, with its own settings) expect the reactor in place.
    install_reactor(base["TWISTED_REACTOR"], base["ASYNCIO_EVENT_LOOP"])
    process = CrawlerProcess(base)  # its root log handler: LOG_INSTALL_ROOT_HANDLER, True by default
    mask_credentials_in_logs()
    # Scrapy filters by its handler's level: each item's DEBUG "Scraped from" record was built and then
    # dropped (26,000 records on an unchanged 10k-page night). Its loggers get the level the log is kept at.
    logging.getLogger("scrapy").setLevel(base.get("LOG_LEVEL") or "DEBUG")
    spiders: dict[str, PortalSpider] = {}

    def opened(spider: PortalSpider) -> None:
        spiders[spider.site.id] = spider
        if progress:  # the first event as soon as the crawl is open (a small site may be done within 1 s)
            report_one(spider)

    def report_one(spider: PortalSpider) -> None:
        print(json.dumps({"site": spider.site.id, "pages": spider.pages_done, "queued": spider.queued(),
                          "errors": spider.errors}), flush=True)

    for site_id, run_id in runs.items():
        site = config.site(site_id)
        browser = wants_browser(site) and chromium_path() is not None
        if wants_browser(site) and not browser:
            logging.getLogger(__name__).warning(
                "%s: render %s asks for a browser, but no Chromium was found: reading HTML only",
                site.id, site.render)
        cache_dir = None
        if cache_root is not None:
            cache_dir = cache_root / site.id
            if full:  # forget what was stored: every page is fetched whole, and stored afresh
                shutil.rmtree(cache_dir, ignore_errors=True)
        job_dir = None
        if job_root is not None and distributed is None:  # a distributed crawl's queue is in Redis
            job_dir = job_root / site.id
            prepare_job_dir(job_dir, site.id, run_id)
        settings = site_settings(base, config, site, db_url, run_id, browser, cache_dir, job_dir)
        kwargs = {}
        spider_cls = PortalSpider
        if distributed is not None:
            from crawler.distributed import DistributedPortalSpider

            distributed_site_settings(settings, site, distributed)
            spider_cls = DistributedPortalSpider
            kwargs = {"redis_url": distributed.redis_url, "namespace": f"{distributed.namespace}:{site.id}",
                      "worker": distributed.worker, "idle_timeout": distributed.idle_timeout}
        crawler = Crawler(spider_cls, settings)
        crawler.signals.connect(opened, signal=signals.spider_opened, weak=False)
        process.crawl(crawler, site=site, run_id=run_id, as_of=as_of, browser=browser, **kwargs)
    from twisted.internet import reactor

    if progress:
        def report() -> None:
            for spider in spiders.values():
                report_one(spider)

        loop = task.LoopingCall(report)
        reactor.callWhenRunning(loop.start, 1.0, now=False)
    if distributed is not None:
        from crawler.distributed import HEARTBEAT_SECONDS, HEARTBEAT_TTL, connect

        server = connect(distributed.redis_url)

        server.sadd(f"{distributed.namespace}:workers", distributed.worker)

        def heartbeat() -> None:  # the coordinator waits for the workers whose heartbeat is alive
            try:
                server.set(f"{distributed.namespace}:alive:{distributed.worker}", "1", ex=HEARTBEAT_TTL)
            except Exception as exc:  # noqa: BLE001 - Redis away for a moment: the next beat tries again
                logging.getLogger(__name__).warning("heartbeat to Redis failed: %s", exc)

        beat = task.LoopingCall(heartbeat)
        reactor.callWhenRunning(beat.start, HEARTBEAT_SECONDS, now=True)
    reactor.callWhenRunning(stop_on_signals, process)
    process.start(install_signal_handlers=False)
    if distributed is not None:
        server.delete(f"{distributed.namespace}:alive:{distributed.worker}")
    if job_root is not None:
        for site_id, spider in spiders.items():
            if spider.close_reason == "finished":  # done: nothing to resume
                shutil.rmtree(job_root / site_id, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.crawl", description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--db", default=os.environ.get("GOVAUDIT_DB"),
                        help="the audit database (default: $GOVAUDIT_DB, which keeps a password off the command line)")
    parser.add_argument("--run", action="append", required=True, metavar="SITE=RUN_ID")
    parser.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--cache-dir", type=Path, help="HTTP cache for incremental crawls (one folder a site)")
    parser.add_argument("--full", action="store_true", help="ignore the HTTP cache: fetch every page whole")
    parser.add_argument("--job-dir", type=Path,
                        help="Scrapy JOBDIR root (one folder a site): an interrupted crawl is resumed from it")
    parser.add_argument("--distributed", action="store_true",
                        help="one worker of a distributed crawl: the queue and the crawl's state are in Redis")
    parser.add_argument("--redis", default=os.environ.get("GOVAUDIT_REDIS"),
                        help="Redis URL of a distributed crawl (default: $GOVAUDIT_REDIS)")
    parser.add_argument("--namespace", help="the run's Redis key prefix (<prefix>:<audit run>)")
    parser.add_argument("--idle-timeout", type=float, default=30.0,
                        help="a distributed worker stops once the shared queue has been idle this long")
    parser.add_argument("--worker", help="this worker's name in the run (default: host-pid-random)")
    args = parser.parse_args(argv)
    if not args.db:
        parser.error("--db or $GOVAUDIT_DB is required")
    tune_gc()
    config = load_config(args.config)
    runs = {}
    for pair in args.run:
        site_id, _, run_id = pair.partition("=")
        runs[site_id] = int(run_id)
    distributed = None
    if args.distributed:
        if not args.redis or not args.namespace:
            parser.error("--distributed needs --redis and --namespace")
        from crawler.distributed import worker_id

        distributed = Distributed(args.redis, args.namespace, args.idle_timeout, args.worker or worker_id())
    crawl(config, args.db, runs, args.as_of, progress=not args.no_progress, cache_root=args.cache_dir,
          full=args.full, job_root=args.job_dir, distributed=distributed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
