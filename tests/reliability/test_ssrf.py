"""Server-side request forgery, end to end: an untrusted feed (served by a local server the
operator registered) links to loopback, private, link-local and metadata addresses and to other
schemes. The pipeline refuses each link before connecting and records why; a canary server on
loopback proves that no request reached it. Only loopback addresses ever receive traffic here:
the guard refuses 10.0.0.1 and 169.254.169.254 before any connection is attempted."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from flows import pipeline
from flows.sources.registry import FeedDef
from flows.settings import Settings
from tests.reliability.hostile import HostileServer, Resp


def _feed(links: list[str]) -> bytes:
    items = "".join(f"<item><title>t{i}</title><link>{l}</link><description>summary {i} of the story</description></item>"
                    for i, l in enumerate(links))
    return f'<rss version="2.0"><channel><title>evil</title>{items}</channel></rss>'.encode()


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
        # Registry feeds are always fetched (the operator listed them); the feed is not trusted,
        # so the private-address guard applies to every link inside it.
        feed = FeedDef(name="evil", url=feed_url, trusted=False)
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


def test_a_trusted_feed_is_trusted_for_its_own_host_only():
    site, canary = HostileServer(), HostileServer()
    try:
        link = f"http://localhost:{canary.server_address[1]}/secret"   # another host name, on loopback
        canary.add("/secret", Resp(body=b"<html>internal</html>"))
        own = site.add("/own", Resp(body=b"<html><body><p>own page</p></body></html>"))
        feed_url = site.add("/feed.xml", Resp(body=_feed([link, own]), content_type="application/rss+xml"))
        settings = Settings(fetch={"timeout_s": 2, "total_timeout_s": 4})
        polls, _ = pipeline.poll_feeds([FeedDef(name="demo", url=feed_url, trusted=True)], {}, settings,
                                       datetime.now(timezone.utc))
        fetched, _ = pipeline.fetch_pages(pipeline.plan_articles(polls), settings)
    finally:
        site.stop()
        canary.stop()
    assert fetched[1].ok, "the trusted host's own pages are fetched"
    assert fetched[0].error_kind == "blocked_address" and canary.total_requests() == 0
