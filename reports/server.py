"""`evalrun view`: serve the runs folder to a browser on this machine, one run isolated from another.

A run dir may come from an untrusted source (a CI artifact of a fork), and its
report.html can be anything. So:

- Binds 127.0.0.1 only; the Host header must name the loopback address (stops
  DNS-rebinding pages from reading runs).
- `/` is the index of runs, rendered fresh per request. Any other path must
  name one of a run's own files (report.html, results.json, manifest.json,
  verdict.json, junit.xml, samples.jsonl, compare-*.html, transcripts/*.js)
  inside a run dir (a folder holding manifest.json or results.json) under
  RUNS_DIR, with no symlink on the way; everything else is 404 or 403, and
  directories are not listed.
- Every response carries a sandbox Content-Security-Policy: each page runs in
  an opaque origin (it cannot read any other page or response of this server),
  may fetch nothing, and may load scripts only from its own run's
  `transcripts/`. A planted page in one run therefore cannot read another's.
- Requests are bounded: paths over MAX_PATH bytes get 414, a request with a
  body (or Transfer-Encoding) gets 400 and the connection is closed, so a body
  is never read as a second request; sockets time out after `idle_timeout`
  seconds and at most `workers` connections are served at once (more get 503).
"""

from __future__ import annotations

import mimetypes
import re
import shutil
import socket
import threading
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

from evalrun.reports.transcripts import _OURS as TRANSCRIPT_FILE
from evalrun.reports.transcripts import DIR as TRANSCRIPTS
from evalrun.rundir.reader import JUNIT, MANIFEST, REPORT, RESULTS, SAMPLES, VERDICT

HOST = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
MAX_PATH = 2048
MAX_DEPTH = 5  # run dirs nested at most this deep under RUNS_DIR (the index looks 4 deep)
WORKERS = 32
IDLE_TIMEOUT_S = 15.0
RUN_FILES = {REPORT, RESULTS, MANIFEST, VERDICT, JUNIT, SAMPLES}
COMPARE_PAGE = re.compile(r"^compare-[^/]{1,200}\.html$")
TYPES = {".js": "text/javascript", ".json": "application/json", ".jsonl": "application/x-ndjson",
         ".html": "text/html", ".xml": "application/xml"}
_BASE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; connect-src 'none'; "
             "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class Forbidden(Exception):
    """A path that would leave RUNS_DIR, pass through a symlink, or cannot be a file name at all."""


def _path_part(raw_path: str) -> str:
    """The path of an origin-form request target, without query or fragment (no URL parsing: `//x` stays a path)."""
    return raw_path.split("?", 1)[0].split("#", 1)[0]


def resolve(root: Path, raw_path: str) -> Path:
    """The file a request path names inside `root`, or Forbidden. `root` must be resolved already.

    The path must be its own resolution: a symlink anywhere on the way is refused, even one that stays
    inside `root` (it could make one run's URL serve another run's file).
    """
    path = unquote(_path_part(raw_path), errors="strict")
    if not path.startswith("/") or path.startswith("//") or "\\" in path or "\x00" in path:
        raise Forbidden(raw_path)
    parts = [p for p in path.lstrip("/").split("/") if p]
    if any(p in ("..", ".") for p in path.lstrip("/").split("/")) or any(len(p.encode()) > 255 for p in parts):
        raise Forbidden(raw_path)
    target = root.joinpath(*parts)
    try:
        if target.resolve() != target:
            raise Forbidden(raw_path)
    except OSError:  # a name too long for the file system, a loop: not a file we serve
        raise Forbidden(raw_path) from None
    return target


def run_of(root: Path, target: Path) -> Path | None:
    """The run dir (holding manifest.json or results.json) that `target` lies in, or None."""
    rel = target.relative_to(root).parts
    for depth in range(min(len(rel), MAX_DEPTH) + 1):
        here = root.joinpath(*rel[:depth])
        if (here / MANIFEST).is_file() or (here / RESULTS).is_file():
            return here
    return None


def is_run_file(run_dir: Path, target: Path) -> bool:
    """Whether `target` is one of the files a run dir is made of (FORMAT.md), not anything else left there."""
    rel = target.relative_to(run_dir).parts
    if len(rel) == 1:
        return rel[0] in RUN_FILES or bool(COMPARE_PAGE.match(rel[0]))
    return len(rel) == 2 and rel[0] == TRANSCRIPTS and bool(TRANSCRIPT_FILE.match(rel[1]))


def page_csp(script_base: str | None) -> str:
    """The sandbox policy every response carries; `script_base` is the one URL prefix scripts may load from.

    Inline scripts stay allowed here because our own pages carry a stricter nonce policy of their own
    (both policies apply); what this header adds is the opaque origin and the path-limited script source.
    """
    scripts = "'unsafe-inline'" + (f" {script_base}" if script_base else "")
    return f"sandbox allow-scripts; script-src {scripts}; {_BASE_CSP}"


