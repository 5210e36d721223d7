"""Small helpers several check families share (URL comparison, outcome wording)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from checks.base import AuditContext

FOUND_ON_MAX = 10
# The crawler's error texts, as a Chinese message says them.
ERROR_WORDS = {
    "timeout": "访问超时",
    "dns lookup failed": "域名解析失败",
    "connection refused": "连接被拒绝",
    "connection lost": "连接中断",
    "response too large or cancelled": "页面过大或下载被取消",
    "tls error": "HTTPS 证书或加密连接错误",
    "too many redirects": "重定向次数过多",
    # The crawler's own refusals (govaudit.targets): not sent at all.
    "refused: credentials in the url": "链接中含用户名或密码，未访问",
    "refused: a private or reserved address": "指向内网或保留地址，未访问",
    "refused: a private-network address, and private_network is not set for this site": "指向内网地址，未访问",
    "refused: not an http(s) url": "不是 http(s) 链接，未访问",
}
# Errors that name what failed after a colon ("DNS lookup failed: www.example.gov.cn").
ERROR_WITH_DETAIL = {
    "dns lookup failed": "域名 {} 无法解析",
}


def url_key(url: str | None) -> str:
    """A URL for comparison: scheme, case of the host, default port and a trailing slash ignored,
    so that ``https://site/`` and ``http://SITE`` count as the same home page."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"


def same_url(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and url_key(a) == url_key(b)


def home_urls(ctx: AuditContext) -> set[str]:
    """The configured home URL and the URL its page row was stored under (they may differ by a slash)."""
    urls = {ctx.site.url}
    home = ctx.home_page()
    if home is not None:
        urls.add(home.url)
    return urls


def fetched_ok(status: int | None, error: str | None) -> bool:
    """A response arrived and it was not an HTTP error."""
    return not error and status is not None and status < 400


def outcome(status: int | None, error: str | None) -> str:
    """How a fetch failed, as a message says it: ``HTTP 404`` or the error text."""
    if error:
        text = error.strip()
        words = ERROR_WORDS.get(text.lower())
        if words:
            return words
        head, found, detail = text.partition(": ")
        if found and head.lower() in ERROR_WITH_DETAIL and detail.strip():
            return ERROR_WITH_DETAIL[head.lower()].format(detail.strip())
        return error
    return f"HTTP {status}" if status is not None else "无响应"


def found_on(pages: Iterable[str]) -> dict[str, object]:
    """The evidence naming the pages that carry a link: at most ten, sorted, and their count."""
    unique = sorted(set(pages))
    return {"found_on": unique[:FOUND_ON_MAX], "found_on_count": len(unique)}
