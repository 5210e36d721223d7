"""The cyclic garbage collector's pace in the crawl's processes (the crawler, its readers and writer).

A crawl allocates millions of short-lived container objects (requests, responses, items, rows, readings)
beside a large long-lived heap (the queues, the seen sets, the last run's pages). With CPython's default
thresholds (700, 10, 10) the collector ran about 7,000 young and 20 full collections in one unchanged
night's crawl of 100,000 pages: 2.7 of its 35 seconds (bench/run, BENCHMARKS.md). Ten times fewer young
collections, and full ones after twice as many older ones, take 0.4 s; the crawler's peak RSS stayed
the same (the objects are freed by their reference counts; the collector only finds cycles)."""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 20, 20)


def tune_gc() -> None:
    gc.set_threshold(*THRESHOLDS)
