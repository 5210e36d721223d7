"""The cached callback names of crawler.callbacks: what Scrapy's own lookup gives, and round trips."""

import pytest
from scrapy import Request, Spider
from scrapy.utils.request import request_from_dict

import crawler.spiders.portal  # noqa: F401  (installs the cache)
from crawler import callbacks


class _Spider(Spider):
    name = "t"

    def parse_page(self, response):
        pass

    def failed(self, failure):
        pass

    alias = parse_page  # two names of one function: Scrapy's lookup takes the first in sorted order


def test_installed_in_scrapy():
    import scrapy.http.request as module
    assert module._find_method is callbacks.find_method


def test_same_names_as_scrapy_and_round_trip():
    spider, other = _Spider(), _Spider()
    for _ in range(2):  # the second time from the cache
        for who in (spider, other):
            for func in (who.parse_page, who.failed, who.alias):
                assert callbacks.find_method(who, func) == callbacks._scrapy_find_method(who, func)
            d = Request("http://example.com/", callback=who.parse_page, errback=who.failed).to_dict(spider=who)
            back = request_from_dict(d, spider=who)
            assert back.callback.__func__ is _Spider.parse_page and back.errback.__func__ is _Spider.failed


def test_not_a_spider_method_raises_as_scrapy_does():
    spider = _Spider()
    with pytest.raises(ValueError):
        callbacks.find_method(spider, object().__init__)
    with pytest.raises(ValueError):
        callbacks.find_method(spider, ValueError().with_traceback)
    with pytest.raises(ValueError):
        callbacks.find_method(spider, Spider(name="x").close)
