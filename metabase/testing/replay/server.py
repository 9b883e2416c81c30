"""The HTTP layer: a ThreadingHTTPServer in a background thread, faults applied per request."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import routes
from .catalog import load_catalog
from .extras import Extras
from .faults import FaultDice, Faults
from .recorded import load_recorded
from .state import ServerState
from .xmlgen import error

API = "/api/v1/xml"
API_JSON = "/api/v1/json"
# The ``html`` fault's answer: what a proxy or a maintenance switch sends instead of the API's XML.
MAINTENANCE_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
    b"<title>OpenML is down for maintenance</title></head>\n<body><h1>We will be "
    b"back soon</h1><p>OpenML is being upgraded.</p></body></html>\n"
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        self.open_sockets: set = set()
        self.sockets_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request_thread(self, request, client_address):
        with self.sockets_lock:
            self.open_sockets.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.sockets_lock:
                self.open_sockets.discard(request)

    def close_open_connections(self) -> None:
        """End kept-alive connections too: a stopped server must look unreachable to clients."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ReplayServer:
    """Everything a request handler needs; one per started server."""

    def __init__(self, data_dir: Path, faults: Faults, scale: int | None):
        self.data_dir = Path(data_dir).resolve()
        self.faults = faults
        self.dice = FaultDice(faults)
        self.state = ServerState(load_catalog(str(self.data_dir)), scale)
        self.recorded = load_recorded(str(self.data_dir))
        self.extra = Extras(self.data_dir, self.recorded)
        self.root = ""  # set once the port is known
        self.uploads = None  # created lazily (xmlschema is slow to import)
        self.requests = 0
        self.faulted: Counter[tuple[str, str]] = (
            Counter()
        )  # (fault, method) of the requests it hit
        self.served: Counter[str] = (
            Counter()
        )  # API GETs answered, by path (tests count re-fetches)
        self._served_lock = threading.Lock()

    def get_uploads(self):
        if self.uploads is None:
            from .uploads import Uploads

            self.uploads = Uploads(self)
        return self.uploads


