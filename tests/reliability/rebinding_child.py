"""Run inside a fresh network namespace (``unshare -n``): a DNS-rebinding attack on the fetcher.

The namespace has only its own loopback interface, on which this script also puts a public
address (8.8.8.8, never reaching the real one: the namespace has no route out). Two servers
listen on the same port: a "public" one on 8.8.8.8 and a canary on 127.0.0.1. The resolver
answers ``rebind.test`` with the public address first and loopback on every later lookup, as a
rebinding DNS server would (a resolver stub: DNS cannot be made to lie otherwise here). Prints
JSON: what each server received and what the fetcher recorded."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PUBLIC = "8.8.8.8"
NAME = "rebind.test"


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.server.hits.append({"path": self.path, "host": self.headers.get("Host")})
        body = f"<html><body><p>{self.server.label}</p></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _serve(address: str, port: int, label: str) -> ThreadingHTTPServer:
    srv = ThreadingHTTPServer((address, port), _Recorder)
    srv.hits, srv.label = [], label
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{PUBLIC}/32", "dev", "lo"], check=True)
    canary = _serve("127.0.0.1", 0, "canary")
    port = canary.server_address[1]
    public = _serve(PUBLIC, port, "public")

    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, *args, **kwargs):
        if host != NAME:
            return real(host, *args, **kwargs)
        lookups.append(host)
        ip = PUBLIC if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))]

    socket.getaddrinfo = rebinding

    from flows.fetch import FetchRequest, run_fetches
    from flows.settings import FetchSettings

    results, requests = run_fetches(FetchSettings(timeout_s=2, total_timeout_s=4),
                                    [FetchRequest(url=f"http://{NAME}:{port}/page", trusted=False)])
    res = results[0]
    json.dump({"ok": res.ok, "error_kind": res.error_kind, "error": res.error, "body": res.body.decode(),
               "lookups": len(lookups), "public_hits": public.hits, "canary_hits": canary.hits,
               "port": port, "requests": requests}, sys.stdout)


if __name__ == "__main__":
    main()
