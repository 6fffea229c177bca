"""Server-side request forgery, end to end: an untrusted feed (served by a local server the
operator registered) links to loopback, private, link-local and metadata addresses and to other
schemes. The pipeline refuses each link before connecting and records why; a canary server on
loopback proves that no request reached it. Only loopback addresses ever receive traffic here:
the guard refuses 10.0.0.1 and 169.254.169.254 before any connection is attempted."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from flows import pipeline
from flows.sources.fetch import FetchRequest, run_fetches
from flows.sources.registry import FeedDef
from flows.settings import FetchSettings, Settings
from tests.conftest import REPO
from tests.reliability.faults_support import run_defwatch
from tests.reliability.hostile import HostileServer, Resp
from tests.reliability.support import SlowSampleServer, child_env, query_db, snapshot, write_registry


def _feed(links: list[str]) -> bytes:
    items = "".join(f"<item><title>t{i}</title><link>{l}</link><description>summary {i} of the story</description></item>"
                    for i, l in enumerate(links))
    return f'<rss version="2.0"><channel><title>evil</title>{items}</channel></rss>'.encode()


def _first_address(host: str) -> str:
    return socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0][4][0]


def test_links_to_internal_addresses_are_refused_before_connecting(monkeypatch):
    site, canary = HostileServer(), HostileServer()
    try:
        cport = canary.server_address[1]
        canary.add("/", Resp(body=b"<html>internal</html>"))
        site.add("/redirect-to-canary", Resp(status=302, headers={"Location": f"http://127.0.0.1:{cport}/secret"}, length=0))
        links = {
            f"http://127.0.0.1:{cport}/secret": "blocked_address",
            f"http://localhost:{cport}/secret": "blocked_address",
            f"http://[::1]:{cport}/secret": "blocked_address",
            f"http://127.1:{cport}/secret": "blocked_address",
            f"http://2130706433:{cport}/secret": "blocked_address",     # 127.0.0.1 as one number
            f"http://0.0.0.0:{cport}/secret": "blocked_address",
            "http://10.0.0.1/admin": "blocked_address",
            "http://192.168.1.1/": "blocked_address",
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/": "blocked_address",
            "http://[fd00::1]/": "blocked_address",
            "file:///etc/passwd": "bad_url",
            f"gopher://127.0.0.1:{cport}/_SET%20x": "bad_url",
            f"ftp://127.0.0.1:{cport}/": "bad_url",
            site.url("/redirect-to-canary"): "blocked_address",          # the hop is checked too
        }
        feed_url = site.add("/feed.xml", Resp(body=_feed(list(links)), content_type="application/rss+xml"))
        # The feed is on loopback, so it must be trusted to be fetched at all; trust covers its
        # own scheme, host and port, and every other address in it is guarded (the canary listens
        # on another port of the same host).
        feed = FeedDef(name="evil", url=feed_url, trusted=True)
        settings = Settings(fetch={"timeout_s": 2, "total_timeout_s": 4})
        now = datetime.now(timezone.utc)
        polls, _ = pipeline.poll_feeds([feed], {}, settings, now)
        assert polls[0].state["last_outcome"] == "ok"
        cands = pipeline.plan_articles(polls)
        assert len(cands) == len(links)
        fetched, _ = pipeline.fetch_pages(cands, settings)
        rows, errors, counts = pipeline.build_rows(cands, fetched, [None] * len(cands), {}, "run1", now)
    finally:
        site.stop()
        canary.stop()
    assert canary.total_requests() == 0, "a request reached the internal (canary) server"
    # (feedparser writes file:///etc/passwd as file://etc/passwd; candidates keep the feed's order)
    for (link, kind), r in zip(links.items(), fetched):
        assert r.error_kind == kind, (link, r.error_kind, r.error)
        assert r.status is None or link.endswith("redirect-to-canary"), "refused before any request"
    # Recorded per article; the feed's own summary is stored instead (nothing fetched).
    assert counts["pages_failed"] == len(links) and len(errors) == len(links)
    assert {e["kind"] for e in errors} == {"blocked_address", "bad_url"}
    assert all(r["text_source"] == "feed_summary" for r in rows)
    meta = next(e for e in errors if "169.254.169.254" in e["subject"])
    assert "not fetched" in meta["message"] and "link-local or metadata" in meta["message"]


def test_a_trusted_feed_is_trusted_for_its_own_scheme_host_and_port_only():
    site, canary = HostileServer(), HostileServer()
    try:
        cport = canary.server_address[1]
        other_name = f"http://localhost:{cport}/secret"      # another host name, on loopback
        other_port = f"http://127.0.0.1:{cport}/secret"      # the feed's own host, another port
        canary.add("/secret", Resp(body=b"<html>internal</html>"))
        own = site.add("/own", Resp(body=b"<html><body><p>own page</p></body></html>"))
        feed_url = site.add("/feed.xml", Resp(body=_feed([other_name, own, other_port]),
                                              content_type="application/rss+xml"))
        settings = Settings(fetch={"timeout_s": 2, "total_timeout_s": 4})
        polls, _ = pipeline.poll_feeds([FeedDef(name="demo", url=feed_url, trusted=True)], {}, settings,
                                       datetime.now(timezone.utc))
        fetched, _ = pipeline.fetch_pages(pipeline.plan_articles(polls), settings)
    finally:
        site.stop()
        canary.stop()
    by_url = {r.request.url: r for r in fetched}
    assert by_url[own].ok, "the trusted origin's own pages are fetched"
    for link in (other_name, other_port):
        assert by_url[link].error_kind == "blocked_address", (link, by_url[link].error)
        host, ip = ("localhost", _first_address("localhost")) if "localhost" in link else ("127.0.0.1", "127.0.0.1")
        assert by_url[link].error == (
            f"{link} was not fetched: {host} resolves to {ip}, a loopback, private, link-local or metadata "
            "address (only a feed marked `trusted = true` in feeds.toml may use such an address, and only for "
            "its own scheme, host and port)")
    assert canary.total_requests() == 0


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_dns_rebinding_connects_to_the_address_that_was_checked(scheme):
    """A name that answers a public address to the check and loopback to a second lookup: the
    fetcher looks it up once and connects to the public address it checked (in a network
    namespace of its own, where 8.8.8.8 is a local server; see rebinding_child.py). Over https the
    pinned connection still sends the name (SNI) and verifies the certificate against it."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare(1) and ip(8) to give the attack a network namespace of its own")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here (unshare -n: {probe.stderr.decode().strip()}); "
                    "the rebinding test needs one to serve a public address locally")
    run = subprocess.run(["unshare", "-n", sys.executable, "-m", "tests.reliability.rebinding_child",
                          *(["--https"] if scheme == "https" else [])],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout)
    assert got["canary_hits"] == [], "the connection went to the rebound (loopback) address"
    assert got["lookups"] == 1, "the name was resolved once: for the check and the connection"
    assert got["ok"] and "public" in got["body"]
    assert got["public_hits"] == [{"path": "/page", "host": f"rebind.test:{got['port']}"}], "Host header kept"
    if scheme == "https":
        assert got["public_sni"] == ["rebind.test"] and got["canary_sni"] == [], "SNI names the host, not the address"


