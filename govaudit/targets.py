"""Where the crawler may send a request: http(s) only, no credentials, and a private network only
where a site is configured for it.

One rule for every request a crawl sends (pages, probes, redirects) — ``refusal`` says why not, or None:

- a scheme other than http(s) (``file:``, ``ftp:``, ``javascript:``): never;
- a user name or password in the URL (``http://user:pw@host/``): never sent; the link is stored with
  its password masked (``user:***@``) and reported as refused, so a credential published on a page
  is neither sent anywhere nor repeated in a log or report;
- an address that is never a web site (link-local such as 169.254.169.254, unspecified 0.0.0.0,
  multicast, reserved): never, unless the host is one the site lists itself;
- loopback and private networks (127/8, ::1, ``localhost``, 10/8, 172.16/12, 192.168/16, fc00::/7,
  100.64/10): only the hosts the site lists (its ``url``, ``allowed_hosts``, ``service_hosts``, the hosts of its ``new_media``
  account pages), or
  when the site (or ``crawler``) sets ``private_network: true`` or a list of the networks allowed.

Host names are judged as written: IP literals in any spelling the resolver would accept
(``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``[::ffff:127.0.0.1]``) and ``localhost`` names. A public
name whose DNS answer is a private address is not caught here (see README, "What happens when things
go wrong").
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from govaudit.config import SiteConfig

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NOT_HTTP = "refused: not an http(s) URL"
CREDENTIALS = "refused: credentials in the URL"
RESERVED = "refused: a private or reserved address"
PRIVATE = "refused: a private-network address, and private_network is not set for this site"
REFUSALS = frozenset({NOT_HTTP, CREDENTIALS, RESERVED, PRIVATE})

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.I)


def host_address(hostname: str | None) -> Address | None:
    """The address a host name stands for literally (an IP in any spelling, ``localhost``), or None."""
    if not hostname:
        return None
    name = hostname.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        return ipaddress.ip_address("127.0.0.1")
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        if not _LEGACY_IPV4.match(name):
            return None
        try:  # 127.1, 2130706433, 0x7f.1: what inet_aton (and so the resolver) reads as an address
            address = ipaddress.ip_address(socket.inet_aton(name))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_reserved(address: Address) -> bool:
    """Never a web site: link-local (cloud metadata), unspecified, multicast, reserved."""
    if address.is_loopback:  # ::1 lies in IPv6's reserved ::/8
        return False
    return address.is_link_local or address.is_unspecified or address.is_multicast or address.is_reserved


def is_private(address: Address) -> bool:
    """Loopback or a private network (what ``private_network`` allows)."""
    return address.is_loopback or address.is_private or address in _SHARED_ADDRESS_SPACE


def has_credentials(url: str) -> bool:
    parts = urlsplit(url)
    return parts.username is not None or parts.password is not None


def listed_hosts(site: SiteConfig) -> list[str]:
    from govaudit.config import host_of

    return [host_of(site.url), *site.allowed_hosts, *site.service_hosts,
            *(host_of(account.url) for account in site.new_media)]


def refusal(url: str, site: SiteConfig | None = None, hosts: Sequence[str] | None = None,
            private_network: bool | Iterable[Network] = False) -> str | None:
    """Why the crawler must not send a request to ``url`` for ``site``, or None when it may.

    Without a site, ``hosts`` and ``private_network`` say what is configured (the probe's callers).
    """
    from govaudit.config import host_allowed

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return NOT_HTTP
    if has_credentials(url):
        return CREDENTIALS
    address = host_address(parts.hostname)
    if address is None or not (is_reserved(address) or is_private(address)):
        return None  # a public address, or a name: any site's
    if site is not None:
        hosts, private_network = listed_hosts(site), site.private_network
    if hosts and host_allowed(url, hosts):
        return None  # listed by the site itself
    if is_reserved(address):
        return RESERVED
    if private_network is True:
        return None
    if private_network and any(address in network for network in private_network
                               if network.version == address.version):
        return None
    return PRIVATE


# RFC 6761: "name resolution APIs and libraries SHOULD recognize 'invalid' names as special and SHOULD
# always return immediately with a negative response". The system resolver asks the network anyway.
RESERVED_SUFFIXES = (".invalid",)


def never_resolves(name: str) -> bool:
    """A name reserved never to resolve (``.invalid``): its lookup fails at once, no query sent."""
    name = name.lower().rstrip(".")
    return name == "invalid" or name.endswith(RESERVED_SUFFIXES)


def probe_resolver():
    """aiohttp's threaded resolver for ``govaudit probe``, failing reserved names without a query."""
    import aiohttp

    class ProbeResolver(aiohttp.ThreadedResolver):
        async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
            if never_resolves(host):
                raise OSError(socket.EAI_NONAME, f"{host}: a reserved name (RFC 6761) that never resolves")
            return await super().resolve(host, port, family)

    return ProbeResolver()
