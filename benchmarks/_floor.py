"""The floor of end-to-end ingestion: the same library work as `defwatch ingest`, no orchestration.

    python benchmarks/_floor.py '{"feeds": [...urls], "db": "floor.duckdb", "concurrency": 16,
                                  "per_host": 4, "workers": 2, "client_per_host": true}'

httpx (async, same global and per-host concurrency as defwatch's defaults; one client per host,
or one for all with "client_per_host": false), feedparser on each
feed as it arrives, trafilatura ``bare_extraction`` with the options of flows/pages/clean.py in a
2-process pool (pages are cleaned while others are still being fetched), the project's extractor,
and one bulk Arrow insert per table into DuckDB. Prints one JSON line of timings.
"""

from __future__ import annotations

import json
import sys
import time

T_START = time.time()

import multiprocessing  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402


def _warm():
    import trafilatura  # noqa: F401


def clean(body: bytes, url: str):
    import trafilatura

    html = body.decode("utf-8", errors="replace")
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False)
    if doc is None:
        return None
    d = doc.as_dict()
    return {"text": d.get("text"), "title": d.get("title"), "author": d.get("author"),
            "site_name": d.get("sitename"), "date": d.get("date")}


def main() -> None:
    cfg = json.loads(sys.argv[1])
    # The pool forks before any thread or event loop exists; workers import trafilatura meanwhile.
    pool = ProcessPoolExecutor(cfg.get("workers", 2), mp_context=multiprocessing.get_context("fork"),
                               initializer=_warm)
    for _ in range(cfg.get("workers", 2)):
        pool.submit(int)

    import asyncio
    import calendar
    from collections import defaultdict
    from datetime import date, datetime, timezone
    from urllib.parse import urlsplit

    import duckdb
    import feedparser
    import httpx
    import pyarrow as pa

    import extractors

    first_req = []
    stats = {"feeds": 0, "pages": 0, "failed": 0}

    async def run() -> list[dict]:
        sem = asyncio.Semaphore(cfg.get("concurrency", 16))
        hosts = defaultdict(lambda: asyncio.Semaphore(cfg.get("per_host", 4)))
        loop = asyncio.get_running_loop()
        rows: list[dict] = []
        per_host = cfg.get("per_host", 4)
        # One client for every host (the plain way), or one per host ("client_per_host", as
        # flows/sources/fetch.py does since the fifth round, so that a host's connections are kept alive
        # between its requests); each is closed at the end.
        clients: dict[str | None, httpx.AsyncClient] = {}
        # One TLS context for all clients, as flows/sources/fetch.py keeps one: httpx builds a new
        # one per client otherwise (~20 ms of CPU each, a second for 50 hosts: an inflated floor).
        tls = httpx.create_ssl_context(trust_env=False)

        def client_for(host):
            key = host if cfg.get("client_per_host") else None
            if key not in clients:
                cap = per_host if cfg.get("client_per_host") else cfg.get("concurrency", 16)
                clients[key] = httpx.AsyncClient(
                    timeout=20, trust_env=False, verify=tls,
                    limits=httpx.Limits(max_connections=cap, max_keepalive_connections=cap),
                    headers={"User-Agent": "defwatch-floor/1", "Accept-Encoding": "gzip"})
            return clients[key]

        async def get(url):
            # Host slot first, then a global one: a request waiting for its host holds no global slot.
            host = urlsplit(url).hostname
            async with hosts[host], sem:
                if not first_req:
                    first_req.append(time.time())
                return await client_for(host).get(url)

        async def page(entry):
            link, title, published = entry
            try:
                r = await get(link)
            except httpx.HTTPError:
                stats["failed"] += 1
                return
            if r.status_code != 200:
                stats["failed"] += 1
                return
            stats["pages"] += 1
            doc = await loop.run_in_executor(pool, clean, r.content, link)
            if doc is None or not doc["text"]:
                return
            pub = datetime.fromtimestamp(calendar.timegm(published), tz=timezone.utc) if published else None
            events = extractors.extract(doc["text"], pub.date() if pub else None)
            rows.append({"url": link, "title": doc["title"] or title, "author": doc["author"],
                         "site_name": doc["site_name"], "published": pub, "text": doc["text"],
                         "events": [e.to_dict() for e in events]})

        async def feed(url):
            r = await get(url)
            stats["feeds"] += 1
            d = feedparser.parse(r.content, response_headers={"content-location": url,
                                                               "content-type": r.headers.get("content-type", "")})
            entries = [(e.get("link"), e.get("title"), e.get("published_parsed")) for e in d.entries if e.get("link")]
            await asyncio.gather(*(page(e) for e in entries))

        try:
            await asyncio.gather(*(feed(u) for u in cfg["feeds"]))
        finally:
            for c in clients.values():
                await c.aclose()
        return rows

    rows = asyncio.run(run())
    t_fetched = time.time()
    pool.shutdown()
    con = duckdb.connect(cfg["db"])
    con.execute("CREATE TABLE articles (url VARCHAR PRIMARY KEY, title VARCHAR, author VARCHAR, site_name VARCHAR, "
                "published TIMESTAMPTZ, text VARCHAR)")
    con.execute("CREATE TABLE mentions (url VARCHAR, type VARCHAR, parties VARCHAR[], status VARCHAR, "
                "date VARCHAR, location VARCHAR, evidence VARCHAR)")
    arts = pa.table({c: [r[c] for r in rows] for c in ("url", "title", "author", "site_name", "published", "text")})
    ments = [dict(url=r["url"], type=e["type"], parties=e["parties"], status=e.get("status"), date=e.get("date"),
                  location=e.get("location"), evidence=e.get("evidence")) for r in rows for e in r["events"]]
    mt = pa.table({c: [m[c] for m in ments] for c in ("url", "type", "parties", "status", "date", "location", "evidence")})
    con.execute("INSERT INTO articles SELECT * FROM arts")
    con.execute("INSERT INTO mentions SELECT * FROM mt")
    n = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    con.close()
    t_end = time.time()
    print(json.dumps({"t_start": T_START, "t_first_request": first_req[0] if first_req else None,
                      "t_fetched": t_fetched, "t_end": t_end, "articles": n, "mentions": len(ments), **stats}))


if __name__ == "__main__":
    main()
