"""Prototype: flows/fetch.py takes its global slot before its per-host slot.

    python benchmarks/fetch_order.py [--quick]

``Fetcher._fetch_once`` holds one of the ``concurrency`` global slots while ``_follow`` waits for
the URL's host slot (``per_host``). Candidates come in feed order (all of one site's articles
together), so the first 16 requests of a batch all target one host: 4 run and 12 wait, each
holding a global slot, and a batch is fetched 4 at a time instead of 16. This script fetches the
same pages with ``flows.pipeline.fetch_pages`` (no Prefect) as it is and with the slots taken
host-first (monkeypatched, see PATCHED below), and prints both rates.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import _lib
from _lib import median, result, section


def patch_host_first():
    """The proposed change: per hop, host slot, then global slot; the global slot is no longer held
    across the whole request in _fetch_once."""
    from flows import fetch

    async def _fetch_once(self, req):
        started = time.monotonic()
        res = fetch.FetchResult(request=req, final_url=req.url)
        try:
            await asyncio.wait_for(self._follow(req, res), timeout=self.settings.total_timeout_s)
        except asyncio.TimeoutError:
            res.error_kind = "slow_body" if res.status else "timeout"
            res.error = f"{res.final_url} did not finish within {self.settings.total_timeout_s:.0f} s"
            res.body = b""
        finally:
            res.elapsed_s = time.monotonic() - started
        return res

    orig_request = fetch.Fetcher._request

    async def _request(self, url, headers, res):
        async with self._global:  # _follow already holds the host slot here
            return await orig_request(self, url, headers, res)

    fetch.Fetcher._fetch_once = _fetch_once
    fetch.Fetcher._request = _request


def round_robin(cands):
    """The proposed plan order: one article per host in turn (flows/pipeline.py plan_articles)."""
    from itertools import chain, zip_longest
    from urllib.parse import urlsplit

    by_host: dict[str, list] = {}
    for c in cands:
        by_host.setdefault(urlsplit(c.original_url).hostname, []).append(c)
    return [c for c in chain.from_iterable(zip_longest(*by_host.values())) if c is not None]


def run(web, n_batches, batch, interleave=False) -> float:
    from flows import pipeline
    from flows.settings import Settings

    settings = Settings()
    cands = []
    for f, url in enumerate(web.feeds):
        base = url.rsplit("/feeds/", 1)[0]
        for i in range(web.cfg["items"]):
            cands.append(pipeline.Candidate(article_id=f"{f}-{i}", url=f"{base}/a/{f}/{i}.html",
                                            original_url=f"{base}/a/{f}/{i}.html", feed_name=f"f{f}", trusted=True,
                                            entry=None))
    cands = cands[: n_batches * batch]
    if interleave:
        cands = round_robin(cands)
    t = time.perf_counter()
    for i in range(0, len(cands), batch):
        results, _ = pipeline.fetch_pages(cands[i:i + batch], settings)
        assert all(r.ok for r in results)
    return len(cands) / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    feeds, items, batches = (10, 20, 2) if a.quick else (50, 40, 10)
    if a.quick:
        a.repeat = 1
    _lib.print_machine()
    section(f"fetch_pages: {batches} batches of 100 pages in feed order, 50 ms per request, concurrency 16, 4 per host")
    with _lib.Web(feeds=feeds, items=items, hosts=feeds, latency_s=0.05) as web:
        now = [run(web, batches, 100) for _ in range(a.repeat)]
        patch_host_first()
        fixed = [run(web, batches, 100) for _ in range(a.repeat)]
        rr = [run(web, batches, 100, interleave=True) for _ in range(a.repeat)]
    print(f"as is: {', '.join(f'{x:.0f}' for x in now)} pages/s; host slot first: {', '.join(f'{x:.0f}' for x in fixed)} "
          f"pages/s; host first + round-robin plan: {', '.join(f'{x:.0f}' for x in rr)} pages/s")
    ideal = 16 / 0.05
    result("fetch_order.pages_per_s_as_is", median(now), "pages/s", floor=ideal, ratio=median(now) / ideal,
           note="floor = 16 in flight / 50 ms")
    result("fetch_order.pages_per_s_host_first", median(fixed), "pages/s", floor=ideal, ratio=median(fixed) / ideal)
    result("fetch_order.pages_per_s_host_first_round_robin", median(rr), "pages/s", floor=ideal, ratio=median(rr) / ideal)
    result("fetch_order.gain", median(rr) / median(now), "x", note="host first + round-robin vs as is")


if __name__ == "__main__":
    main()
