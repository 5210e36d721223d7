"""The crawl's request queue (crawler.queues): Scrapy's LIFO order exactly, bounded memory, and every
request still there after a stop, for the crawl resumed from its JOBDIR."""

from __future__ import annotations

import random

import pytest
from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from crawler.queues import SpillingLifoDiskQueue


class QueueSpider(Spider):
    name = "queue"

    def parse(self, response):  # pragma: no cover - never called
        pass

    def other(self, response):  # pragma: no cover - never called
        pass


@pytest.fixture
def crawler():
    crawler = get_crawler(QueueSpider)
    crawler.spider = QueueSpider()
    crawler.stats.open_spider()
    return crawler


def request(n: int, spider: QueueSpider) -> Request:
    return Request(f"http://127.0.0.1:1/art/{n}.html", callback=spider.other if n % 2 else spider.parse,
                   meta={"n": n, "column": "政策文件"}, priority=0)


@pytest.fixture(autouse=True)
def small(monkeypatch):
    monkeypatch.setattr(SpillingLifoDiskQueue, "KEEP", 8)
    monkeypatch.setattr(SpillingLifoDiskQueue, "_warned", False)


def test_order_is_lifo_through_memory_and_disk(crawler, tmp_path):
    queue = SpillingLifoDiskQueue.from_crawler(crawler, str(tmp_path / "q" / "0"))
    model: list[int] = []
    rng = random.Random(5)
    pushed = 0
    popped = []
    for _ in range(600):  # bursts of pushes (a list page's links) and pops, the queue deep at times
        if rng.random() < 0.55:
            for _ in range(rng.randint(1, 12)):
                queue.push(request(pushed, crawler.spider))
                model.append(pushed)
                pushed += 1
        else:
            got = queue.pop()
            expected = model.pop() if model else None
            assert (got.meta["n"] if got else None) == expected
            if got:
                popped.append(got)
        assert len(queue) == len(model)
        assert len(queue.memory) <= SpillingLifoDiskQueue.KEEP
    assert queue.disk is not None and (tmp_path / "q" / "0").exists()  # it did go to disk
    while model:
        assert queue.peek().meta["n"] == model[-1]
        assert queue.pop().meta["n"] == model.pop()
    assert queue.pop() is None and len(queue) == 0
    queue.close()
    assert not (tmp_path / "q" / "0").exists()  # an empty queue leaves no file
    back = [r for r in popped if r.meta["n"] % 2]
    assert back and all(r.callback == crawler.spider.other for r in back)  # callbacks survive the disk
    assert all(r.url == f"http://127.0.0.1:1/art/{r.meta['n']}.html" and r.meta["column"] == "政策文件" for r in popped)


def test_a_stopped_queue_is_resumed_in_order(crawler, tmp_path):
    key = str(tmp_path / "q" / "0")
    queue = SpillingLifoDiskQueue.from_crawler(crawler, key)
    for n in range(20):  # 12 go to disk, 8 stay in memory
        queue.push(request(n, crawler.spider))
    assert queue.pop().meta["n"] == 19
    queue.close()  # the crawl stops: what memory held is written too
    resumed = SpillingLifoDiskQueue.from_crawler(crawler, key)
    assert len(resumed) == 19
    assert [resumed.pop().meta["n"] for _ in range(19)] == list(range(18, -1, -1))
    resumed.close()


def test_a_request_that_cannot_go_to_disk_is_still_sent(crawler, tmp_path, caplog):
    queue = SpillingLifoDiskQueue.from_crawler(crawler, str(tmp_path / "q" / "0"))
    odd = Request("http://127.0.0.1:1/odd.html", callback=lambda response: None)  # not a spider method
    queue.push(odd)
    for n in range(20):
        queue.push(request(n, crawler.spider))
    assert "cannot write the request for http://127.0.0.1:1/odd.html" in caplog.text
    assert crawler.stats.get_value("scheduler/unserializable") == 1
    got = [queue.pop() for _ in range(21)]
    assert [r.meta["n"] for r in got[:20]] == list(range(19, -1, -1))
    assert got[20] is odd and queue.pop() is None
    queue.close()
