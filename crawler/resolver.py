"""DNS for the crawler: Scrapy's caching resolver, minus queries for names that cannot exist.

RFC 6761 reserves ``.invalid``: "name resolution APIs and libraries SHOULD recognize 'invalid' names
as special and SHOULD always return immediately with a negative response". The system resolver asks
the network anyway (and a slow resolver makes each such link cost a timeout), so these names fail
here at once, as a DNS lookup failure of that host, without a packet leaving the machine.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from govaudit.targets import never_resolves


class ReservedNameResolver(CachingThreadedResolver):
    """``DNS_RESOLVER`` of the crawl (crawler.settings)."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ()):  # noqa: N802 - Twisted's name
        if never_resolves(name):
            return defer.fail(DNSLookupError(f"{name}: a reserved name (RFC 6761) that never resolves"))
        return super().getHostByName(name, timeout)
