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
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return addr.is_global and not (addr.is_multicast or addr.is_reserved)


def blocked_reason(url: str) -> str | None:
    """None when ``url`` may be fetched by default; else why not. Checked after DNS resolution,
    and again on every redirect hop by the fetcher."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"only http(s) links are fetched, not {parts.scheme or 'a relative link'}"
    host = parts.hostname
    if not host:
        return "the link has no host"
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return None  # let the request itself fail with a clear DNS error
    for info in infos:
        ip = info[4][0]
        if not is_public_address(ip):
            return f"{host} resolves to {ip}, a loopback, private, link-local or metadata address"
    return None
