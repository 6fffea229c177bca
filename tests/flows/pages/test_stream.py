"""The page stream against a real HTTP server on loopback and a real cleaning process pool: pages
come out in plan order whatever order the network answers in, failures are pages with their
error (not exceptions), the window bounds what is in flight, and a broken pool stops the run."""

from __future__ import annotations

import threading
import time

import pytest

from flows.pages.clean import CleanerPool
from flows.sources.parse import FeedEntry
from flows.pages.planned import PlannedArticle
from flows.settings import FetchSettings
from flows.pages.stream import PageStream

ARTICLE = ("<html lang='en'><head><title>{t}</title></head><body><article><h1>{t}</h1>"
           "<p>The European Union and Canada signed a security and defence partnership in Brussels on "
           "Monday, officials said, after months of talks about industrial cooperation.</p>"
           "<p>Ministers from both sides described the pact as a framework for joint procurement, "
           "exercises and the exchange of classified information over the coming decade.</p>"
           "<p>The agreement follows similar arrangements with Japan and South Korea, and the bloc "
           "expects further talks with Australia before the end of the year, a spokesperson added.</p>"
           "</article></body></html>")


def _cand(url: str, i: int) -> PlannedArticle:
    entry = FeedEntry(link=url, title=f"t{i}", published=None, summary="a summary that is long enough " * 4, content=None)
    return PlannedArticle(article_id=f"a{i:03d}", url=url, original_url=url, feed_name="f", trusted=True, entry=entry)


def _settings() -> FetchSettings:
    return FetchSettings(timeout_s=5, total_timeout_s=10, concurrency=8, per_host=8)


def test_batches_come_in_plan_order_with_pages_cleaned_and_extracted(server):
    # Early pages answer slowly, late ones at once: completion order is not plan order.
    cands = []
    for i in range(12):
        url = server.route(f"/p{i}", body=ARTICLE.format(t=f"Title {i}").encode(),
                           headers={"Content-Type": "text/html; charset=utf-8"}, delay_s=0.3 if i < 4 else 0.0)
        cands.append(_cand(url, i))
    with CleanerPool(2) as pool, PageStream(cands, _settings(), pool, batch_size=5) as stream:
        batches = list(stream.batches())
    assert [len(b) for b in batches] == [5, 5, 2]
    pages = [p for b in batches for p in b]
    assert [p.cand.article_id for p in pages] == [c.article_id for c in cands]
    assert all(p.fetched.ok and p.fetched.body == b"" for p in pages)  # bytes dropped once cleaned
    assert pages[7].cleaned.title == "Title 7"
    # The extractor ran in the worker: the partnership sentence gives an event.
    assert any(ev["type"] == "partnership" for ev in pages[0].cleaned.events)
    assert stream.requests_made == 12


def test_a_failed_page_is_a_page_with_its_error(server):
    ok = server.route("/ok", body=ARTICLE.format(t="fine").encode(), headers={"Content-Type": "text/html"})
    gone = server.route("/gone", status=404, body=b"no")
    with CleanerPool(1) as pool, PageStream([_cand(ok, 0), _cand(gone, 1)], _settings(), pool, batch_size=10) as s:
        (batch,) = list(s.batches())
    assert batch[0].fetched.ok and batch[0].cleaned.text
    assert batch[1].fetched.status == 404 and batch[1].fetched.error_kind == "http_4xx" and batch[1].cleaned is None


def test_the_window_bounds_pages_in_flight(server):
    cands = [_cand(server.route(f"/w{i}", body=ARTICLE.format(t=str(i)).encode(),
                                headers={"Content-Type": "text/html"}), i) for i in range(30)]
    with CleanerPool(1) as pool, PageStream(cands, _settings(), pool, batch_size=5, window=10) as stream:
        it = stream.batches()
        first = next(it)
        # The flow has taken one batch and stores it: at most `window` pages beyond it are requested.
        threading.Event().wait(0.5)
        requested = sum(len(server.hits(f"/w{i}")) for i in range(30))
        rest = list(it)
    assert len(first) == 5 and 10 <= requested <= 15
    assert sum(len(b) for b in rest) == 25


def test_a_broken_cleaning_pool_stops_the_stream_with_its_error(server):
    url = server.route("/x", body=ARTICLE.format(t="x").encode(), headers={"Content-Type": "text/html"})

    class Broken(CleanerPool):
        def submit(self, fn, *args):
            raise RuntimeError("the cleaning processes died")

    with Broken(1) as pool, PageStream([_cand(url, 0)], _settings(), pool, batch_size=1) as stream:
        with pytest.raises(RuntimeError, match="cleaning processes died"):
            list(stream.batches())


def test_next_batch_ready_says_whether_the_flow_would_wait(server):
    slow = [_cand(server.route(f"/s{i}", body=ARTICLE.format(t=str(i)).encode(), delay_s=2.0 if i == 3 else 0,
                               headers={"Content-Type": "text/html"}), i) for i in range(4)]
    with CleanerPool(1) as pool, PageStream(slow, _settings(), pool, batch_size=2) as stream:
        it = stream.batches()
        assert len(next(it)) == 2
        assert not stream.next_batch_ready(), "page 3 is still on its way"
        deadline = time.monotonic() + 10
        while not stream.next_batch_ready() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stream.next_batch_ready()
        assert [p.cand.article_id for p in next(it)] == [c.article_id for c in slow[2:]]


def test_bodies_waiting_for_a_cleaner_are_bounded_in_bytes(server):
    """A window of many pages must not mean as many large bodies queued for the cleaners."""
    big = ARTICLE.replace("</article>", "<p>" + "filler words " * 20_000 + "</p></article>")  # ~260 KB
    cands = [_cand(server.route(f"/b{i}", body=big.format(t=str(i)).encode(), headers={"Content-Type": "text/html"}), i)
             for i in range(24)]
    budget = 3 * len(big)
    with CleanerPool(1) as pool, PageStream(cands, _settings(), pool, batch_size=24, pending_bytes=budget) as stream:
        pages = [p for batch in stream.batches() for p in batch]
    assert len(pages) == 24 and all(p.cleaned is not None for p in pages)
    assert 0 < stream.cleaner.pending_peak <= budget and stream.cleaner.pending_now == 0


def test_chunked_cleaner_sends_pages_alone_to_a_free_pool_and_together_to_a_busy_one():
    import asyncio

    from flows.pages.stream import ChunkedCleaner

    pages = [(ARTICLE.format(t=f"marker{i}").encode(), f"http://example.org/{i}", "text/html", None) for i in range(20)]

    async def clean(cleaner, items):
        return await asyncio.gather(*(cleaner.clean(*it) for it in items))

    with CleanerPool(1) as pool:
        alone = ChunkedCleaner(pool)
        [one] = asyncio.run(clean(alone, pages[:1]))
        busy = ChunkedCleaner(pool, max_chunk=8)
        many = asyncio.run(clean(busy, pages))
    assert alone.largest_chunk == 1 and "marker0" in one.text
    # Two jobs go out at once (one running, one queued per worker); the other 18 pages wait and
    # leave in chunks of at most 8.
    assert busy.largest_chunk == 8 and busy.jobs == 0
    assert [f"marker{i}" in r.text for i, r in enumerate(many)] == [True] * 20
