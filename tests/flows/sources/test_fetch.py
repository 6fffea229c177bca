"""The fetcher against a real HTTP server on loopback: every bad answer becomes a recorded,
readable error, and the limits hold."""

from __future__ import annotations

import gzip
import socket

import pytest

from flows.sources.fetch import FetchRequest, parse_retry_after, run_fetches
from flows.settings import FetchSettings


def fetch(url: str, settings: FetchSettings | None = None, **req):
    settings = settings or FetchSettings(timeout_s=2, total_timeout_s=4)
    results, n = run_fetches(settings, [FetchRequest(url=url, trusted=True, **req)])
    return results[0], n


def test_ok_sends_an_honest_user_agent_and_gzip(server):
    url = server.route("/a", body=b"<html>hello</html>" * 100, gzip=True)
    res, n = fetch(url)
    assert res.ok and res.status == 200 and n == 1
    assert res.body == b"<html>hello</html>" * 100
    sent = server.hits("/a")[0].headers
    assert sent["user-agent"].startswith("defwatch/")
    # What defwatch asks for, to the letter (httpx's own default would add br/zstd when their
    # packages are installed): the body above was sent gzip-compressed and came back decoded.
    assert sent["accept-encoding"] == "gzip, deflate"


def test_conditional_get_sends_validators_and_304_has_no_body(server):
    url = server.route("/feed", body=b"<rss/>", etag='"v1"', headers={"Last-Modified": "Tue, 10 Jun 2025 08:00:00 GMT"})
    res, _ = fetch(url, etag='"v1"', last_modified="Tue, 10 Jun 2025 08:00:00 GMT")
    assert res.not_modified and res.status == 304 and res.error_kind is None
    assert [h.status for h in server.hits("/feed")] == [304]
    sent = server.hits("/feed")[0].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Tue, 10 Jun 2025 08:00:00 GMT"


NOT_FOUND = "not found (the address is wrong or the page was removed)"
REFUSED = "access refused; check the address or whether it needs a login"
SERVER_ERROR = "a server error, will retry later"


@pytest.mark.parametrize("status,kind,says", [(404, "http_4xx", NOT_FOUND), (403, "http_4xx", REFUSED),
                                              (410, "http_4xx", NOT_FOUND), (418, "http_4xx", None),
                                              (500, "http_5xx", SERVER_ERROR), (502, "http_5xx", SERVER_ERROR)])
def test_http_errors_are_classified(server, status, kind, says):
    url = server.route("/x", status=status, body=b"nope")
    res, _ = fetch(url)
    assert res.error_kind == kind and res.status == status
    assert res.error == f"{url} answered HTTP {status}" + (f": {says}" if says else "")


def test_5xx_is_retried_once_then_reported(server):
    url = server.route("/flaky", status=503, body=b"busy")
    res, n = fetch(url)
    assert res.error_kind == "http_5xx" and res.attempts == 2 and n == 2


def test_429_records_retry_after_and_does_not_hammer(server):
    url = server.route("/slowdown", status=429, headers={"Retry-After": "120"})
    res, n = fetch(url)
    assert res.error_kind == "http_429"
    assert res.retry_after_s == 120
    assert n == 1, "a long Retry-After is left to the feed schedule, not retried at once"
    assert res.error == f"{url} answered 429 Too Many Requests: the server asks us to slow down"


