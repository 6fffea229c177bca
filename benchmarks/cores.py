"""Cores: cleaning speed-up from 2 worker processes against 1, and trafilatura's bare floor.

    python benchmarks/cores.py            # 400 generated pages, 3 repeats
    python benchmarks/cores.py --quick    # 60 pages, 1 repeat (CI)

defwatch: what the ingest stream (flows/pages/stream.py) does, every page through
``ChunkedCleaner(CleanerPool(workers)).clean(page)`` (cleaning, then the extractor on the text,
in the worker; one page per job while a worker is free, up to 8 per job once all are busy, as
here where every page is ready at once), the pool started and warmed up beforehand (it lives for
the whole flow run). Floor: the same library work, ``trafilatura.bare_extraction`` with the same options then
``extractors.extract``, in a plain loop, and in a ProcessPoolExecutor(2) with
``map(chunksize=8)`` over all pages at once.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import _lib
from _lib import median, result, section


def pages(n: int) -> list[tuple[bytes, str, str]]:
    import _corpus

    feeds = max(1, n // 40)
    return [(_corpus.page_html(i % feeds, i // feeds), f"http://127.0.0.10/a/{i % feeds}/{i // feeds}.html",
             "text/html; charset=utf-8") for i in range(n)]


def _bare(item):
    import _floor

    import extractors

    body, url, _ = item
    doc = _floor.clean(body, url)
    return extractors.extract(doc["text"], None) if doc and doc["text"] else None


def time_pool(workers: int, items, repeat: int) -> list[float]:
    import asyncio

    from flows.pages.clean import CleanerPool
    from flows.pages.stream import ChunkedCleaner

    async def clean_all(cleaner: ChunkedCleaner, batch) -> None:
        await asyncio.gather(*(cleaner.clean(*it, None) for it in batch))

    out = []
    with CleanerPool(workers) as pool:
        # start the workers, import trafilatura and the extractor in them
        asyncio.run(clean_all(ChunkedCleaner(pool), items[: 2 * workers]))
        for _ in range(repeat):
            cleaner = ChunkedCleaner(pool)
            t = time.perf_counter()
            asyncio.run(clean_all(cleaner, items))
            out.append(len(items) / (time.perf_counter() - t))
    return out


def time_bare(workers: int, items, repeat: int) -> list[float]:
    out = []
    if workers == 1:
        _bare(items[0])
        for _ in range(repeat):
            t = time.perf_counter()
            for it in items:
                _bare(it)
            out.append(len(items) / (time.perf_counter() - t))
        return out
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as ex:
        list(ex.map(_bare, items[: 2 * workers]))
        for _ in range(repeat):
            t = time.perf_counter()
            list(ex.map(_bare, items, chunksize=8))
            out.append(len(items) / (time.perf_counter() - t))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--pages", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if a.quick:
        a.pages, a.repeat = 60, 1
    _lib.print_machine()
    items = pages(a.pages)
    section(f"cleaning {len(items)} pages ({sum(len(b) for b, _, _ in items) / len(items) / 1024:.1f} KB each), "
            f"{a.repeat} repeats, one task per page")
    p1 = time_pool(1, items, a.repeat)
    p2 = time_pool(2, items, a.repeat)
    b1 = time_bare(1, items, a.repeat)
    b2 = time_bare(2, items, a.repeat)
    for name, xs in (("CleanerPool(1)", p1), ("CleanerPool(2)", p2), ("bare x1", b1), ("bare pool(2)", b2)):
        print(f"{name:<15} pages/s: {', '.join(f'{x:.1f}' for x in xs)}")
    section("results (medians)")
    m1, m2, f1, f2 = median(p1), median(p2), median(b1), median(b2)
    result("cores.clean_1_worker_pages_per_s", m1, "pages/s", floor=f1, ratio=m1 / f1)
    result("cores.clean_2_workers_pages_per_s", m2, "pages/s", floor=f2, ratio=m2 / f2)
    result("cores.speedup_2_vs_1", m2 / m1, "x", floor=f2 / f1, ratio=(m2 / m1) / (f2 / f1), goal=">=1.7x",
           met=m2 / m1 >= 1.7, note="floor = bare trafilatura + extractor speed-up with 2 processes")


if __name__ == "__main__":
    main()
