"""Scrapy settings shared by every site; per-site limits are applied by crawler.crawl."""

from govaudit import user_agent

BOT_NAME = "govaudit"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = user_agent()
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 16
# Items of one response processed at once. The pipeline writes synchronously into batches, so running
# several at a time gains nothing, while Scrapy starts one asyncio task per slot for every response:
# its default of 100 cost about 100 tasks a page, the largest share of an unchanged night's crawl time.
CONCURRENT_ITEMS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
DOWNLOAD_TIMEOUT = 20
# A page larger than this is reported, not loaded whole.
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_TIMES = 2
# Scrapy's caching resolver, except that RFC 6761's .invalid names fail at once, with no query sent.
TWISTED_DNS_RESOLVER = "crawler.resolver.ReservedNameResolver"
REDIRECT_MAX_TIMES = 10

# Every status reaches the spider: a 404 is a fact to record, not an error to drop.
HTTPERROR_ALLOW_ALL = True
# The spider keeps its own depth (pagination does not count as a level).
DEPTH_LIMIT = 0
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.SafeTargetMiddleware": 50,
    # Scrapy's, fixed: every request waiting for a host's robots.txt is judged by it.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,
    "crawler.middlewares.RetryAfterMiddleware": 560,
}
ITEM_PIPELINES = {
    "crawler.pipelines.AuditDatabasePipeline": 300,
}
# With a JOBDIR: the newest requests of each queue stay in memory, the older ones on disk (crawler.queues).
SCHEDULER_DISK_QUEUE = "crawler.queues.SpillingLifoDiskQueue"
STATS_CLASS = "crawler.stats.PlainStatsCollector"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
