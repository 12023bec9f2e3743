"""`evalrun view`: serve the runs folder to a browser on this machine, and nothing else.

Binds 127.0.0.1 only. `/` is the index of runs, rendered fresh per request;
any other path must name a regular file inside RUNS_DIR: `..` segments,
absolute or backslashed paths and symlinks that resolve outside it are
refused (403), directories are not listed. The Host header must name the
loopback address, which stops DNS-rebinding pages from reading runs.
"""

from __future__ import annotations

import mimetypes
import shutil
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

HOST = "127.0.0.1"
TYPES = {".js": "text/javascript", ".json": "application/json", ".jsonl": "application/x-ndjson",
         ".html": "text/html", ".svg": "image/svg+xml", ".xml": "application/xml", ".png": "image/png"}


class Forbidden(Exception):
    """A path that would leave RUNS_DIR (or cannot be a file name at all)."""


def _path_part(raw_path: str) -> str:
    """The path of an origin-form request target, without query or fragment (no URL parsing: `//x` stays a path)."""
    return raw_path.split("?", 1)[0].split("#", 1)[0]


def resolve(root: Path, raw_path: str) -> Path:
    """The file a request path names inside `root`, or Forbidden. `root` must be resolved already."""
    path = unquote(_path_part(raw_path), errors="strict")
    if not path.startswith("/") or path.startswith("//") or "\\" in path or "\x00" in path:
        raise Forbidden(raw_path)
    parts = path.lstrip("/").split("/")
    if any(p in ("..", ".") for p in parts):
        raise Forbidden(raw_path)
    target = (root / Path(*[p for p in parts if p])).resolve() if any(parts) else root
    if target != root and not target.is_relative_to(root):
        raise Forbidden(raw_path)
    return target


class Handler(BaseHTTPRequestHandler):
    """GET and HEAD only; see the module docstring for what is served."""

    server_version = "evalrun-view"
    protocol_version = "HTTP/1.1"

    def __init__(self, *args, root: Path, quiet: bool = True, **kwargs):
        self.root = root
        self.quiet = quiet
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's signature
        if not self.quiet:
            super().log_message(format, *args)

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in ("127.0.0.1", "localhost", "")

    def _send(self, status: HTTPStatus, body: bytes, ctype: str = "text/plain; charset=utf-8",
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        if not self._host_ok():
            return self._send(HTTPStatus.FORBIDDEN, b"forbidden host\n")
        try:
            target = resolve(self.root, self.path)
        except (Forbidden, UnicodeDecodeError):
            return self._send(HTTPStatus.FORBIDDEN, b"forbidden: path outside the runs folder\n")
        if target == self.root or target == self.root / "index.html":
            from evalrun.reports.index import render_index

            return self._send(HTTPStatus.OK, render_index(self.root, live=True).encode(), "text/html; charset=utf-8")
        if target.is_dir():
            if (target / "report.html").is_file():
                location = _path_part(self.path).rstrip("/") + "/report.html"
                return self._send(HTTPStatus.FOUND, b"", extra={"Location": location})
            return self._send(HTTPStatus.NOT_FOUND, b"not found (directories are not listed)\n")
        if not target.is_file():
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n")
        ctype = TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/json", "image/svg+xml", "application/xml"):
            ctype += "; charset=utf-8"
        try:
            f = target.open("rb")
        except OSError:
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n")
        with f:
            size = target.stat().st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(size))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                shutil.copyfileobj(f, self.wfile)

    def _refuse(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"only GET and HEAD\n", extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # noqa: N815


def make_server(runs_dir: Path, port: int = 0, quiet: bool = True) -> ThreadingHTTPServer:
    """A server for runs_dir on 127.0.0.1:port (0 picks a free port); call serve_forever() on it."""
    root = Path(runs_dir).resolve()
    server = ThreadingHTTPServer((HOST, port), partial(Handler, root=root, quiet=quiet))
    server.daemon_threads = True
    return server


def url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"
