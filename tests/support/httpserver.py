"""A real, scriptable HTTP server on 127.0.0.1 for tests: each path answers as a Route says.

Routes can be changed while the server runs; every request is logged with its headers, so tests
can assert what the client actually sent (conditional GET headers, User-Agent, request counts).
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Route:
    status: int = 200
    body: bytes | Callable[[], bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"
    delay_s: float = 0.0               # before the status line
    trickle_s: float | None = None     # send the body one byte per this many seconds
    etag: str | None = None            # answer 304 when If-None-Match matches
    gzip: bool = False                 # send the body gzip-compressed (as given: may be a bomb)
    endless: bool = False              # stream zeros until the client hangs up
    no_length: bool = False            # omit Content-Length (read-until-close)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    status: int


class TestServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.connections = 0        # TCP connections accepted
        self.open_connections = 0   # of those, not yet closed
        super().__init__((host, 0), _Handler)

    @property
    def base_url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, **kwargs) -> str:
        self.routes[path] = Route(**kwargs)
        return self.url(path)

    def hits(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]


class _Handler(BaseHTTPRequestHandler):
    server: TestServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.server.open_connections += 1

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.lock:
                self.server.open_connections -= 1

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        route = self.server.routes.get(path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if route is None:
            route = Route(status=404, body=b"no such route", content_type="text/plain")
        status = route.status
        if route.etag and headers.get("if-none-match") == route.etag:
            status = 304
        with self.server.lock:
            self.server.seen.append(Seen(path, headers, status))
        if route.delay_s:
            time.sleep(route.delay_s)
        body = route.body() if callable(route.body) else route.body
        try:
            self.send_response(status)
            self.send_header("Content-Type", route.content_type)
            if route.etag:
                self.send_header("ETag", route.etag)
            for k, v in route.headers.items():
                self.send_header(k, v)
            if status == 304:
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if route.gzip:
                self.send_header("Content-Encoding", "gzip")
                body = body if body[:2] == b"\x1f\x8b" else gzip.compress(body)
            if route.endless or route.no_length or route.trickle_s:
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if route.endless:
                chunk = b"\0" * 65536
                while True:
                    self.wfile.write(chunk)
            elif route.trickle_s:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(route.trickle_s)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def start(host: str = "127.0.0.1") -> tuple[TestServer, threading.Thread]:
    """A server on ``host`` (any 127.0.0.x: distinct addresses are distinct sites to a client)."""
    server = TestServer(host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
