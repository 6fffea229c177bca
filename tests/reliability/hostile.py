"""A hostile web server on 127.0.0.1: bodies generated lazily (a 1 GB body is never built in
memory), gzip bombs, bodies that drip one byte a second, endless redirect chains, lying headers.
It counts what it actually sent, so a test can assert that the client stopped early."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

GiB = 1 << 30
CHUNK = 1 << 16


@dataclass
class Resp:
    status: int = 200
    body: bytes | Callable[[], Iterable[bytes]] = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None | str = "auto"   # Content-Length: "auto" = len(body); None = omit (read to close)
    delay_s: float = 0.0                # before the status line
    drip_s: float | None = None         # send the body one byte per drip_s seconds


@dataclass
class Stat:
    requests: int = 0
    bytes_sent: int = 0
    finished: int = 0                   # bodies sent to the end
    broken: int = 0                     # the client hung up before the end


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self):
        self.routes: dict[str, Resp | Callable[[str], Resp]] = {}
        self.stats: dict[str, Stat] = {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, resp: Resp | Callable[[str], Resp]) -> str:
        self.routes[path] = resp
        return self.url(path)

    def stat(self, path: str) -> Stat:
        with self.lock:
            return self.stats.setdefault(path, Stat())

    def total_requests(self) -> int:
        with self.lock:
            return sum(s.requests for s in self.stats.values())

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request, client_address) -> None:
        pass   # clients hanging up mid-answer is the point of most routes here


class _Handler(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        route = self.server.routes.get(path)
        if route is None:
            # Prefix routes ("/chain/" answers every /chain/N)
            for prefix, r in self.server.routes.items():
                if prefix.endswith("/") and path.startswith(prefix):
                    route = r
                    break
        resp = route(path) if callable(route) else route
        if resp is None:
            resp = Resp(status=404, body=b"no such route", content_type="text/plain")
        st = self.server.stat(path)
        with self.server.lock:
            st.requests += 1
        if resp.delay_s:
            time.sleep(resp.delay_s)
        body: Iterable[bytes] = [resp.body] if isinstance(resp.body, bytes) else resp.body()
        try:
            self.send_response(resp.status)
            if resp.content_type is not None:
                self.send_header("Content-Type", resp.content_type)
            for k, v in resp.headers.items():
                self.send_header(k, v)
            if resp.length == "auto":
                assert isinstance(resp.body, bytes)
                self.send_header("Content-Length", str(len(resp.body)))
            elif resp.length is not None:
                self.send_header("Content-Length", str(resp.length))
            if resp.length is None or resp.drip_s or resp.headers.get("Connection") == "close":
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            for chunk in body:
                if resp.drip_s:
                    for i in range(len(chunk)):
                        self.wfile.write(chunk[i:i + 1])
                        self.wfile.flush()
                        self._count(st, 1)
                        time.sleep(resp.drip_s)
                else:
                    self.wfile.write(chunk)
                    self._count(st, len(chunk))
            with self.server.lock:
                st.finished += 1
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            with self.server.lock:
                st.broken += 1
            self.close_connection = True

    def _count(self, st: Stat, n: int) -> None:
        with self.server.lock:
            st.bytes_sent += n


# -- body generators (lazy) ---------------------------------------------------------------------------

def zeros(total: int) -> Callable[[], Iterator[bytes]]:
    """``total`` bytes of zeros, made one 64 KiB chunk at a time."""
    def gen() -> Iterator[bytes]:
        block = b"\0" * CHUNK
        left = total
        while left > 0:
            yield block[:min(left, CHUNK)]
            left -= CHUNK
    return gen


def repeat(unit: bytes, total: int, head: bytes = b"", tail: bytes = b"") -> Callable[[], Iterator[bytes]]:
    """``head`` + ``unit`` repeated up to ``total`` bytes + ``tail``, generated lazily."""
    def gen() -> Iterator[bytes]:
        yield head
        block = unit * max(1, CHUNK // len(unit))
        sent = 0
        while sent < total:
            yield block
            sent += len(block)
        yield tail
    return gen


def endless(unit: bytes = b"a") -> Callable[[], Iterator[bytes]]:
    def gen() -> Iterator[bytes]:
        while True:
            yield unit
    return gen


_BOMB_CACHE: dict[int, bytes] = {}


def gzip_bomb(expanded: int) -> bytes:
    """A gzip stream of ``expanded`` zero bytes (about 1,000 : 1). Built once per size."""
    if expanded not in _BOMB_CACHE:
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = b"\0" * (1 << 20)
        parts = [comp.compress(block) for _ in range(expanded >> 20)]
        parts.append(comp.flush())
        _BOMB_CACHE[expanded] = b"".join(parts)
    return _BOMB_CACHE[expanded]