def test_retry_after_as_http_date():
    from datetime import datetime, timezone

    now = datetime(2025, 6, 10, 8, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Tue, 10 Jun 2025 08:05:00 GMT", now) == 300
    assert parse_retry_after("soon", now) is None


def test_timeout_is_reported(server):
    url = server.route("/hang", delay_s=3, body=b"late")
    res, _ = fetch(url, FetchSettings(timeout_s=0.5, total_timeout_s=2))
    # The read timeout (0.5 s) acted, on each of the two attempts, before the wall-clock limit.
    assert res.error_kind == "timeout" and res.attempts == 2
    assert res.error == f"{url} timed out after 0.5 s"
    assert res.elapsed_s < 2, res.elapsed_s


def test_slow_trickling_body_is_cut_by_the_total_timeout(server):
    url = server.route("/trickle", body=b"x" * 100, trickle_s=0.2)
    res, _ = fetch(url, FetchSettings(timeout_s=5, total_timeout_s=1.5))
    assert res.error_kind == "slow_body"
    assert res.error == f"{url} did not finish within 1.5 s (the body trickled in too slowly)"
    # The body would take 20 s; the wall-clock limit (1.5 s), not the read timeout (5 s), cut it.
    assert 1.4 <= res.elapsed_s < 5, res.elapsed_s


def test_redirect_loop_and_redirect_limit(server):
    server.route("/r1", status=302, headers={"Location": "/r2"})
    server.route("/r2", status=302, headers={"Location": "/r1"})
    res, _ = fetch(server.url("/r1"))
    assert res.error_kind == "redirect_loop"
    assert res.error == f"{server.url('/r1')} redirects in a loop (back to {server.url('/r1')})"
    for i in range(8):
        server.route(f"/c{i}", status=301, headers={"Location": f"/c{i + 1}"})
    server.route("/c8", body=b"end")
    res, _ = fetch(server.url("/c0"), FetchSettings(max_redirects=3))
    assert res.error_kind == "too_many_redirects"
    res, _ = fetch(server.url("/c0"), FetchSettings(max_redirects=10))
    assert res.ok and res.body == b"end" and res.final_url.endswith("/c8")


def test_declared_body_over_the_limit_is_not_read(server):
    url = server.route("/big", body=b"a" * 50_000)
    res, _ = fetch(url, FetchSettings(max_bytes=10_000))
    assert res.error_kind == "too_large"
    # Refused on the declared Content-Length, before reading.
    assert res.error == f"{url} is 50,000 bytes, over the limit of 10,000 (fetch.max_bytes)"


def test_endless_body_without_length_stops_at_the_limit(server):
    url = server.route("/endless", endless=True, content_type="text/html")
    res, _ = fetch(url, FetchSettings(max_bytes=200_000, timeout_s=5, total_timeout_s=10))
    assert res.error_kind == "too_large"
    # Stopped while streaming, at the limit.
    assert res.error == (f"{url} sent more than 200,000 bytes (after decompression); the rest was not read "
                         "(fetch.max_bytes)")


def test_gzip_bomb_is_stopped_after_decompression(server):
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # ~50 KB on the wire, 50 MB inflated
    url = server.route("/bomb", body=bomb, gzip=True)
    res, _ = fetch(url, FetchSettings(max_bytes=1_000_000))
    assert res.error_kind == "too_large"
    assert res.error == (f"{url} sent more than 1,000,000 bytes (after decompression); the rest was not read "
                         "(fetch.max_bytes)")


def test_refused_connection():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    res, _ = fetch(f"http://127.0.0.1:{port}/feed")
    assert res.error_kind == "connect"
    assert res.error == f"http://127.0.0.1:{port}/feed: connection failed (All connection attempts failed)"


def test_dns_failure_names_the_host():
    res, _ = fetch("http://no-such-host.invalid/feed")
    assert res.error_kind == "dns"
    assert res.error == "no-such-host.invalid: the host name does not resolve (DNS)"


def test_untrusted_links_to_private_addresses_are_blocked(server):
    url = server.route("/secret", body=b"internal")
    results, n = run_fetches(FetchSettings(), [FetchRequest(url=url, trusted=False)])
    assert results[0].error_kind == "blocked_address" and n == 0
    assert results[0].error == (f"{url} was not fetched: 127.0.0.1 resolves to 127.0.0.1, a loopback, private, "
                                "link-local or metadata address (only a feed marked `trusted = true` in "
                                "feeds.toml may use such an address, and only for its own scheme, host and port)")
    assert server.hits("/secret") == []


def test_redirect_to_a_private_address_is_blocked_on_the_hop(server):
    # Trust covers the operator's own host; a redirect to another host is checked again.
    url = server.route("/hop", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    results, n = run_fetches(FetchSettings(), [FetchRequest(url=url, trusted=True)])
    assert results[0].error_kind == "blocked_address"
    assert results[0].error == ("http://169.254.169.254/latest/meta-data was not fetched: 169.254.169.254 resolves "
                                "to 169.254.169.254, a loopback, private, link-local or metadata address (only a "
                                "feed marked `trusted = true` in feeds.toml may use such an address, and only for "
                                "its own scheme, host and port)")
    assert n == 1, "the redirect itself was followed no further"


def test_non_http_schemes_are_refused():
    res, n = fetch("file:///etc/passwd")
    assert res.error_kind == "bad_url" and n == 0
    assert res.error == "'file:///etc/passwd' is not an http(s) address; only http and https are fetched"


def test_concurrency_per_host_is_bounded(server):
    import threading

    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def body():
        import time

        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.1)
        with lock:
            active["now"] -= 1
        return b"ok"

    for i in range(12):
        server.route(f"/p{i}", body=body)
    reqs = [FetchRequest(url=server.url(f"/p{i}"), trusted=True) for i in range(12)]
    results, n = run_fetches(FetchSettings(concurrency=8, per_host=3), reqs)
    assert len(results) == n == 12 and all(r.ok for r in results)
    # Exactly the per-host limit: never more, and requests did run in parallel up to it.
    assert active["max"] == 3, active["max"]


@pytest.fixture
def sites():
    """Five sites on distinct loopback addresses: to the fetcher, five hosts."""
    from tests.support import httpserver

    started = [httpserver.start(f"127.0.0.{20 + i}") for i in range(5)]
    yield [srv for srv, _ in started]
    for srv, _ in started:
        srv.shutdown()
        srv.server_close()


def test_pages_fetched_round_robin_over_more_hosts_than_slots_reuse_their_connections(sites):
    # The order defwatch fetches pages in (flows.pipeline.interleave_hosts): one page of each host
    # in turn, with fewer requests in flight (4) than hosts (5). A pool shared by all hosts and
    # capped at the 4 in flight closed a host's idle connection to open the next host's: about one
    # connection per request (40 here).
    for srv in sites:
        for i in range(8):
            srv.route(f"/p{i}", body=b"<html>page</html>", delay_s=0.01)
    reqs = [FetchRequest(url=srv.url(f"/p{i}"), trusted=True) for i in range(8) for srv in sites]
    results, n = run_fetches(FetchSettings(concurrency=4, per_host=2), reqs)
    assert n == 40 and all(r.ok for r in results)
    per_site = [srv.connections for srv in sites]
    assert max(per_site) <= 2, per_site  # at most per_host connections to a host, kept for its 8 pages


def test_clients_of_hosts_not_used_lately_are_closed(sites, monkeypatch):
    import asyncio
    import time

    from flows.sources import fetch as fetch_mod

    monkeypatch.setattr(fetch_mod, "KEPT_HOST_CLIENTS", 2)
    for srv in sites:
        srv.route("/a", body=b"ok")

    async def main():
        async with fetch_mod.Fetcher(FetchSettings(concurrency=4, per_host=2)) as f:
            for srv in sites:  # one host after the other
                assert (await f.fetch(FetchRequest(url=srv.url("/a"), trusted=True))).ok
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and [s.open_connections for s in sites] != [0, 0, 0, 1, 1]:
                await asyncio.sleep(0.02)
            return [s.open_connections for s in sites]

    # The two most recently used hosts keep their connection open; the others' were closed.
    assert asyncio.run(main()) == [0, 0, 0, 1, 1]
    assert [s.connections for s in sites] == [1, 1, 1, 1, 1]
