"""The baseline of ``bench/run``: a bare Scrapy spider over the same portal, with govaudit's Scrapy settings
(``crawler.settings`` and the site's limits as ``crawler.crawl`` applies them) but nothing else: it
follows every link on the site's host, GETs each outside link once without following it, parses
nothing beyond the links and stores nothing.

    .venv/bin/python bench/bare_spider.py --url http://127.0.0.1:18000/ --concurrency 8
Prints one JSON line: responses, seconds, pages per second, bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/incremental.py would shadow the ``incremental`` package Twisted imports: run from the project root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from scrapy import Request, Spider  # noqa: E402
from scrapy.crawler import CrawlerProcess  # noqa: E402
from scrapy.utils.project import get_project_settings  # noqa: E402


class BareSpider(Spider):
    name = "bare"

    def __init__(self, url: str, **kwargs):
        super().__init__(**kwargs)
        self.home = url
        self.host = urlsplit(url).netloc
        self.responses = 0
        self.bytes = 0

    async def start(self):
        yield Request(self.home, callback=self.parse)

    def parse(self, response):
        self.responses += 1
        self.bytes += len(response.body)
        if not response.headers.get(b"Content-Type", b"").startswith(b"text/html"):
            return
        for href in response.xpath("//a/@href").getall():
            url = response.urljoin(href)
            if not url.startswith("http"):
                continue
            if urlsplit(url).netloc == self.host:
                yield Request(url, callback=self.parse)
            else:
                yield Request(url, callback=self.probe, meta={"dont_obey_robotstxt": True})

    def probe(self, response):
        self.responses += 1
        self.bytes += len(response.body)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0)
    args = parser.parse_args()
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.setdict({
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency, "DOWNLOAD_DELAY": args.delay,
        "ITEM_PIPELINES": {}, "LOG_LEVEL": "WARNING",
        # govaudit keeps its own memory of what it requested; Scrapy's default dupefilter does it here.
    }, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    started = time.monotonic()
    process.crawl(crawler, url=args.url)
    process.start()
    seconds = time.monotonic() - started
    spider = crawler.spider
    print(json.dumps({"pages": spider.responses, "bytes": spider.bytes, "seconds": round(seconds, 2),
                      "per_s": round(spider.responses / seconds, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
