"""End to end through the real vLLM engine (CPU) on the demo model, as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from disk_helpers import fill  # noqa: E402

pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def smoke_run(demo_model: Path, tmp_path_factory, run_cli) -> Path:
    out = tmp_path_factory.mktemp("smoke") / "run"
    proc = run_cli("--model", "demo", "--suite", "smoke", "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"report: {out / 'report.html'}" in proc.stdout
    return out


def _samples(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def test_run_writes_every_output(smoke_run: Path):
    for name in ("manifest.json", "journal.sqlite", "samples.jsonl", "results.json", "report.html"):
        assert (smoke_run / name).is_file(), name
    manifest = json.loads((smoke_run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["engine_info"]["vllm_version"].startswith("0.")
    assert manifest["engine_info"]["device"] == "cpu"
    assert manifest["model"]["fingerprint"] and manifest["evals"]["smoke_refusal"]["version"] == 1
    assert manifest["timings"]["generate_s"] > 0


def test_demo_model_refuses_harmful_and_answers_benign(smoke_run: Path):
    """The demo model's targets, measured by the harness on prompts held out of its training corpus."""
    metrics = json.loads((smoke_run / "results.json").read_text())["evals"]["smoke_refusal"]["variants"]["base"]
    harmful, benign = metrics["metrics"]["harmful_refusal_rate"], metrics["metrics"]["benign_refusal_rate"]
    assert harmful["n"] >= 30 and benign["n"] >= 30
    assert harmful["value"] >= 0.9, harmful
    assert benign["value"] <= 0.1, benign


def test_multiple_choice_is_scored_from_label_logprobs(smoke_run: Path):
    mcq = [s for s in _samples(smoke_run) if s["eval"] == "smoke_knowledge"]
    assert len(mcq) == 20
    for s in mcq:
        assert set(s["label_logprobs"]) == {"A", "B", "C", "D"}
        best = max(s["label_logprobs"], key=s["label_logprobs"].get)
        assert s["score"]["extra"]["answer"] == best
        assert s["score"]["label"] == ("correct" if best == s["target"] else "wrong")
        assert s["completion_tokens"] == 1


def test_generation_records_prompt_tokens_and_text(smoke_run: Path):
    db = sqlite3.connect(smoke_run / "journal.sqlite")
    rows = [json.loads(c) for (c,) in db.execute("SELECT completion FROM results")]
    assert len(rows) == len(_samples(smoke_run))
    gen = [r for r in rows if r["label_logprobs"] is None]
    assert gen and all(r["prompt_token_ids"] and r["token_ids"] and r["text"] for r in gen)
    assert all(r["finish_reason"] in ("stop", "length") for r in gen)


def test_rerun_resumes_without_generating(smoke_run: Path, run_cli):
    proc = run_cli("--model", "demo", "--suite", "smoke", "--out", str(smoke_run), "--no-progress")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "generated 0," in proc.stdout


