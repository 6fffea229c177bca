"""The benchmark web: generated news sites on loopback, each behind a simulated network latency.

Run by the benchmarks as a separate process (so that serving costs no GIL time in the process
being measured)::

    python benchmarks/_server.py '{"feeds": 50, "items": 40, "hosts": 25, "latency_s": 0.05}'

It prints one JSON line: the control URL and every feed's URL. Sites listen on distinct loopback
addresses (127.0.0.10, .11, ...) so per-host connection limits behave as they do against real,
distinct sites. Every answer waits ``latency_s`` first (time.sleep in the handler thread).
Feeds carry an ETag and answer 304 to a matching If-None-Match. The control server
(127.0.0.1, no latency) answers ``/_stats`` (request and connection counts, first and last request wall time)
and ``/_reset``; it counts the TCP connections the sites accepted.

``/_publish?n=N`` publishes N new articles, one per feed in turn (round robin, continuing where the
last call stopped): each changed feed shows its newest ``items`` entries (the new ones in, the
oldest out), gets a new ETag and Last-Modified, and so answers 200 again to a conditional GET;
it answers the new articles' URLs. Until the first publish every answer is as it always was.
``"cache_hints": false`` leaves out the feeds' Cache-Control max-age and RSS <ttl> (both 15
minutes otherwise), so that a client polling on a short schedule finds every feed due.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _corpus  # noqa: E402


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.total = 0
        self.by_kind: dict[str, int] = {}
        self.by_status: dict[str, int] = {}
        self.first_ts = None
        self.last_ts = None
        self.connections = 0  # TCP connections accepted: a client that keeps them alive opens few

    def connected(self):
        with self.lock:
            self.connections += 1

    def add(self, kind: str, status: int, t_start: float):
        with self.lock:
            self.total += 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            self.by_status[str(status)] = self.by_status.get(str(status), 0) + 1
            if self.first_ts is None or t_start < self.first_ts:
                self.first_ts = t_start
            self.last_ts = time.time()

    def as_dict(self):
        with self.lock:
            return {"total": self.total, "by_kind": dict(self.by_kind), "by_status": dict(self.by_status),
                    "first_ts": self.first_ts, "last_ts": self.last_ts, "connections": self.connections}


class News:
    """Articles published after start: per feed, how many and when last (Last-Modified)."""

    def __init__(self, feeds: int):
        self.lock = threading.Lock()
        self.added = [0] * feeds
        self.modified = [0.0] * feeds
        self.cursor = 0

    def publish(self, n: int) -> list[tuple[int, int]]:
        """(feed, item) of each new article."""
        with self.lock:
            now, out = time.time(), []
            for _ in range(n):
                f = self.cursor % len(self.added)
                self.cursor += 1
                self.added[f] += 1
                self.modified[f] = now
                out.append((f, self.added[f] - 1))
            return out


class Site(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, cfg, stats, news):
        self.cfg, self.stats, self.news = cfg, stats, news
        super().__init__((addr, 0), _Handler)

    @property
    def base_url(self):
        return f"http://{self.server_address[0]}:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Site

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        self.server.stats.connected()

    def do_GET(self):  # noqa: N802
        t0 = time.time()
        cfg = self.server.cfg
        time.sleep(cfg["latency_s"])
        parts = self.path.split("?")[0].strip("/").split("/")
        seed = cfg.get("seed", 1)
        status, body, ctype, headers, kind = 404, b"not found", "text/plain", {}, "other"
        try:
            if len(parts) == 2 and parts[0] == "feeds":
                f = int(parts[1].removesuffix(".xml"))
                if 0 <= f < cfg["feeds"]:
                    kind = "feed"
                    with self.server.news.lock:
                        added, modified = self.server.news.added[f], self.server.news.modified[f]
                    version = f"{seed}:{f}:{cfg['items']}" + (f":{added}" if added else "")
                    etag = '"' + hashlib.sha256(version.encode()).hexdigest()[:16] + '"'
                    headers = {"ETag": etag, "Last-Modified": formatdate(modified, usegmt=True) if added
                               else "Sun, 01 Jun 2025 09:00:00 GMT"}
                    hints = cfg.get("cache_hints", True)
                    if hints:
                        headers["Cache-Control"] = "max-age=900"
                    if self.headers.get("If-None-Match") == etag:
                        status, body = 304, b""
                    else:
                        status, ctype = 200, "application/rss+xml; charset=utf-8"
                        body = _corpus.feed_xml(f, cfg["items"], self.server.base_url, seed, first=added,
                                                ttl_min=15 if hints else None)
            elif len(parts) == 3 and parts[0] == "a":
                f, i = int(parts[1]), int(parts[2].removesuffix(".html"))
                if 0 <= f < cfg["feeds"] and 0 <= i < cfg["items"] + self.server.news.added[f]:
                    kind, status, ctype = "page", 200, "text/html; charset=utf-8"
                    body = _corpus.page_html(f, i, seed, small=cfg.get("small_pages", False))
        except ValueError:
            pass
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.server.stats.add(kind, status, t0)


class _Control(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):  # noqa: N802
        stats: Stats = self.server.stats
        if self.path.startswith("/_publish"):
            n = int(parse_qs(urlsplit(self.path).query).get("n", ["1"])[0])
            new = self.server.news.publish(n)
            body = json.dumps({"published": [self.server.sites[f % len(self.server.sites)].base_url
                                             + f"/a/{f}/{self.server.cfg['items'] + i}.html" for f, i in new],
                               "feeds": sorted({f for f, _ in new})}).encode()
        else:
            if self.path.startswith("/_reset"):
                with stats.lock:
                    stats.reset()
            body = json.dumps(stats.as_dict()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    cfg = {"feeds": 50, "items": 40, "hosts": 25, "latency_s": 0.05, "seed": 1, "small_pages": False}
    if len(sys.argv) > 1:
        cfg.update(json.loads(sys.argv[1]))
    stats, news = Stats(), News(cfg["feeds"])
    sites = [Site(f"127.0.0.{10 + h}", cfg, stats, news) for h in range(min(cfg["hosts"], cfg["feeds"]))]
    control = ThreadingHTTPServer(("127.0.0.1", 0), _Control)
    control.daemon_threads = True
    control.stats, control.news, control.sites, control.cfg = stats, news, sites, cfg
    for s in [*sites, control]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    feeds = [f"{sites[f % len(sites)].base_url}/feeds/{f}.xml" for f in range(cfg["feeds"])]
    print(json.dumps({"control": f"http://127.0.0.1:{control.server_address[1]}", "feeds": feeds}), flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
