"""HTTP fetching with bounds on everything: concurrency (global and per host), time, body size,
redirects. Every failure becomes a ``FetchResult`` with a stable ``error_kind`` and a message a
person understands; nothing here raises for a bad response.

trafilatura's own ``fetch_url`` refuses loopback and has no per-host limits, and feedparser's
HTTP has no timeout, so defwatch fetches all bytes itself and hands them to the parsers.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import httpx

from flows.errors import TRANSIENT_KINDS
from flows.settings import FetchSettings
from flows.sources.guarded_transport import GuardedTransport
from flows.sources.urls import AddressRefused, same_origin


@dataclass
class FetchRequest:
    url: str
    key: str = ""                  # caller's identifier (feed name, article id)
    etag: str | None = None
    last_modified: str | None = None
    trusted: bool = False          # the address guard skips this URL's own scheme, host and port


@dataclass
class FetchResult:
    request: FetchRequest
    final_url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error_kind: str | None = None
    error: str | None = None
    retry_after_s: float | None = None
    elapsed_s: float = 0.0
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.error_kind is None and self.status == 200

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def transient(self) -> bool:
        return self.error_kind in TRANSIENT_KINDS

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _status_error(status: int, url: str) -> tuple[str, str]:
    if status == 429:
        return "http_429", f"{url} answered 429 Too Many Requests: the server asks us to slow down"
    if 500 <= status < 600:
        return "http_5xx", f"{url} answered HTTP {status}: a server error, will retry later"
    if status in (401, 403):
        return "http_4xx", f"{url} answered HTTP {status}: access refused; check the address or whether it needs a login"
    if status in (404, 410):
        return "http_4xx", f"{url} answered HTTP {status}: not found (the address is wrong or the page was removed)"
    return "http_4xx", f"{url} answered HTTP {status}"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (measured ~100 ms of CPU), and
    an HTTP client would otherwise build a fresh one each time it is created."""
    return httpx.create_ssl_context(trust_env=False)  # as the client: trust_env=False


# Why one HTTP client (connection pool) per host, not one for all: with more hosts than requests
# in flight (50 sites, 16 in flight) and pages fetched round-robin over hosts, a shared pool
# capped at 16 connections closed a host's idle connection to make room for the next host's, so
# every request opened a new connection (on https a TLS handshake too): 2,050 connections for
# 2,050 requests in benchmarks/e2e_ingest.py. Raising the shared pool's cap kept them, but httpcore
# checks every pooled connection on each request (a poll() each), which cost more CPU than the
# connects saved. A pool per host holds at most per_host connections; the clients of the
# KEPT_HOST_CLIENTS most recently used hosts stay open.
KEPT_HOST_CLIENTS = 64

# What the guard's refusals add, so the person reading them knows the one way round it.
_TRUST_HINT = (" (only a feed marked `trusted = true` in feeds.toml may use such an address, and only "
               "for its own scheme, host and port)")
# Refusals of the guarded transport: no request was sent, so none is counted.
_REFUSED_BEFORE_CONNECTING = frozenset({"blocked_address", "dns", "bad_url"})


@dataclass(eq=False)
class _HostClient:
    client: httpx.AsyncClient
    in_use: int = 0