def test_resume_after_sigkill_has_no_duplicates_and_same_results(smoke_run: Path, tmp_path: Path, run_cli, evalrun_cmd):
    out = tmp_path / "killed"
    total = len(_samples(smoke_run))
    proc = subprocess.Popen([*evalrun_cmd, "--model", "demo", "--suite", "smoke", "--out", str(out), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    done = 0
    deadline = time.time() + 600
    try:
        while time.time() < deadline and proc.poll() is None:
            if (out / "journal.sqlite").exists():
                try:
                    done = sqlite3.connect(out / "journal.sqlite").execute("SELECT COUNT(*) FROM results").fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
                if done > 0:
                    break
            time.sleep(0.05)
    finally:
        worker_groups = {os.getpgid(pid) for pid in _children(proc.pid)}
        os.kill(proc.pid, signal.SIGKILL)  # the CLI alone, as `kill -9` would
        proc.wait()
    assert 0 < done < total, f"the kill should land mid-generation ({done} of {total} done)"
    assert worker_groups and worker_groups != {os.getpgid(0)}
    deadline = time.time() + 30  # the orphaned worker ends its own group: no engine outlives evalrun
    while time.time() < deadline and any(_group_alive(g) for g in worker_groups):
        time.sleep(0.5)
    assert not any(_group_alive(g) for g in worker_groups), "engine processes outlived the killed CLI"
    committed = sqlite3.connect(out / "journal.sqlite").execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert committed >= done
    rerun = run_cli("--model", "demo", "--suite", "smoke", "--out", str(out), "--no-progress")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"generated {total - committed}, resumed {committed} from the journal" in rerun.stdout
    db = sqlite3.connect(out / "journal.sqlite")
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM results").fetchone() == (total, total)
    resumed = {(s["eval"], s["sample_id"]): s["score"]["label"] for s in _samples(out)}
    clean = {(s["eval"], s["sample_id"]): s["score"]["label"] for s in _samples(smoke_run)}
    assert resumed == clean
    r1 = json.loads((out / "results.json").read_text())["evals"]
    r2 = json.loads((smoke_run / "results.json").read_text())["evals"]
    assert r1 == r2


def _copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("journal.sqlite-*"))
    return dst


def test_flipped_bit_in_a_journal_row_is_regenerated(smoke_run: Path, tmp_path: Path, run_cli):
    """A bit flipped inside one stored score: that row is regenerated with a warning, results as clean."""
    out = _copy_run(smoke_run, tmp_path / "flipped")
    data = bytearray((out / "journal.sqlite").read_bytes())
    at = data.index(b'"label": "correct"') + len('"label": "c')
    data[at] ^= 0x01  # "correct" -> "cnrrect"
    (out / "journal.sqlite").write_bytes(bytes(data))
    total = len(_samples(smoke_run))
    rerun = run_cli("--model", "demo", "--suite", "smoke", "--out", str(out), "--no-progress")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "1 rows failed their checksum" in rerun.stderr
    assert f"generated 1, resumed {total - 1} from the journal" in rerun.stdout
    assert json.loads((out / "results.json").read_text())["evals"] == \
        json.loads((smoke_run / "results.json").read_text())["evals"]


def test_full_disk_during_a_resumed_run(smoke_run: Path, tmp_path: Path, run_cli):
    """A real full filesystem (a small tmpfs) under the run dir: one line, no temp files, resumable."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (tests/test_faults.py injects the same faults without one)")
    try:
        out = _copy_run(smoke_run, mnt / "run")
        for name in ("report.html", "results.json", "samples.jsonl"):
            (out / name).unlink()
        filler = mnt / "filler"
        fill(filler)
        os.truncate(filler, filler.stat().st_size - 64 * 1024)  # room for the manifest, not for the outputs
        proc = run_cli("--model", "demo", "--suite", "smoke", "--out", str(out), "--no-progress")
        assert proc.returncode == 1, proc.stderr[-2000:]
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("evalrun: error: the disk is full (writing "), proc.stderr
        assert str(out) in lines[0]
        assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".write-test-")]
        filler.unlink()
        proc = run_cli("--model", "demo", "--suite", "smoke", "--out", str(out), "--no-progress")
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"generated 0, resumed {len(_samples(smoke_run))}" in proc.stdout
        assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _proc_stat(pid: str) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()  # state, ppid, pgrp, ...


def _children(pid: int) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and (st := _proc_stat(p)) and st[1] == str(pid)]


def _group_alive(pgid: int) -> bool:
    stats = (_proc_stat(p) for p in os.listdir("/proc") if p.isdigit())
    return any(st and st[2] == str(pgid) and st[0] != "Z" for st in stats)


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, smoke_run: Path, run_cli):
    (tmp_path / "notamodel").mkdir()
    cases = [
        (["--model", str(tmp_path / "missing"), "--suite", "smoke"], "does not exist"),
        (["--model", str(tmp_path / "notamodel"), "--suite", "smoke"], "not a model directory"),
        (["--model", "demo", "--suite", "smok"], "did you mean smoke"),
        (["--model", "demo", "--suite", "smoke", "--data-dir", str(tmp_path / "nodata")], "data dir"),
    ]
    for args, message in cases:
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    # a run dir of another suite is refused and left intact
    before = (smoke_run / "results.json").read_bytes()
    other = tmp_path / "suite.yaml"
    other.write_text("name: other\nevals: [smoke_knowledge]\n")
    proc = run_cli("--model", "demo", "--suite", str(other), "--out", str(smoke_run))
    assert proc.returncode == 2 and "another model or suite" in proc.stderr
    assert (smoke_run / "results.json").read_bytes() == before


def test_unwritable_out_dir_is_exit_2(tmp_path: Path, run_cli):
    if os.geteuid() == 0:
        target = Path("/proc/evalrun-out")  # not writable even for root
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        target = ro / "run"
    proc = run_cli("--model", "demo", "--suite", "smoke", "--out", str(target))
    assert proc.returncode == 2 and "cannot write to output dir" in proc.stderr