class Handler(BaseHTTPRequestHandler):
    """GET and HEAD only; see the module docstring for what is served."""

    server_version = "evalrun-view"
    protocol_version = "HTTP/1.1"

    def __init__(self, *args, root: Path, quiet: bool = True, timeout: float = IDLE_TIMEOUT_S, **kwargs):
        self.root = root
        self.quiet = quiet
        self.timeout = timeout  # read by StreamRequestHandler.setup(): the socket's timeout
        self.csp = page_csp(None)
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's signature
        if not self.quiet:
            super().log_message(format, *args)

    def _host(self) -> str | None:
        """The loopback name the browser used (to build script URLs), or None for a foreign Host header."""
        host = (self.headers.get("Host") or HOST).rsplit(":", 1)[0].strip("[]").lower()
        return host if host in LOOPBACK_NAMES else None

    def _headers(self, status: HTTPStatus, ctype: str, length: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Content-Security-Policy", self.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        if self.close_connection:
            self.send_header("Connection", "close")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _send(self, status: HTTPStatus, body: bytes, ctype: str = "text/plain; charset=utf-8",
              extra: dict[str, str] | None = None) -> None:
        self._headers(status, ctype, len(body), extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (malformed request line, too many headers) as short text, closing."""
        self.close_connection = True
        self.csp = page_csp(None)
        self._send(HTTPStatus(code), f"{code} {HTTPStatus(code).phrase}\n".encode())

    def _has_body(self) -> bool:
        lengths = self.headers.get_all("Content-Length") or []
        return bool(self.headers.get_all("Transfer-Encoding")) or len(lengths) > 1 or any(
            v.strip() != "0" for v in lengths)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        try:
            self._get()
        except OSError:  # a file that vanished or cannot be read mid-request: not served, and no traceback
            if not self.close_connection:
                self.close_connection = True
                self._send(HTTPStatus.NOT_FOUND, b"not found\n")

    def _get(self) -> None:
        if self._has_body():  # never read a body: it would be parsed as the next request (smuggling)
            self.close_connection = True
            return self._send(HTTPStatus.BAD_REQUEST, b"bad request: GET and HEAD take no body\n")
        if len(self.path) > MAX_PATH:
            self.close_connection = True
            return self._send(HTTPStatus.REQUEST_URI_TOO_LONG, b"path too long\n")
        host = self._host()
        if host is None:
            return self._send(HTTPStatus.FORBIDDEN, b"forbidden host\n")
        try:
            target = resolve(self.root, self.path)
        except (Forbidden, UnicodeDecodeError):
            return self._send(HTTPStatus.FORBIDDEN, b"forbidden: path outside the runs folder\n")
        if target == self.root or target == self.root / "index.html":
            from evalrun.reports.index import render_index

            return self._send(HTTPStatus.OK, render_index(self.root, live=True).encode(), "text/html; charset=utf-8")
        run_dir = run_of(self.root, target)
        if run_dir is None:
            return self._send(HTTPStatus.NOT_FOUND, b"not found (only the files of run dirs are served)\n")
        rel = run_dir.relative_to(self.root).as_posix()
        run_path = "/" if rel == "." else f"/{quote(rel)}/"
        self.csp = page_csp(f"http://{host}:{self.server.server_address[1]}{run_path}{TRANSCRIPTS}/")
        if target == run_dir:
            if (target / REPORT).is_file():
                return self._send(HTTPStatus.FOUND, b"", extra={"Location": run_path + REPORT})
            return self._send(HTTPStatus.NOT_FOUND, b"not found (directories are not listed)\n")
        if not is_run_file(run_dir, target):
            return self._send(HTTPStatus.NOT_FOUND, b"not found (only the files of run dirs are served)\n")
        self._send_file(target)

    def _send_file(self, target: Path) -> None:
        ctype = TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/json", "application/xml"):
            ctype += "; charset=utf-8"
        try:
            f = target.open("rb")
        except OSError:
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n")
        with f:
            self._headers(HTTPStatus.OK, ctype, target.stat().st_size)
            if self.command != "HEAD":
                shutil.copyfileobj(f, self.wfile)

    def _refuse(self) -> None:
        self.close_connection = True  # its body, if any, is never read
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"only GET and HEAD\n", extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse  # noqa: N815


class ViewServer(HTTPServer):
    """An HTTP server with at most `workers` connections in service at once; the one past that gets 503."""

    request_queue_size = 128  # accept promptly (and answer 503) rather than leave clients in the kernel's queue

    def __init__(self, address: tuple[str, int], handler, workers: int = WORKERS) -> None:
        super().__init__(address, handler)
        self.slots = threading.BoundedSemaphore(workers)

    def process_request(self, request: socket.socket, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        threading.Thread(target=self._serve, args=(request, client_address), daemon=True).start()

    def _serve(self, request: socket.socket, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - a client that vanished or misbehaved; the server keeps going
            pass
        finally:
            self.shutdown_request(request)
            self.slots.release()


def make_server(runs_dir: Path, port: int = 0, quiet: bool = True, workers: int = WORKERS,
                idle_timeout: float = IDLE_TIMEOUT_S) -> ViewServer:
    """A server for runs_dir on 127.0.0.1:port (0 picks a free port); call serve_forever() on it."""
    root = Path(runs_dir).resolve()
    return ViewServer((HOST, port), partial(Handler, root=root, quiet=quiet, timeout=idle_timeout), workers)


def url(server: HTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"
