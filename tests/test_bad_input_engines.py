"""Bad input that reaches an engine: wrong OpenAI-compatible servers, and finished runs the pipeline must not damage.

The OpenAI-compatible engine is pointed at small fake servers that answer the
way broken or foreign servers do (a JSON list, a 200 without `choices`, an
HTML 404 page): one line, exit 2. One over-long prompt is that request's
`error` outcome, not the end of the run. The finished-run cases (a resume with
a bad option must not rewrite the finished manifest, --out is checked by the
suite's content, error rows are retried) run the real engine.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bad_input_helpers import assert_one_line, hashes  # noqa: E402
from reporting_fixtures import evalrun  # noqa: E402

DEMO = "demo"


# ---- the OpenAI-compatible engine against servers that answer wrongly ----

def _fake_server(reply):
    """A local HTTP server answering every request with reply(method, path, body) -> (status, ctype, bytes)."""

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n)) if n else None
            status, ctype, data = reply(self.command, self.path, body)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer  # noqa: N815

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


MODELS = json.dumps({"data": [{"id": "fake"}]}).encode()
HTML_404 = b"<!DOCTYPE html>\n<html>\n<head><title>Not Found</title></head>\n<body>\n<h1>Not Found</h1>\n" \
           b"<p>The requested URL was not found.</p>\n<hr>\n<address>Apache</address>\n</body>\n</html>\n"


def _chat(content: str = "A") -> bytes:
    return json.dumps({"choices": [{"message": {"content": content}, "finish_reason": "stop",
                                    "logprobs": {"content": [{"top_logprobs": [{"token": "A", "logprob": -0.1}]}]}}],
                       "usage": {"prompt_tokens": 5, "completion_tokens": 1}}).encode()


SERVERS = {
    "models-a-list": lambda m, p, b: (200, "application/json", b"[]"),
    "chat-a-list": lambda m, p, b: (200, "application/json", MODELS if p.endswith("/models") else b"[]"),
    "chat-without-choices": lambda m, p, b: (200, "application/json",
                                             MODELS if p.endswith("/models") else b'{"id": "x", "object": "chat"}'),
    "chat-choices-empty": lambda m, p, b: (200, "application/json",
                                           MODELS if p.endswith("/models") else b'{"choices": []}'),
    "html-404": lambda m, p, b: (404, "text/html", HTML_404),
    "chat-html-404": lambda m, p, b: (200, "application/json", MODELS) if p.endswith("/models") else (
        404, "text/html", HTML_404),
    "not-json": lambda m, p, b: (200, "text/plain", b"hello"),
}


@pytest.mark.parametrize("name", list(SERVERS))
def test_openai_engine_against_a_wrong_server(tmp_path: Path, name):
    srv = _fake_server(SERVERS[name])
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/v1"
        proc = evalrun("--engine", "openai", "--base-url", url, "--model", "fake", "--suite", "smoke", "--limit", "2",
                       "--out", tmp_path / "run", "--no-progress", timeout=120)
        line = assert_one_line(proc, 2, "--base-url")
        assert "<" not in line  # an HTML page is described, never copied
    finally:
        srv.shutdown()
        srv.server_close()


def test_one_over_long_prompt_is_an_error_outcome_not_the_end_of_the_run(tmp_path: Path):
    calls = {"n": 0}

    def reply(method, path, body):
        if path.endswith("/models"):
            return 200, "application/json", MODELS
        calls["n"] += 1
        if calls["n"] == 1:
            return 400, "application/json", json.dumps({"error": {
                "message": "This model's maximum context length is 512 tokens. However, you requested 900 tokens.",
                "type": "BadRequestError", "code": 400}}).encode()
        return 200, "application/json", _chat()

    srv = _fake_server(reply)
    out = tmp_path / "run"
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/v1"
        proc = evalrun("--engine", "openai", "--base-url", url, "--model", "fake", "--suite", "smoke", "--limit", "3",
                       "--out", out, "--no-progress", "--concurrency", "1", timeout=120)
    finally:
        srv.shutdown()
        srv.server_close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    labels = [json.loads(x)["score"]["label"] for x in (out / "samples.jsonl").read_text().splitlines()]
    assert labels.count("error") == 1 and len(labels) == 6
    assert "could not run" in proc.stdout


def test_skipped_modifications_are_said_on_the_terminal(tmp_path: Path):
    suite = tmp_path / "mods.yaml"
    suite.write_text("name: mods\nversion: 1\nevals: [smoke_knowledge]\nmodifications: [harmful_lora]\n")
    srv = _fake_server(lambda m, p, b: (200, "application/json", MODELS if p.endswith("/models") else _chat()))
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/v1"
        proc = evalrun("--engine", "openai", "--base-url", url, "--model", "fake", "--suite", suite, "--limit", "2",
                       "--out", tmp_path / "run", "--no-progress", timeout=120)
    finally:
        srv.shutdown()
        srv.server_close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "modifications (harmful_lora) are skipped" in proc.stderr


# ---- finished results damaged: the lead's pipeline fixes (real engine) ----

@pytest.fixture(scope="module")
def finished_smoke(demo_model: Path, tmp_path_factory, run_cli) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    proc = run_cli("--model", DEMO, "--suite", "smoke", "--out", str(out), "--limit", "2", "--no-progress")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


@pytest.mark.vllm
def test_resume_with_a_bad_engine_option_leaves_the_finished_run_alone(finished_smoke: Path, run_cli):
    before = hashes(finished_smoke)
    proc = run_cli("--model", DEMO, "--suite", "smoke", "--out", str(finished_smoke), "--limit", "3",
                   "--dtype", "nonsense", "--no-progress")
    assert_one_line(proc, 2, "dtype")
    assert hashes(finished_smoke) == before


@pytest.mark.vllm
def test_out_reuse_by_another_suite_of_the_same_name_is_refused(finished_smoke: Path, tmp_path: Path, run_cli):
    other = tmp_path / "smoke.yaml"
    other.write_text("name: smoke\nversion: 1\nevals: [smoke_knowledge]\n")
    before = hashes(finished_smoke)
    proc = run_cli("--model", DEMO, "--suite", str(other), "--out", str(finished_smoke), "--limit", "2",
                   "--no-progress")
    assert_one_line(proc, 2, "suite")
    assert hashes(finished_smoke) == before


@pytest.mark.vllm
def test_error_rows_are_retried_not_resumed(demo_model: Path, tmp_path: Path, run_cli):
    out = tmp_path / "run"
    cmd = ["--model", DEMO, "--suite", "smoke", "--out", str(out), "--limit", "2", "--no-progress"]
    first = run_cli(*cmd, "--max-model-len", "1")
    assert first.returncode != 0 or "could not run" in first.stdout
    second = run_cli(*cmd)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resumed 0 from the journal" in second.stdout  # every error row was generated again
