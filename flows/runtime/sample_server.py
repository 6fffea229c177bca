"""A real HTTP server on loopback for the bundled samples (used by ``defwatch demo`` and tests).

It behaves like a well-run news site: ETag and Last-Modified on every answer, 304 for conditional
requests, gzip when asked. ``{{BASE_URL}}`` in served files becomes the server's own address.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import threading
from collections.abc import Iterator
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

TYPES = {
    ".xml": "application/rss+xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".html": "text/html",
    ".htm": "text/html",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}


class SampleServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0):
        self.root = root.resolve()
        self.requests_seen: list[tuple[str, int]] = []  # (path, status): lets tests count requests
        self._lock = threading.Lock()
        super().__init__((host, port), _Handler)

    @property
    def base_url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        return f"http://{host}:{port}"

    def log(self, path: str, status: int) -> None:
        with self._lock:
            self.requests_seen.append((path, status))


class _Handler(BaseHTTPRequestHandler):
    server: SampleServer
    server_version = "defwatch-samples/1"

    def log_message(self, format, *args):  # noqa: A002 - keep the console quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = unquote(urlsplit(self.path).path)
        target = (self.server.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.server.root) or not target.is_file():
            self._send(404, b"not found", "text/plain")
            return
        raw = target.read_bytes()
        body = raw.replace(b"{{BASE_URL}}", self.server.base_url.encode())
        # The ETag names the file's content, not the port it is served on, so a demo re-run on
        # another port still gets 304s for unchanged feeds.
        etag = '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'
        mtime = target.stat().st_mtime
        last_modified = formatdate(mtime, usegmt=True)
        if self._not_modified(etag, mtime):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.end_headers()
            self.server.log(path, 304)
            return
        ctype = TYPES.get(target.suffix.lower(), "application/octet-stream")
        self._send(200, body, ctype, {"ETag": etag, "Last-Modified": last_modified,
                                       "Cache-Control": "max-age=60"})
        self.server.log(path, 200)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in [t.strip() for t in inm.split(",")]
        ims = self.headers.get("If-Modified-Since")
        if ims:
            with contextlib.suppress(TypeError, ValueError):
                return int(mtime) <= parsedate_to_datetime(ims).timestamp()
        return False

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        if "gzip" in (self.headers.get("Accept-Encoding") or "") and len(body) > 512:
            body = gzip.compress(body)
            headers = {**(headers or {}), "Content-Encoding": "gzip"}
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def serve_directory(root: Path, port: int = 0) -> Iterator[SampleServer]:
    server = SampleServer(root, port=port)
    thread = threading.Thread(target=server.serve_forever, name="sample-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
