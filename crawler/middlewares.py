"""Downloader middlewares: politeness the stock ones do not give."""

from __future__ import annotations

import asyncio
import email.utils
import time

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from govaudit.targets import refusal


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class RetryAfterMiddleware:
    """Honour Retry-After on 429/503: wait as asked (up to the site's limit), then retry once more.

    Runs before RetryMiddleware sees the response, so a server that says when to come back is not
    hammered by immediate retries; without the header, or asking too long, the stock retry applies.
    """

    statuses = (429, 503)

    def __init__(self, max_wait: float, max_tries: int):
        self.max_wait = max_wait
        self.max_tries = max_tries

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getfloat("RETRY_AFTER_MAX", 60.0), crawler.settings.getint("RETRY_TIMES", 2))

    async def process_response(self, request: Request, response: Response, spider: Spider | None = None):
        if response.status not in self.statuses or request.meta.get("dont_retry"):
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        tries = request.meta.get("retry_after_times", 0)
        if wait is None or wait > self.max_wait:
            return response
        if tries >= self.max_tries:
            # It was asked and waited for as often as a retry would be: the stock retries would
            # knock again at once on a server that said when to come back.
            request.meta["dont_retry"] = True
            return response
        await asyncio.sleep(wait)
        retry = request.replace(dont_filter=True)
        retry.meta["retry_after_times"] = tries + 1
        retry.meta["retry_after_waited"] = request.meta.get("retry_after_waited", 0.0) + wait
        return retry


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy's, with every request that waits for a host's robots.txt judged by it.

    Scrapy 2.13 to 2.19 let every request that arrives while the host's robots.txt is on its way await the
    same Deferred; Twisted's ``Deferred.asFuture`` leaves None as that Deferred's result, so the first one
    got the rules and every other one got None, "no robots.txt", and was sent unchecked (a disallowed
    page linked from another host's page, or handed to a second worker of a distributed crawl, before
    that worker had read the host's robots.txt). Here each waiter gets a Deferred of its own, as Scrapy
    did before 2.13."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)  # known, or asked for here and now
        mine: Deferred[RobotParser | None] = Deferred()

        def relay(parser: RobotParser | None) -> RobotParser | None:
            mine.callback(parser)
            return parser  # for the next waiter

        pending.addCallback(relay)
        return await maybe_deferred_to_future(mine)


class AuditCachePolicy(RFC2616Policy):
    """RFC 2616 caching that always asks the server: a stored page is revalidated with its ETag or
    Last-Modified (a 304 costs a few bytes), never served unasked however long it says it stays fresh —
    an audit records what the site answers tonight, not what it answered last night."""

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        # What RFC2616Policy does for a stale copy: ask with its validators.
        self._set_conditional_validators(request, cachedresponse)
        return False


class AuditHttpCacheMiddleware(HttpCacheMiddleware):
    """Scrapy's cache middleware, minus its error recovery: when a download fails, Scrapy would hand
    back the stored copy, and a site that is down tonight would look up. The failure must be seen."""

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None):
        request.meta.pop("cached_response", None)
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None):
        # Nearest the network: the bytes that really came over the wire (a 304 has no body),
        # before a stored copy takes the answer's place.
        self.stats.inc_value("govaudit/network_bytes", len(response.body))
        return super().process_response(request, response)


class RefusedTarget(IgnoreRequest):
    """A request the crawler will not send (govaudit.targets): a non-http(s) scheme, credentials in the
    URL, a reserved address, or a private network the site is not configured for."""


class SafeTargetMiddleware:
    """Every request, a redirect's too, passes govaudit.targets.refusal for the site being crawled (the
    hosts it lists, its ``new_media`` account pages' hosts included, count as configured).

    The spider only links within its rules; a redirect (``Location: http://169.254.169.254/``) is the
    way a crawled site could still send the crawler into a private network, and ``Location:
    http://user:pw@host/`` the way it could make the crawler send credentials.
    """

    REMEMBERED = 1024  # origins whose answer is kept (a site links to a few dozen)

    def __init__(self, crawler):
        self.crawler = crawler
        self.answers: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None):
        site = getattr(self.crawler.spider, "site", None)
        if site is None:
            return None
        # The answer depends on the scheme and the host part only (user, password, host, port), all of
        # which lie before the URL's third "/": URLs the same up to there get the same answer.
        url = request.url
        cut = url.find("/", url.find("//") + 2) if "//" in url else -1
        origin = url[:cut] if cut > 0 else url
        try:
            why = self.answers[origin]
        except KeyError:
            why = refusal(url, site)
            if cut > 0:
                if len(self.answers) >= self.REMEMBERED:
                    self.answers.clear()
                self.answers[origin] = why
        if why is not None:
            raise RefusedTarget(why)
        return None
