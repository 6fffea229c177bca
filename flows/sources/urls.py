"""Canonical article URLs, so the same page found through two feeds (or with tracking
parameters) is one article, and the address guard against server-side request forgery."""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import courlan

# courlan drops the common trackers (utm_*, fbclid, ...); these are others seen on news sites.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "at_", "itm_")
_TRACKING_KEYS = frozenset({
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "cmpid", "ocid", "ncid", "sr_share",
    "rss", "ref", "ref_src", "smid", "cid", "_ga", "share", "s_cid", "taid", "icid", "wt.mc_id",
})


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters,
    remaining query parameters sorted."""
    url = url.strip()
    try:
        normalised = courlan.normalize_url(url, strict=False)
    except Exception:  # courlan raises on some malformed inputs; fall back to our own pass
        normalised = url
    parts = urlsplit(normalised)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_KEYS
    ]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(sorted(query)), ""))


def article_id(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def is_public_address(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is not part of it
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return addr.is_global and not (addr.is_multicast or addr.is_reserved)


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one filled in): what a feed's ``trusted`` covers."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port out of range or not a number: matches nothing
        return scheme, "", -1
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def same_origin(url: str, other: str) -> bool:
    return origin(url) == origin(other)


class AddressRefused(Exception):
    """A connection the address guard refused; ``kind`` is the stable error kind to record."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses of ``host``, all of them public; else ``AddressRefused``. The guard fails
    closed: a name that does not resolve is refused too, and the caller connects only to the
    addresses returned here (never resolving the name a second time, which a rebinding DNS
    server could answer differently)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        raise AddressRefused("dns", f"{host}: the host name does not resolve (DNS)") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise AddressRefused("dns", f"{host}: the host name does not resolve (DNS)")
    for ip in addresses:
        if not is_public_address(ip):
            raise AddressRefused("blocked_address",
                                 f"{host} resolves to {ip}, a loopback, private, link-local or metadata address")
    return addresses
