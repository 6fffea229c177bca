"""An httpx transport that connects only to addresses the SSRF guard checked (DNS pinning)."""

from __future__ import annotations

import asyncio
import ssl
import typing

import httpcore
import httpx

from flows.sources.urls import public_addresses


class CheckedAddressBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the guard in ``connect_tcp``: the host name is resolved
    once, every address must be public, and the socket connects to one of those addresses.

    Checking the name and then letting the connection resolve it again is open to DNS rebinding
    (a public answer to the check, loopback to the connection). TLS is unaffected: httpcore starts
    TLS with ``server_hostname`` taken from the URL, and the Host header comes from the URL too."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.AsyncNetworkStream:
        addresses = await asyncio.to_thread(public_addresses, host, port)  # raises AddressRefused
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(ip, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[typing.Any] | None = None):
        raise httpcore.ConnectError("unix sockets are never used for fetched links")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connection pool uses ``CheckedAddressBackend``.

    httpx 0.28 builds its httpcore pool without a way to pass a network backend, so the pool is
    built again here with the same limits and TLS context plus the backend (the extension point
    httpcore offers; httpx exposes it in a later release, encode/httpx#3180)."""

    def __init__(self, *, verify: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedAddressBackend(),
        )