class Fetcher:
    """Bounded async HTTP client. Use as ``async with Fetcher(settings) as f: await f.fetch_all(reqs)``."""

    def __init__(self, settings: FetchSettings, *, transient_retries: int = 1, retry_delay_s: float = 0.5):
        self.settings = settings
        self.transient_retries = transient_retries
        self.retry_delay_s = retry_delay_s
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self.requests_made = 0
        self._clients: OrderedDict[tuple[str, bool], _HostClient] = OrderedDict()  # least recently used first
        self._open = False

    async def __aenter__(self) -> Fetcher:
        self._open = True
        return self

    async def __aexit__(self, *exc) -> None:
        self._open = False
        clients, self._clients = list(self._clients.values()), OrderedDict()
        for c in clients:
            await c.client.aclose()

    async def _checkout(self, host: str, guarded: bool) -> _HostClient:
        """The host's client, marked in use. A new host's client is made here, after closing the
        least recently used idle clients beyond KEPT_HOST_CLIENTS. A guarded client connects only to
        public addresses it checked itself; a trusted origin's hops use an unguarded one."""
        key = (host, guarded)
        hc = self._clients.get(key)
        if hc is not None:
            self._clients.move_to_end(key)
        else:
            excess = len(self._clients) + 1 - KEPT_HOST_CLIENTS
            if excess > 0:
                for idle in [h for h, c in self._clients.items() if c.in_use == 0][:excess]:
                    await self._clients.pop(idle).client.aclose()
            s = self.settings
            limits = httpx.Limits(max_connections=s.per_host, max_keepalive_connections=s.per_host)
            hc = self._clients[key] = _HostClient(httpx.AsyncClient(
                follow_redirects=False,  # followed by hand: each hop is counted and checked
                timeout=httpx.Timeout(s.timeout_s),
                limits=limits,
                headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
                trust_env=False,
                verify=_tls_context(),
                transport=GuardedTransport(verify=_tls_context(), limits=limits) if guarded else None,
            ))
        hc.in_use += 1
        return hc

    def _host_lock(self, host: str) -> asyncio.Semaphore:
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.settings.per_host)
        return sem

    async def fetch_all(
        self, requests: Sequence[FetchRequest], on_done: Callable[[FetchResult], None] | None = None
    ) -> list[FetchResult]:
        async def one(req: FetchRequest) -> FetchResult:
            res = await self.fetch(req)
            if on_done is not None:
                on_done(res)
            return res

        return list(await asyncio.gather(*(one(r) for r in requests)))

    async def fetch(self, req: FetchRequest) -> FetchResult:
        attempt = 0
        while True:
            attempt += 1
            res = await self._fetch_once(req)
            res.attempts = attempt
            retry_in = self.retry_delay_s * attempt
            if res.retry_after_s is not None:
                retry_in = res.retry_after_s
            # Retry transient failures once, quickly; a longer Retry-After is left to the feed's schedule.
            if res.transient and attempt <= self.transient_retries and retry_in <= 5:
                await asyncio.sleep(retry_in)
                continue
            return res

    async def _fetch_once(self, req: FetchRequest) -> FetchResult:
        started = time.monotonic()
        res = FetchResult(request=req, final_url=req.url)
        try:
            await asyncio.wait_for(self._follow(req, res), timeout=self.settings.total_timeout_s)
        except TimeoutError:
            res.error_kind = "slow_body" if res.status else "timeout"
            res.error = (f"{res.final_url} did not finish within {self.settings.total_timeout_s:g} s "
                         f"({'the body trickled in too slowly' if res.status else 'no complete answer'})")
            res.body = b""
        finally:
            res.elapsed_s = time.monotonic() - started
        return res

    async def _follow(self, req: FetchRequest, res: FetchResult) -> None:
        assert self._open, "use Fetcher as an async context manager"
        url = req.url
        seen: set[str] = set()
        headers = {}
        if req.etag:
            headers["If-None-Match"] = req.etag
        if req.last_modified:
            headers["If-Modified-Since"] = req.last_modified
        for _hop in range(self.settings.max_redirects + 1):
            res.final_url = url
            if url in seen:
                res.error_kind, res.error = "redirect_loop", f"{req.url} redirects in a loop (back to {url})"
                return
            seen.add(url)
            bad_scheme = self._scheme_error(url)
            if bad_scheme:
                res.error_kind, res.error = bad_scheme
                return
            # The host's slot first, then a global one: a request queued behind its host's limit
            # must not sit on a global slot that another host could use.
            host = (urlsplit(url).hostname or "").lower()
            async with self._host_lock(host), self._global:
                outcome = await self._request(url, host, self._guarded(url, req), headers, res)
            if outcome is None:
                return
            url = outcome
        res.error_kind = "too_many_redirects"
        res.error = f"{req.url} redirected more than {self.settings.max_redirects} times"

    @staticmethod
    def _scheme_error(url: str) -> tuple[str, str] | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "bad_url", f"{url!r} is not an http(s) address; only http and https are fetched"
        return None

    def _guarded(self, url: str, req: FetchRequest) -> bool:
        """Whether the address guard applies to this hop. Trust covers the operator's own scheme,
        host and port only: another port of the same host, or a redirect elsewhere, is checked
        like any link."""
        if self.settings.allow_private:
            return False
        return not (req.trusted and same_origin(url, req.url))

    async def _request(self, url: str, host: str, guarded: bool, headers: dict[str, str],
                       res: FetchResult) -> str | None:
        """One HTTP exchange, on ``host``'s client. Returns the next URL on a redirect, else None
        (result filled in)."""
        hc = await self._checkout(host, guarded)
        try:
            return await self._exchange(hc.client, url, headers, res)
        finally:
            hc.in_use -= 1
            if res.error_kind not in _REFUSED_BEFORE_CONNECTING:
                self.requests_made += 1

    async def _exchange(self, client: httpx.AsyncClient, url: str, headers: dict[str, str],
                        res: FetchResult) -> str | None:
        try:
            async with client.stream("GET", url, headers=headers) as resp:
                res.status = resp.status_code
                res.headers = {k.lower(): v for k, v in resp.headers.items()}
                if resp.status_code == 304:
                    return None
                if resp.status_code in (301, 302, 303, 307, 308):
                    location = resp.headers.get("location")
                    if not location:
                        res.error_kind, res.error = "http_4xx", f"{url} redirects without a Location header"
                        return None
                    return urljoin(url, location)
                if resp.status_code != 200:
                    res.error_kind, res.error = _status_error(resp.status_code, url)
                    if resp.status_code in (429, 503):
                        res.retry_after_s = parse_retry_after(resp.headers.get("retry-after"))
                    return None
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.settings.max_bytes:
                    res.error_kind = "too_large"
                    res.error = (f"{url} is {int(declared):,} bytes, over the limit of "
                                 f"{self.settings.max_bytes:,} (fetch.max_bytes)")
                    return None
                chunks: list[bytes] = []
                size = 0
                # iter_bytes() yields decompressed data: the limit also stops gzip bombs.
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > self.settings.max_bytes:
                        res.error_kind = "too_large"
                        res.error = (f"{url} sent more than {self.settings.max_bytes:,} bytes "
                                     f"(after decompression); the rest was not read (fetch.max_bytes)")
                        return None
                    chunks.append(chunk)
                res.body = b"".join(chunks)
                return None
        except AddressRefused as exc:  # the guarded transport refused to connect (see guarded_transport)
            res.error_kind = exc.kind
            res.error = str(exc) if exc.kind == "dns" else f"{url} was not fetched: {exc}{_TRUST_HINT}"
        except httpx.TimeoutException:
            res.error_kind, res.error = "timeout", f"{url} timed out after {self.settings.timeout_s:g} s"
        except httpx.ConnectError as exc:
            text = str(exc)
            if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text \
                    or "Temporary failure in name resolution" in text or "No address associated" in text:
                res.error_kind, res.error = "dns", f"{urlsplit(url).hostname}: the host name does not resolve (DNS)"
            else:
                res.error_kind, res.error = "connect", f"{url}: connection failed ({text or 'refused'})"
        except httpx.DecodingError as exc:
            res.error_kind, res.error = "decode", f"{url}: the compressed body is corrupt ({exc})"
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            res.error_kind, res.error = "network", f"{url}: the connection broke off ({exc or type(exc).__name__})"
        except httpx.InvalidURL as exc:
            res.error_kind, res.error = "bad_url", f"{url!r} is not a valid address ({exc})"
        except httpx.HTTPError as exc:
            res.error_kind, res.error = "network", f"{url}: {type(exc).__name__}: {exc}"
        return None


def run_fetches(
    settings: FetchSettings,
    requests: Sequence[FetchRequest],
    on_done: Callable[[FetchResult], None] | None = None,
) -> tuple[list[FetchResult], int]:
    """Synchronous entry point for tasks: fetch everything, return results and the request count."""

    async def main() -> tuple[list[FetchResult], int]:
        async with Fetcher(settings) as fetcher:
            results = await fetcher.fetch_all(requests, on_done)
            return results, fetcher.requests_made

    return asyncio.run(main())
