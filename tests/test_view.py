"""Browsing past runs without a browser: the index, the `view` server's path rules, `compare`.

The server is probed with raw requests (http.client sends the path as
written, so `..` and encoded variants reach it unnormalised).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from evalrun.reports.html import write_report  # noqa: E402
from evalrun.reports.paired import bootstrap_delta  # noqa: E402
from evalrun.reports.server import make_server  # noqa: E402
from reporting_fixtures import evalrun, make_run  # noqa: E402


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("view")
    runs = root / "runs"
    write_report(make_run(runs / "2026-old", n_per_eval=10, created="2026-11-01T10:00:00+0000", payloads=True))
    write_report(make_run(runs / "team" / "2026-new", n_per_eval=10, seed=3, created="2026-11-28T10:00:00+0000"))
    make_run(runs / "unrendered", n_per_eval=5, created="2026-11-15T10:00:00+0000")
    (runs / "broken").mkdir()
    (runs / "broken" / "results.json").write_text("{not json")
    (root / "secret.txt").write_text("outside the runs folder")
    os.symlink(root / "secret.txt", runs / "link-out.txt")
    os.symlink(root, runs / "dir-out")
    return runs


@pytest.fixture(scope="module")
def server(runs_dir: Path):
    srv = make_server(runs_dir, 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def get(server, path: str, host: str | None = None) -> tuple[int, bytes, dict]:
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", host or f"127.0.0.1:{server.server_address[1]}")
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body, dict(resp.getheaders())


def test_binds_loopback_only(server):
    assert server.server_address[0] == "127.0.0.1"


def test_index_lists_every_run_newest_first(server):
    status, body, headers = get(server, "/")
    html = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert html.index("team/2026-new") < html.index("unrendered") < html.index("2026-old")
    assert 'href="team/2026-new/report.html"' in html
    assert "no report" in html and "broken" in html  # shown, not fatal
    assert "<script>window.__pwned" not in html


def test_serves_reports_and_files_inside(server):
    status, body, _ = get(server, "/2026-old/report.html")
    assert status == 200 and b"evalrun risk report" in body
    status, _, headers = get(server, "/2026-old/")
    assert status == 302 and headers["Location"] == "/2026-old/report.html"
    assert get(server, "/2026-old/results.json")[0] == 200
    assert get(server, "/nope.html")[0] == 404
    assert get(server, "/team/")[0] == 404  # no directory listings


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/2026-old/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt",
    "/%2fetc/passwd", "/..%5csecret.txt", "/link-out.txt", "/dir-out/secret.txt", "/a/%00/b",
])
def test_refuses_paths_leaving_the_runs_folder(server, path):
    status, body, _ = get(server, path)
    assert status == 403, (path, status)
    assert body == b"forbidden: path outside the runs folder\n"  # and not the file


def test_refuses_foreign_host_headers(server):
    assert get(server, "/", host="evil.example:80")[0] == 403
    assert get(server, "/", host=f"localhost:{server.server_address[1]}")[0] == 200


def test_refuses_writes(server):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.request("POST", "/", body=b"x")
    assert conn.getresponse().status == 405
    conn.close()


def test_view_command_prints_url_and_serves(runs_dir: Path):
    proc = subprocess.Popen([sys.executable, "-m", "evalrun.cli.main", "view", str(runs_dir), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line + proc.stderr.read()
        conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_index_command_writes_static_page(runs_dir: Path, tmp_path: Path):
    r = evalrun("index", runs_dir)
    assert r.returncode == 0, r.stderr
    html = (runs_dir / "index.html").read_text(encoding="utf-8")
    assert "team/2026-new/report.html" in html and "2026-old/report.html" in html
    assert evalrun("index", tmp_path / "nope").returncode == 2


def test_compare_lists_changed_samples(tmp_path: Path):
    a = make_run(tmp_path / "candidate", n_per_eval=60, seed=1, shift=-0.3, payloads=True)
    b = make_run(tmp_path / "release", n_per_eval=60, seed=1)
    out = tmp_path / "cmp.html"
    r = evalrun("compare", a, b, "--out", out)
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert "less safe" in html and "jailbreak_refusal" in html
    assert re.search(r"\d+ of 60 changed", html)
    assert "<script" not in html  # a static page: no script at all, payloads escaped
    assert "&lt;script&gt;window.__pwned" in html
    assert evalrun("compare", a, tmp_path / "nope").returncode == 2


def test_paired_bootstrap():
    delta, (lo, hi) = bootstrap_delta([1.0] * 50 + [0.0] * 50)
    assert delta == 0.5 and lo < 0.5 < hi and hi - lo < 0.3
    assert bootstrap_delta([0.0] * 10) == (0.0, (0.0, 0.0))
    d, (lo, hi) = bootstrap_delta([x / 1000 for x in range(1000)])  # many distinct values: resampling path
    assert abs(d - 0.4995) < 1e-9 and lo < d < hi