def test_a_guard_lookup_that_fails_refuses_the_request(monkeypatch):
    """Fail closed: when the lookup fails, nothing is fetched, even if a later lookup (of the kind
    a connection would make by itself) would answer."""
    canary = HostileServer()
    port = canary.server_address[1]
    canary.add("/secret", Resp(body=b"<html>internal</html>"))
    real, lookups = socket.getaddrinfo, []

    def failing_once(host, *args, **kwargs):
        if host != "flaky.test":
            return real(host, *args, **kwargs)
        lookups.append(host)
        if len(lookups) == 1:
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", failing_once)
    try:
        results, requests = run_fetches(FetchSettings(timeout_s=2, total_timeout_s=4),
                                        [FetchRequest(url=f"http://flaky.test:{port}/secret")])
    finally:
        canary.stop()
    assert canary.total_requests() == 0 and requests == 0
    # The retry of a transient failure looks the name up again and is refused for the address.
    assert results[0].attempts == 2 and len(lookups) == 2
    assert results[0].error_kind == "blocked_address"
    assert results[0].error.startswith(f"http://flaky.test:{port}/secret was not fetched: flaky.test resolves to "
                                       "127.0.0.1, a loopback")
    # Without a retry, the failed lookup itself is what is recorded.
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: (_ for _ in ()).throw(
        socket.gaierror(socket.EAI_NONAME, "Name or service not known")) if host == "flaky.test" else real(host, *a, **k))
    res = run_fetches(FetchSettings(), [FetchRequest(url=f"http://flaky.test:{port}/secret")])[0][0]
    assert res.error_kind == "dns" and res.error == "flaky.test: the host name does not resolve (DNS)"


