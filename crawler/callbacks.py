"""A cache for the name Scrapy gives a request's callback when it writes the request to disk.

A crawl with a job directory (JOBDIR, which makes a crawl resumable) keeps its scheduler queue on disk:
every request is turned into a dict first (``Request.to_dict``), its callback and errback written as the
names of spider methods. Scrapy finds a name by ``inspect.getmembers(spider)``, a look at every member
of the spider (each attribute and property, sorted), twice a request (0.8 s of a 17 s profile of a
2,000-page crawl). The name of one function on one spider class does not change, so it is looked up once
per (spider class, function) and checked on the instance each time: ``getattr(spider, name)`` must
still be that very function, which is exactly what ``request_from_dict`` resolves it back to. Anything
else (a function not on the spider, a stale name) goes to Scrapy's own lookup, errors and all.

Installed when the spider module is imported, and only when the Scrapy in use looks the name up the
way this expects (``scrapy.http.request._find_method``, called by ``Request.to_dict``; Scrapy 2.6 to
2.19 at least); otherwise Scrapy is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import scrapy.http.request as _request_module
from scrapy import Request

_scrapy_find_method = getattr(_request_module, "_find_method", None)
_names: dict[tuple[type, Any], str] = {}


def find_method(obj: Any, func: Callable[..., Any]) -> str:
    """What ``scrapy.http.request._find_method`` returns: the name of the spider method ``func`` is."""
    inner = getattr(func, "__func__", None)
    if not obj or inner is None:
        return _scrapy_find_method(obj, func)
    key = (type(obj), inner)
    name = _names.get(key)
    if name is not None and getattr(getattr(obj, name, None), "__func__", None) is inner:
        return name
    name = _scrapy_find_method(obj, func)  # raises ValueError as Scrapy does for a function not found
    _names[key] = name
    return name


def install() -> bool:
    """Put the cached lookup in Scrapy's place; False (and nothing changed) on a Scrapy that differs."""
    if _request_module.__dict__.get("_find_method") is find_method:
        return True
    if not callable(_scrapy_find_method) or "_find_method" not in Request.to_dict.__code__.co_names:
        return False
    _request_module._find_method = find_method
    return True
