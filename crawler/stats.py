"""Scrapy's stats collector without its per-call attribute hook.

``scrapy.statscollectors.StatsCollector`` defines ``__getattribute__`` to wrap its methods in a warning
about their deprecated ``spider`` argument: every attribute read of the collector (Scrapy's middlewares
count each request, response and item in it, 38 reads a request) ran that hook, 1 % of a crawl's time
(bench/run --profile). The counting is Scrapy's own; only the hook is gone. Nothing here passes ``spider``.
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class PlainStatsCollector(MemoryStatsCollector):
    __getattribute__ = object.__getattribute__