def make_handler(server: ReplayServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "metabase-replay/1"

        def log_message(self, *args):  # quiet: tests start many servers
            pass

        def setup(self):
            super().setup()
            # headers and body go out in one write (_send), and small answers are not held back
            # by Nagle's algorithm waiting for the client's delayed ACK (40 ms a call on Linux)
            try:
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

        def do_GET(self):
            self._handle("GET", b"")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            self._handle("POST", body)

        def do_DELETE(self):
            self._handle("DELETE", b"")

        def _handle(self, method: str, body: bytes) -> None:
            server.requests += 1
            path = urlsplit(self.path).path  # parts are unquoted after splitting
            api = path.startswith(API + "/") or path.startswith(API_JSON + "/")
            if api:
                fault = self._fault()
                if fault == "done":
                    return
            else:
                fault = None
            if method == "GET" and api:
                with server._served_lock:
                    server.served[path] += 1
            try:
                resp = self._route(method, path, body)
            except Exception as exc:  # an answer, never a dead connection, on a server bug
                resp = routes.xml(500, error(999, "Internal replay-server error", repr(exc)))
            if fault:
                server.faulted[(fault, method)] += 1
            if fault == "drop":  # carried out (an upload is stored), then the answer is lost
                self.close_connection = True
                return
            if fault == "malformed" and resp.status == 200:
                resp.body = resp.body[: len(resp.body) // 2]  # framed correctly, XML cut short
            self._send(resp, truncate=fault == "truncate")

        def _fault(self):
            f = server.faults
            if f.latency:
                time.sleep(f.latency)
            if f.max_offset and _offset(self.path) > f.max_offset:
                self._send(
                    routes.xml(
                        504, error(107, "Gateway Timeout (offset too deep, injected fault)")
                    )
                )
                return "done"
            fault = server.dice.draw(self.path)
            if fault in ("reset", "5xx", "429", "html"):
                server.faulted[(fault, self.command)] += 1
            if fault == "reset":
                try:
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                except OSError:
                    pass
                self.close_connection = True
                return "done"
            if fault == "5xx":
                self._send(
                    routes.xml(503, error(107, "Database connection error (injected fault)"))
                )
                return "done"
            if fault == "html":
                self._send(routes.Response(200, MAINTENANCE_PAGE, "text/html; charset=utf-8"))
                return "done"
            if fault == "429":
                r = routes.xml(429, error(109, "Too many requests (injected fault)"))
                r.headers["Retry-After"] = str(f.retry_after)
                self._send(r)
                return "done"
            return fault

        def _route(self, method: str, path: str, body: bytes) -> routes.Response:
            if path.startswith(API_JSON + "/"):
                return (
                    _json(routes.api_get(server, _parts(path[len(API_JSON) + 1 :])))
                    if method == "GET"
                    else routes.xml(405, error(100, "Function not valid"))
                )
            if path.startswith(API + "/"):
                parts = _parts(path[len(API) + 1 :])
                if method == "POST":
                    return server.get_uploads().post(
                        parts, body, self.headers.get("Content-Type", "")
                    )
                if method == "GET":
                    return routes.api_get(server, parts)
                return routes.xml(405, error(100, "Function not valid"))
            parts = _parts(path)
            if (
                method == "GET"
                and len(parts) >= 3
                and parts[0] == "data"
                and parts[1] == "download"
            ):
                data = _maybe_int(parts[2], lambda i: server.extra.download(server.state, i))
                if data is not None:
                    return routes.Response(200, data, "text/plain; charset=utf-8")
            if method == "GET" and len(parts) >= 3 and parts[:2] == ["api_splits", "get"]:
                data = _maybe_int(parts[2], lambda i: server.extra.splits(server.state, i))
                if data is not None:
                    return routes.Response(200, data, "text/plain; charset=utf-8")
            return routes.Response(404, b"not found\n", "text/plain")

        def _send(self, resp: routes.Response, truncate: bool = False) -> None:
            body = resp.body
            gz = "gzip" in (self.headers.get("Accept-Encoding") or "") and len(body) > 256
            if gz:  # as the live server does; openml-python warns on uncompressed answers
                body = gzip.compress(body, compresslevel=1)
                resp.headers = dict(resp.headers, **{"Content-Encoding": "gzip"})
            try:
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                if truncate:
                    self.send_header("Connection", "close")
                self._headers_buffer.append(b"\r\n")
                head, self._headers_buffer = b"".join(self._headers_buffer), []
                self.wfile.write(
                    head + (body[: len(body) // 2] if truncate else body)
                )  # one write
                if truncate:
                    self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


def _parts(path: str) -> list[str]:
    return [unquote(p) for p in path.split("/") if p != ""]


def _offset(path: str) -> int:
    parts = path.split("/")
    try:
        return int(parts[parts.index("offset") + 1])
    except (ValueError, IndexError):
        return 0


def _maybe_int(text, fn):
    try:
        i = int(text)
    except ValueError:
        return None
    return fn(i)


def _json(resp: routes.Response) -> routes.Response:
    """OpenML's JSON API mirrors the XML one; convert with xmltodict (namespace prefix dropped)."""
    import json

    import xmltodict

    try:
        doc = xmltodict.parse(resp.body, process_namespaces=False)
    except Exception:
        return resp
    doc = _strip(doc)
    return routes.Response(resp.status, json.dumps(doc).encode(), "application/json", resp.headers)


def _strip(obj):
    if isinstance(obj, dict):
        return {
            k.split(":", 1)[-1].lstrip("@"): _strip(v) for k, v in obj.items() if k != "@xmlns:oml"
        }
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


class ReplayHandle:
    """A running replay server. ``url`` is the API base (``.../api/v1/xml``);
    ``stop()`` ends it.
    """

    def __init__(self, httpd: _Server, thread: threading.Thread, server: ReplayServer):
        self._httpd, self._thread, self.server = httpd, thread, server
        host, port = httpd.server_address[:2]
        self.host, self.port = host, port
        self.root = f"http://{host}:{port}"
        self.url = self.root + API

    @property
    def state(self):
        return self.server.state

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=10)
        self._httpd.server_close()
        self._httpd.close_open_connections()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"ReplayHandle({self.url})"


def start(
    data_dir, host: str = "127.0.0.1", port: int = 0, faults=None, scale: int | None = None
) -> ReplayHandle:
    server = ReplayServer(Path(data_dir), Faults.parse(faults), scale)
    httpd = _Server((host, port), make_handler(server))
    h, p = httpd.server_address[:2]
    server.root = f"http://{h}:{p}"
    thread = threading.Thread(target=httpd.serve_forever, name=f"replay-{p}", daemon=True)
    thread.start()
    return ReplayHandle(httpd, thread, server)
