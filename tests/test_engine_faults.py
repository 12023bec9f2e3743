"""Engine faults: dead engine processes, early kills, Ctrl-C, and the one-line causes of failed loads.

The unit tests fake a process tree or a log; the `vllm` tests kill real engine processes of the demo
model's runs (vLLM on CPU) and check that evalrun ends promptly, names the cause and leaves no process.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest
from evalrun.rundir import files
from evalrun.runner.engine_errors import cause_from_log, cause_of
from evalrun.runner.journal import Journal
from evalrun.runner.watchdog import Death, EngineWatch

# --- engine death: watching the tree, naming the cause ------------------------------------------

TREE = """
import multiprocessing as mp, os, time
import setproctitle
def engine():
    setproctitle.setproctitle("VLLM::EngineCore")  # as vLLM titles its engine-core process
    print(os.getpid(), flush=True)
    time.sleep(60)
if __name__ == "__main__":
    os.setpgrp()
    mp.get_context("fork").Process(target=engine).start()
    time.sleep(60)
"""


def test_engine_watch_names_a_killed_grandchild(tmp_path: Path):
    """A process titled like vLLM's engine core, below a group leader, killed: named with its signal."""
    pytest.importorskip("setproctitle")
    script = tmp_path / "tree.py"
    script.write_text(TREE)
    leader = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(leader.stdout.readline())
        watch = EngineWatch(leader.pid)
        assert watch.check() is None and watch.seen == {}  # sighted once: not yet an engine process
        assert watch.check() is None and watch.seen == {str(child): "VLLM::EngineCore"}
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while (death := watch.check()) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert death is not None and death.pid == child
        assert "VLLM::EngineCore" in death.describe() and "was killed by SIGKILL" in death.describe()
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()


FORKED_HELPER = """
import os, sys, time
import setproctitle
if __name__ == "__main__":
    os.setpgrp()
    if os.fork() == 0:
        setproctitle.setproctitle("VLLM::Worker")
        helper = os.fork()
        if helper == 0:  # a helper the engine forks (vLLM runs lscpu): its title is the engine's until exec
            print(os.getpid(), flush=True)
            sys.stdin.readline()
            os.execv("/bin/true", ["true"])
        os.waitpid(helper, 0)
    time.sleep(60)
"""


def test_engine_watch_ignores_a_helper_caught_between_fork_and_exec(tmp_path: Path):
    """A process forked by an engine process carries the engine's title until it execs; seen in that window and
    gone by the next scan, it is not a dead engine (the likely cause of a clean-clone CI failure on 2026-12-05)."""
    pytest.importorskip("setproctitle")
    script = tmp_path / "helper.py"
    script.write_text(FORKED_HELPER)
    leader = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        helper = int(leader.stdout.readline())
        watch = EngineWatch(leader.pid)
        assert watch.check() is None and str(helper) in watch.sighted  # the helper, still titled VLLM::Worker
        leader.stdin.write("\n")
        leader.stdin.flush()
        deadline = time.monotonic() + 5
        while os.path.exists(f"/proc/{helper}") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not os.path.exists(f"/proc/{helper}")
        assert watch.check() is None and watch.check() is None
        assert list(watch.seen.values()) == ["VLLM::Worker"] and str(helper) not in watch.seen
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()


def test_death_descriptions():
    assert Death(5, "worker", code=1).describe() == "the vLLM worker process (pid 5) exited with code 1"
    assert "killed by SIGSEGV" in Death(5, "VLLM::Worker", signal=11).describe()


def test_root_cause_from_the_engine_log(tmp_path: Path):
    log = tmp_path / "engine.log"
    log.write_text("old run\nValueError: from an earlier engine\n")
    offset = log.stat().st_size
    with log.open("a") as f:
        f.write("(EngineCore pid=12) Traceback (most recent call last):\n"
                "(EngineCore pid=12)   File \"x.py\", line 1, in <module>\n"
                "(EngineCore pid=12) safetensors_rust.SafetensorError: Error while deserializing header: "
                "incomplete metadata\n"
                "(EngineCore pid=12) RuntimeError: Engine core initialization failed. See root cause above.\n")
    logged = tmp_path / "logged.log"
    logged.write_text("(EngineCore pid=9) ERROR 12-01 23:52:30 [multiproc_executor.py:315] Worker proc VllmWorker-0 "
                      "died unexpectedly (exit code: -9), shutting down executor.\n"
                      "(EngineCore pid=9) ERROR 12-01 23:52:30 [core.py:1512] RuntimeError: cancelled\n"
                      "(EngineCore pid=9) ERROR 12-01 23:52:30 [core.py:1512] torch.OutOfMemoryError: out of memory\n")
    assert cause_from_log(logged) == "torch.OutOfMemoryError: out of memory"
    from evalrun.runner.engine_link import _status_from_log

    assert _status_from_log(Death(3, "VLLM::Worker"), logged.read_text()).signal == signal.SIGKILL
    assert _status_from_log(Death(3, "VLLM::EngineCore"), logged.read_text()).signal is None
    cause = cause_from_log(log, offset)
    assert cause == "safetensors_rust.SafetensorError: Error while deserializing header: incomplete metadata"
    wrapped = RuntimeError("Engine core initialization failed. See root cause above. Failed core proc(s): {}")
    assert cause_of(wrapped, log, offset) == cause
    assert cause_of(ValueError("max_model_len must be positive\nmore"), log, offset) == \
        "ValueError: max_model_len must be positive"


