"""The floor of one scheduled run: the same library work as a `defwatch ingest` of what is new, no
orchestration. A plain script, run once per scheduled run by benchmarks/serve_runs.py::

    python benchmarks/_floor_incremental.py '{"feeds": [...urls], "state": "floor.json", "db": "floor.duckdb",
                                              "concurrency": 16, "per_host": 4, "prime": false}'

A conditional GET of every feed (If-None-Match / If-Modified-Since with the ETag and Last-Modified
of the last answer, as defwatch sends them) with httpx at defwatch's default concurrency (16 in
flight, 4 per host, one client per host sharing one TLS context, as flows/sources/fetch.py keeps
them); feedparser on the feeds that answered 200; a GET of each entry not seen before; trafilatura
``bare_extraction`` with the options of flows/pages/clean.py and the project's extractor, in this
process once the pages are in (a pool of cleaning processes costs more to start than a run's ~20
pages take); one bulk Arrow insert per table into DuckDB. The ETags and the known URLs are kept in the "state" JSON file
between runs, as defwatch keeps them in its database. Libraries a run does not need (feedparser
when every feed answered 304; trafilatura, the extractor and DuckDB when nothing is new) are not
imported: the floor is the least a plain script has to do.

"prime": true records the feeds' ETags and entries as seen without fetching the pages (the
backfill, which the benchmark does not measure). Prints one JSON line of counts and timings.
"""

from __future__ import annotations

import time

T_START = time.time()

import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import httpx  # noqa: E402

from _floor import clean  # noqa: E402


async def fetch(cfg: dict, state: dict) -> tuple[list[tuple[str, bytes, tuple | None, str | None]], Counter]:
    """Poll every feed; answer the new pages (url, body, published, feed title) and the feed statuses."""
    per_host = cfg.get("per_host", 4)
    sem = asyncio.Semaphore(cfg.get("concurrency", 16))
    hosts = defaultdict(lambda: asyncio.Semaphore(per_host))
    clients: dict[str, httpx.AsyncClient] = {}
    # One TLS context for all clients, as flows/sources/fetch.py shares one: each client making its
    # own loads the CA bundle again (~20 ms of CPU per host).
    tls = httpx.create_ssl_context(trust_env=False)
    known = state["known"]
    statuses: Counter = Counter()
    pages: list = []

    async def get(url: str, headers: dict | None = None) -> httpx.Response:
        # Host slot first, then a global one: a request waiting for its host holds no global slot.
        host = urlsplit(url).hostname
        async with hosts[host], sem:
            if host not in clients:
                clients[host] = httpx.AsyncClient(
                    timeout=20, trust_env=False, verify=tls,
                    limits=httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host),
                    headers={"User-Agent": "defwatch-floor/1", "Accept-Encoding": "gzip, deflate"})
            return await clients[host].get(url, headers=headers)

    async def page(link: str, published, title):
        r = await get(link)
        if r.status_code == 200:
            pages.append((link, r.content, published, title))
        known[link] = True

    async def feed(url: str):
        cond = state["feeds"].get(url, {})
        headers = {k: v for k, v in (("If-None-Match", cond.get("etag")),
                                     ("If-Modified-Since", cond.get("last_modified"))) if v}
        r = await get(url, headers)
        statuses[r.status_code] += 1
        if r.status_code != 200:
            return
        state["feeds"][url] = {"etag": r.headers.get("etag"), "last_modified": r.headers.get("last-modified")}
        import feedparser

        d = feedparser.parse(r.content, response_headers={"content-location": url,
                                                          "content-type": r.headers.get("content-type", "")})
        new = [e for e in d.entries if e.get("link") and e["link"] not in known]
        if cfg.get("prime"):
            known.update((e["link"], True) for e in new)
            return
        await asyncio.gather(*(page(e["link"], e.get("published_parsed"), e.get("title")) for e in new))

    try:
        await asyncio.gather(*(feed(u) for u in cfg["feeds"]))
    finally:
        for c in clients.values():
            await c.aclose()
    return pages, statuses


def store(db: str, pages: list) -> tuple[int, int]:
    import calendar
    from datetime import datetime, timezone

    import duckdb
    import pyarrow as pa

    import extractors

    rows, ments = [], []
    for link, body, published, title in pages:
        doc = clean(body, link)
        if doc is None or not doc["text"]:
            continue
        pub = datetime.fromtimestamp(calendar.timegm(published), tz=timezone.utc) if published else None
        rows.append({"url": link, "title": doc["title"] or title, "author": doc["author"],
                     "site_name": doc["site_name"], "published": pub, "text": doc["text"]})
        ments += [dict(url=link, type=e["type"], parties=e["parties"], status=e.get("status"), date=e.get("date"),
                       location=e.get("location"), evidence=e.get("evidence"))
                  for e in (ev.to_dict() for ev in extractors.extract(doc["text"], pub.date() if pub else None))]
    con = duckdb.connect(db)
    con.register("arts", pa.table({c: [r[c] for r in rows]
                                   for c in ("url", "title", "author", "site_name", "published", "text")}))
    con.register("mt", pa.table({c: [m[c] for m in ments]
                                 for c in ("url", "type", "parties", "status", "date", "location", "evidence")}))
    con.execute("CREATE TABLE IF NOT EXISTS articles (url VARCHAR PRIMARY KEY, title VARCHAR, author VARCHAR, "
                "site_name VARCHAR, published TIMESTAMPTZ, text VARCHAR)")
    con.execute("CREATE TABLE IF NOT EXISTS mentions (url VARCHAR, type VARCHAR, parties VARCHAR[], status VARCHAR, "
                "date VARCHAR, location VARCHAR, evidence VARCHAR)")
    con.execute("INSERT INTO articles SELECT * FROM arts")
    if ments:
        con.execute("INSERT INTO mentions SELECT * FROM mt")
    con.close()
    return len(rows), len(ments)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    state_file = Path(cfg["state"])
    state = json.loads(state_file.read_text()) if state_file.exists() else {"feeds": {}, "known": {}}
    pages, statuses = asyncio.run(fetch(cfg, state))
    t_fetched = time.time()
    articles, mentions = store(cfg["db"], pages) if pages else (0, 0)
    state_file.write_text(json.dumps(state))
    print(json.dumps({"t_start": T_START, "t_fetched": t_fetched, "t_end": time.time(), "pages": len(pages),
                      "articles": articles, "mentions": mentions,
                      "feed_statuses": {str(k): v for k, v in statuses.items()}}))


if __name__ == "__main__":
    main()
