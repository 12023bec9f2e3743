"""The OpenAI-compatible HTTP engine against a real vLLM server on the demo model, started by the test."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.vllm
SERVED_NAME = "evalrun-demo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(demo_model: Path, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(demo_model),
             "--served-model-name", SERVED_NAME, "--host", "127.0.0.1", "--port", str(port),
             "--dtype", "float32", "--enforce-eager", "--max-model-len", "512"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 300
        while True:
            try:
                with urllib.request.urlopen(base + "/models", timeout=2) as r:
                    if SERVED_NAME in r.read().decode():
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("vllm server did not start:\n" + log.read_text()[-3000:])
            time.sleep(1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_smoke_suite_over_http(vllm_server: str, tmp_path: Path, run_cli):
    out = tmp_path / "http"
    proc = run_cli("--engine", "openai", "--base-url", vllm_server, "--model", SERVED_NAME, "--suite", "smoke",
                   "--out", str(out), "--no-progress", "--concurrency", "8")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())["evals"]
    refusal = results["smoke_refusal"]["variants"]["base"]["metrics"]
    assert refusal["harmful_refusal_rate"]["value"] >= 0.9
    assert refusal["benign_refusal_rate"]["value"] <= 0.1
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    mcq = [s for s in samples if s["eval"] == "smoke_knowledge"]
    assert len(mcq) == 20 and all(s["label_logprobs"] for s in mcq)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"] == "openai" and manifest["engine_info"]["served_model"] == SERVED_NAME


def test_unknown_served_model_is_input_error(vllm_server: str, run_cli, tmp_path: Path):
    proc = run_cli("--engine", "openai", "--base-url", vllm_server, "--model", "nope", "--suite", "smoke",
                   "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "is not served" in proc.stderr


def test_unreachable_server_is_a_run_failure(run_cli, tmp_path: Path):
    proc = run_cli("--engine", "openai", "--base-url", f"http://127.0.0.1:{_free_port()}/v1", "--model", "m",
                   "--suite", "smoke", "--out", str(tmp_path / "x"), timeout=120)
    assert proc.returncode == 1 and "is the server running" in proc.stderr