# --- real engines (vLLM on CPU, the demo model) --------------------------------------------------

LONG_SUITE = "name: faults\nevals: [smoke_refusal, harmful_refusal, over_refusal, jailbreak_refusal]\n"  # 550 requests
# For kills that must land mid-generation on any CPU (a fast one finished LONG_SUITE before the kill): 3,520
# sampled requests, never run to the end.
KILL_SUITE = ("name: kills\nevals:\n  - {eval: harmful_refusal, transforms: [{name: sampling, n: 32}]}\n"
              "  - {eval: over_refusal, transforms: [{name: sampling, n: 32}]}\n")


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def _alive(pid: int) -> bool:
    st = _stat_fields(pid)
    return st is not None and st[0] != "Z"


def _group(pgid: int) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and (st := _stat_fields(p)) and st[2] == str(pgid)
            and st[0] != "Z"]


def _titled(prefix: str) -> dict[int, str]:
    out = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                title = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[0].decode()
            except OSError:
                continue
            if title.startswith(prefix):
                out[int(p)] = title
    return out


def _worker_of(cli_pid: int) -> int | None:
    for p in os.listdir("/proc"):
        if p.isdigit() and (st := _stat_fields(p)) and st[1] == str(cli_pid):
            try:
                cmdline = Path(f"/proc/{p}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline and b"resource_tracker import" not in cmdline:
                return int(p)
    return None


def _rows(run: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{run / 'journal.sqlite'}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _start(evalrun_cmd, suite: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*evalrun_cmd, "--model", "demo", "--suite", str(suite), "--out", str(out), "--no-progress",
                             "--kv-cache-gb", "1", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_rows(proc: subprocess.Popen, out: Path, timeout: float = 600) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if (n := _rows(out)) > 0:
            return n
        time.sleep(0.05)
    raise AssertionError(f"no results before the run ended (exit {proc.poll()})")


def _assert_no_engine_left(pgid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _group(pgid):
        time.sleep(0.2)
    assert not _group(pgid), f"engine processes outlived the run: {_group(pgid)}"


@pytest.fixture
def long_suite(tmp_path: Path) -> Path:
    path = tmp_path / "faults.yaml"
    path.write_text(LONG_SUITE)
    return path


@pytest.fixture
def kill_suite(tmp_path: Path) -> Path:
    path = tmp_path / "kills.yaml"
    path.write_text(KILL_SUITE)
    return path


@pytest.mark.vllm
@pytest.mark.parametrize("victim", ["VLLM::EngineCore", "VLLM::Worker"])
def test_dead_engine_process_fails_fast_naming_it(demo_model, kill_suite: Path, tmp_path: Path, evalrun_cmd,
                                                 victim: str):
    out = tmp_path / "run"
    proc = _start(evalrun_cmd, kill_suite, out)
    try:
        _wait_for_rows(proc, out)
        worker = _worker_of(proc.pid)
        targets = [pid for pid, title in _titled(victim).items() if (st := _stat_fields(pid)) and st[2] == str(worker)]
        assert len(targets) == 1, (victim, targets)
        os.kill(targets[0], signal.SIGKILL)
        killed_at, rows_at_kill = time.monotonic(), _rows(out)
        stdout, stderr = proc.communicate(timeout=120)  # the old parent waited forever here
        took = time.monotonic() - killed_at
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, stderr[-2000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalrun: error: "), stderr
    assert f"{victim}" in lines[0] and f"(pid {targets[0]})" in lines[0] and str(out / "engine.log") in lines[0]
    assert "Traceback" not in stderr
    print(f"{victim} killed: evalrun exited {took:.1f} s later")
    _assert_no_engine_left(worker)
    assert _rows(out) >= rows_at_kill and json.loads((out / "manifest.json").read_text())["status"] == "failed"
    assert Journal(out / "journal.sqlite").bad == 0


@pytest.mark.vllm
def test_kill_just_after_the_worker_starts_leaves_no_orphan(demo_model, tmp_path: Path, evalrun_cmd):
    """SIGKILL of evalrun within ~0.05 s of its worker's start (before the worker can watch it), 3 trials."""
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nevals: [smoke_knowledge]\n")
    for trial in range(3):
        proc = _start(evalrun_cmd, suite, tmp_path / f"run{trial}", "--limit", "1")
        deadline = time.monotonic() + 300
        while (worker := _worker_of(proc.pid)) is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert worker is not None, proc.communicate()
        time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (_alive(worker) or _group(worker)):
            time.sleep(0.2)
        assert not _alive(worker) and not _group(worker), f"trial {trial}: the worker or its engine outlived evalrun"
        assert not [p for p, t in _titled("VLLM::").items() if (st := _stat_fields(p)) and st[2] == str(worker)]


@pytest.mark.vllm
def test_ctrl_c_keeps_results_and_a_second_run_on_the_dir_is_refused(demo_model, long_suite: Path, tmp_path: Path,
                                                                     evalrun_cmd, run_cli):
    out = tmp_path / "run"
    proc = _start(evalrun_cmd, long_suite, out)
    try:
        _wait_for_rows(proc, out)
        worker = _worker_of(proc.pid)
        second = run_cli("--model", "demo", "--suite", str(long_suite), "--out", str(out), "--no-progress",
                         timeout=300)
        assert second.returncode == 2, second.stderr
        assert second.stderr.strip().splitlines() == [
            f"evalrun: error: another evalrun process (pid {proc.pid}) is running in {out}; wait for it to finish "
            "or pass another --out"]
        assert json.loads((out / "manifest.json").read_text())["status"] == "running"
        assert files.run_status(out) == "running"
        os.killpg(proc.pid, signal.SIGINT)  # as the terminal sends Ctrl-C
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr[-2000:]
    assert stderr.lstrip().startswith("evalrun: interrupted: stopping the engine"), stderr
    assert "Traceback" not in stderr
    _assert_no_engine_left(worker)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    kept = _rows(out)
    rerun = run_cli("--model", "demo", "--suite", str(long_suite), "--out", str(out), "--no-progress",
                    "--kv-cache-gb", "1")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"generated {550 - kept}, resumed {kept} from the journal" in rerun.stdout


@pytest.mark.vllm
def test_double_ctrl_c_just_after_ready_ends_promptly(demo_model, kill_suite: Path, tmp_path: Path, evalrun_cmd):
    out = tmp_path / "run"
    proc = _start(evalrun_cmd, kill_suite, out)
    try:
        _wait_for_rows(proc, out)
        worker = _worker_of(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)  # the old code hung here forever
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    _assert_no_engine_left(worker)
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert Journal(out / "journal.sqlite").bad == 0


def test_root_cause_of_a_validation_error():
    """vLLM's config errors are pydantic ValidationErrors whose first line names only the class."""
    pydantic = pytest.importorskip("pydantic")

    class ParallelConfig(pydantic.BaseModel):
        dtype: typing.Literal["auto", "float32"] | None = None
        tensor_parallel_size: int = pydantic.Field(1, ge=1)

    with pytest.raises(pydantic.ValidationError) as err:
        ParallelConfig(tensor_parallel_size=0)
    assert str(err.value).splitlines()[0] == "1 validation error for ParallelConfig"
    assert cause_of(err.value) == "tensor_parallel_size: Input should be greater than or equal to 1 (got 0)"
    with pytest.raises(pydantic.ValidationError) as err:
        ParallelConfig(dtype="nonsense")
    assert cause_of(err.value).startswith("dtype: Input should be 'auto' or 'float32' (got 'nonsense')")


def test_interrupts_while_an_engine_runs_are_deferred_and_the_second_forces(capsys):
    from evalrun.runner.interrupts import StopRequests

    forced = []
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), StopRequests(force=lambda: forced.append(True)) as stop:
        os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt here: the engine loop decides
        time.sleep(0.05)
        assert stop.requested and not forced
        assert "interrupted: stopping the engine" in capsys.readouterr().err
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert forced == [True]
    assert signal.getsignal(signal.SIGINT) is previous


def test_a_stop_requested_while_the_engine_finishes_still_interrupts():
    """Ctrl-C during the engine's last results or its shutdown: the engine section ends normally, but the
    run must not go on to judge, report and exit 0 as if nobody had asked it to stop."""
    from evalrun.runner.interrupts import StopRequests

    with StopRequests(force=lambda: None):
        pass  # no request: nothing raised
    with pytest.raises(KeyboardInterrupt):
        with StopRequests(force=lambda: None):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the engine finished without looking at the request
    with pytest.raises(ValueError):  # an error of the section itself is not masked by the interrupt
        with StopRequests(force=lambda: None):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            raise ValueError("engine failed")
