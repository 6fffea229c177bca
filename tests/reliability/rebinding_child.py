"""Run inside a fresh network namespace (``unshare -n``): a DNS-rebinding attack on the fetcher.

The namespace has only its own loopback interface, on which this script also puts a public
address (8.8.8.8, never reaching the real one: the namespace has no route out). Two servers
listen on the same port: a "public" one on 8.8.8.8 and a canary on 127.0.0.1. The resolver
answers ``rebind.test`` with the public address first and loopback on every later lookup, as a
rebinding DNS server would (a resolver stub: DNS cannot be made to lie otherwise here). Prints
JSON: what each server received and what the fetcher recorded.

With ``--https`` both servers speak TLS with a certificate for ``rebind.test`` from a CA made
here, which the fetcher is told to trust: the handshake succeeds only if the connection to the
pinned address still names ``rebind.test`` (SNI) and checks the certificate against it."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import subprocess
import sys
import tempfile
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


def _serve(address: str, port: int, label: str, tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    srv = ThreadingHTTPServer((address, port), _Recorder)
    srv.hits, srv.label, srv.sni = [], label, []
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: srv.sni.append(name)
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _certificates(folder: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a certificate for NAME, client context trusting only its CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("test CA")).issuer_name(name("test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name(NAME)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    with open(f"{folder}/cert.pem", "wb") as f:
        f.write(cert.public_bytes(pem))
    with open(f"{folder}/key.pem", "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(f"{folder}/cert.pem", f"{folder}/key.pem")
    client = ssl.create_default_context(cadata=ca.public_bytes(pem).decode())
    return server, client


def main() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{PUBLIC}/32", "dev", "lo"], check=True)
    https = "--https" in sys.argv
    server_tls = client_tls = None
    if https:
        server_tls, client_tls = _certificates(tempfile.mkdtemp())
    canary = _serve("127.0.0.1", 0, "canary", server_tls)
    port = canary.server_address[1]
    public = _serve(PUBLIC, port, "public", server_tls)

    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, *args, **kwargs):
        if host != NAME:
            return real(host, *args, **kwargs)
        lookups.append(host)
        ip = PUBLIC if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))]

    socket.getaddrinfo = rebinding

    from flows.sources import fetch
    from flows.settings import FetchSettings

    if client_tls is not None:
        fetch._tls_context = lambda: client_tls   # trust the CA made above (no internet CA here)
    scheme = "https" if https else "http"
    results, requests = fetch.run_fetches(FetchSettings(timeout_s=2, total_timeout_s=4),
                                          [fetch.FetchRequest(url=f"{scheme}://{NAME}:{port}/page", trusted=False)])
    res = results[0]
    json.dump({"ok": res.ok, "error_kind": res.error_kind, "error": res.error, "body": res.body.decode(),
               "lookups": len(lookups), "public_hits": public.hits, "canary_hits": canary.hits,
               "port": port, "requests": requests, "public_sni": public.sni, "canary_sni": canary.sni}, sys.stdout)


if __name__ == "__main__":
    main()