@pytest.mark.flow
def test_untrusted_feeds_on_a_private_address_are_refused_and_the_fixed_rerun_matches_a_clean_run(
        tmp_path, prefect_api_url):
    """The demo's feeds on loopback, not marked trusted: each is refused with one line on screen and
    in run_errors, no request reaches the server, and once they are marked trusted the next run
    ends exactly like a clean run."""
    srv = SlowSampleServer().start()
    try:
        env = child_env(prefect_api_url, {"DEFWATCH_WORKERS": "1"})
        trusted = write_registry(tmp_path, srv.base_url)
        untrusted = tmp_path / "untrusted.toml"
        text = trusted.read_text()
        assert text.count("trusted = true") == 4
        untrusted.write_text(text.replace("trusted = true", "trusted = false"))
        feeds = dict(zip([line.split('"')[1] for line in text.splitlines() if line.startswith("name")],
                         [line.split('"')[1] for line in text.splitlines() if line.startswith("url")]))

        db = tmp_path / "fault.duckdb"
        bad = run_defwatch(["ingest", "--db", str(db), "--feeds", str(untrusted), "--force", "--json"], env)
        assert bad.returncode == 0 and bad.leftovers == [], bad.stderr[-3000:]
        assert "Traceback" not in bad.stderr
        assert srv.arrivals == [], "a refused feed was requested"
        recorded = query_db(db, "SELECT subject, kind, message FROM run_errors WHERE scope = 'feed' ORDER BY subject")
        expected = sorted(
            (name, "blocked_address",
             f"{url} was not fetched: 127.0.0.1 resolves to 127.0.0.1, a loopback, private, link-local or metadata "
             "address (only a feed marked `trusted = true` in feeds.toml may use such an address, and only for its "
             "own scheme, host and port)") for name, url in feeds.items())
        assert recorded == expected
        for name, _, message in expected:
            on_screen = [line for line in bad.lines if message in line]
            assert len(on_screen) == 1 and f"feed {name} failed (blocked_address)" in on_screen[0], bad.stderr[-3000:]

        fixed = run_defwatch(["ingest", "--db", str(db), "--feeds", str(trusted), "--force", "--json"], env)
        assert fixed.returncode == 0 and fixed.leftovers == [], fixed.stderr[-3000:]
        clean_db = tmp_path / "clean.duckdb"
        clean = run_defwatch(["ingest", "--db", str(clean_db), "--feeds", str(trusted), "--force", "--json"], env)
        assert clean.returncode == 0 and clean.leftovers == [], clean.stderr[-3000:]
        assert snapshot(db, srv.base_url).content() == snapshot(clean_db, srv.base_url).content()
    finally:
        srv.stop()
