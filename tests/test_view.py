"""Browsing past runs without a browser: the index, the `view` server's path rules, `compare`.

The server is probed with raw requests (http.client sends the path as
written, so `..` and encoded variants reach it unnormalised).
"""

from __future__ import annotations

import http.client
import json
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


# ---- isolation and limits (issue 12): a run dir from an untrusted source must not reach any other run ----

def raw_exchange(server, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes on one connection and read until the server closes it."""
    import socket

    with socket.create_connection(server.server_address[:2], timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_every_response_is_sandboxed_and_scripts_come_only_from_the_runs_own_transcripts(server):
    port = server.server_address[1]
    for path in ("/", "/2026-old/report.html", "/2026-old/results.json", "/nope.html", "/../secret.txt"):
        _, _, headers = get(server, path)
        policy = headers["Content-Security-Policy"]
        assert policy.startswith("sandbox allow-scripts;") and "allow-same-origin" not in policy, path
        assert "connect-src 'none'" in policy and "default-src 'none'" in policy
    _, _, headers = get(server, "/team/2026-new/report.html")
    assert f"script-src 'unsafe-inline' http://127.0.0.1:{port}/team/2026-new/transcripts/;" in \
        headers["Content-Security-Policy"]


def test_only_run_files_are_served(server, runs_dir: Path):
    (runs_dir / "planted.html").write_text("<p>not a run file</p>")
    (runs_dir / "2026-old" / "planted.html").write_text("<p>not a run file either</p>")
    (runs_dir / "2026-old" / "engine.log").write_text("log lines")
    for path in ("/planted.html", "/2026-old/planted.html", "/2026-old/engine.log", "/team/x.json"):
        assert get(server, path)[0] == 404, path
    for path in ("/2026-old/manifest.json", "/2026-old/samples.jsonl", "/unrendered/results.json"):
        assert get(server, path)[0] == 200, path


def test_symlink_inside_the_runs_folder_is_refused(server, runs_dir: Path):
    """A run could point its own file at another run's; every symlink on the way is refused."""
    target = runs_dir / "2026-old" / "samples.jsonl"
    (runs_dir / "unrendered" / "verdict.json").symlink_to(target)
    assert get(server, "/unrendered/verdict.json")[0] == 403


def test_long_paths_get_414_and_the_server_keeps_serving(server):
    for path in ("/" + "a" * 60_000, "/" + "/".join(["b" * 250] * 8), "/" + "c" * 300 + "/report.html"):
        status = get(server, path)[0]
        assert status in (403, 404, 414), (len(path), status)
    assert get(server, "/" + "a" * 60_000)[0] == 414
    assert get(server, "/2026-old/report.html")[0] == 200


def test_a_body_is_never_read_as_a_second_request(server):
    smuggled = b"GET /2026-old/results.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    host = f"Host: 127.0.0.1:{server.server_address[1]}\r\n".encode()
    for first in (b"GET / HTTP/1.1\r\n" + host + b"Content-Length: %d\r\n\r\n" % len(smuggled),
                  b"GET / HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\n",
                  b"POST / HTTP/1.1\r\n" + host + b"Content-Length: %d\r\n\r\n" % len(smuggled)):
        reply = raw_exchange(server, first + smuggled)
        assert reply.count(b"HTTP/1.1 ") == 1, reply[:300]  # one answer, then the connection is closed
        assert reply.startswith((b"HTTP/1.1 400", b"HTTP/1.1 405")), reply[:100]
        assert b"Connection: close" in reply


def test_idle_connections_are_bounded_and_time_out(runs_dir: Path):
    import socket
    import time

    srv = make_server(runs_dir, 0, workers=4, idle_timeout=1.0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    before = threading.active_count()
    idle = [socket.create_connection(srv.server_address[:2], timeout=5) for _ in range(40)]
    try:
        time.sleep(0.3)
        assert threading.active_count() <= before + 4  # not one thread per connection
        replies = [s.recv(200) for s in idle]  # past the bound: 503 and closed; the held ones time out (b"")
        assert sum(r.startswith(b"HTTP/1.1 503") for r in replies) >= 40 - 4, replies[:5]
        assert all(r == b"" or r.startswith(b"HTTP/1.1 503") for r in replies)
        time.sleep(0.5)  # idle connections timed out and freed their workers
        assert get(srv, "/2026-old/report.html")[0] == 200
    finally:
        for s in idle:
            s.close()
        srv.shutdown()
        srv.server_close()


@pytest.mark.browser
def test_a_planted_page_in_one_run_cannot_read_another_run(tmp_path: Path):
    """In real Chromium: the attacker's report.html tries every way to read the victim run; none works."""
    from reporting_fixtures import chromium, close_chromium

    runs = tmp_path / "runs"
    victim = make_run(runs / "victim", n_per_eval=5)
    secret = "VICTIM-SECRET-7f3a"
    with (victim / "samples.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"eval": "over_refusal", "sample_id": "s", "completion": secret}) + "\n")
    from evalrun.reports import transcripts

    mp = pytest.MonkeyPatch()
    mp.setattr(transcripts, "INLINE_LIMIT", 0)  # the victim's transcripts as part files a script tag could load
    try:
        write_report(victim)
    finally:
        mp.undo()
    attacker = make_run(runs / "attacker", n_per_eval=5)
    (attacker / "transcripts").mkdir()
    (attacker / "transcripts" / "part-000.js").write_text("window.ownScript = 'loaded';\n")
    (attacker / "report.html").write_text("""<!doctype html><html><body><pre id="out"></pre><script>
const out = [];
const note = (what, x) => out.push(what + ': ' + String(x).slice(0, 200));
window.__evalrunData = (t, n, d) => note('script-data', JSON.stringify(d));
async function go() {
  for (const url of ['/victim/samples.jsonl', '/victim/report.html', '/victim/transcripts/part-000.js']) {
    try { const r = await fetch(url); note('fetch', await r.text()); } catch (e) { note('fetch-blocked', url); }
    try { const x = new XMLHttpRequest(); x.open('GET', url, false); x.send(); note('xhr', x.responseText); }
    catch (e) { note('xhr-blocked', url); }
  }
  const s = document.createElement('script'); s.src = '/victim/transcripts/part-000.js';
  s.onerror = () => note('script-blocked', s.src); document.body.appendChild(s);
  const own = document.createElement('script'); own.src = '/attacker/transcripts/part-000.js';
  document.body.appendChild(own);
  const f = document.createElement('iframe'); f.src = '/victim/report.html'; document.body.appendChild(f);
  try { const w = window.open('/victim/report.html'); note('popup', w && w.document.body.innerHTML); }
  catch (e) { note('popup-blocked', e.name); }
  try { localStorage.setItem('x', '1'); note('storage', 'usable'); } catch (e) { note('storage-blocked', e.name); }
  await new Promise(r => setTimeout(r, 1500));
  try { note('iframe', f.contentDocument.body.innerHTML); } catch (e) { note('iframe-blocked', e.name); }
  note('own-script', window.ownScript);
  document.getElementById('out').textContent = out.join('\\n');
  document.body.dataset.done = '1';
}
go();
</script></body></html>""")
    srv = make_server(runs, 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    driver = chromium()
    try:
        from selenium.webdriver.support.ui import WebDriverWait

        driver.get(f"http://127.0.0.1:{srv.server_address[1]}/attacker/report.html")
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.body.dataset.done === '1'"))
        text = driver.execute_script("return document.getElementById('out').textContent")
        assert "own-script: loaded" in text  # the page's scripts ran, and its own run's scripts load
        assert secret not in text and "Placeholder" not in text and "__evalrunData" not in text
        assert "script-data" not in text and "script-blocked" in text
        assert "storage-blocked" in text  # an opaque origin: nothing of the server's origin is reachable
        assert "iframe-blocked" in text
    finally:
        close_chromium(driver)
        srv.shutdown()
        srv.server_close()


@pytest.mark.browser
def test_chromium_after_idle_flood_and_long_path(runs_dir: Path):
    """In real Chromium: a 60 KB path is a short 414 page, and after idle connections fill every worker and time
    out, the report and its scripts load normally."""
    import socket
    import time

    from reporting_fixtures import chromium, close_chromium
    from selenium.webdriver.support.ui import WebDriverWait

    srv = make_server(runs_dir, 0, workers=4, idle_timeout=1.0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    driver = chromium()
    try:
        driver.get(base + "/" + "a" * 60_000)
        assert "path too long" in driver.page_source
        idle = [socket.create_connection(srv.server_address[:2], timeout=5) for _ in range(12)]
        time.sleep(1.5)  # held ones time out, the rest were answered 503: every worker is free again
        driver.get(base + "/2026-old/report.html")
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(
            "return document.querySelectorAll('#tx article.sample').length > 0"))
        assert driver.execute_script("return typeof window.__pwned") == "undefined"
        for s in idle:
            s.close()
    finally:
        close_chromium(driver)
        srv.shutdown()
        srv.server_close()
