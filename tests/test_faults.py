"""Faults: damaged journals, full disks, concurrent runs on one run dir, killed runs' status, dead engines.

The unit tests here inject the fault directly (a flipped bit in the journal file, a disk that refuses
writes, a lock held by another process); the `vllm` tests at the end kill real engine processes.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import typing
from pathlib import Path

import pytest
from evalrun.evals.errors import InputError, RunError
from evalrun.rundir import files
from evalrun.runner.engine_errors import cause_from_log, cause_of
from evalrun.runner.journal import Journal
from evalrun.runner.watchdog import Death, EngineWatch


def _row(i: int, label: str = "correct") -> dict:
    return {"key": f"k{i:03d}", "eval": "quiz", "eval_version": 1, "variant": "base", "sample_id": f"s{i}",
            "epoch": 0, "request": {"messages": [{"role": "user", "content": f"question {i}"}]},
            "completion": {"text": f"answer {i}"}, "score": {"value": 1.0, "label": label}}


def _journal(path: Path, n: int = 20) -> None:
    j = Journal(path)
    j.add([_row(i) for i in range(n)])
    j.close()  # the last connection checkpoints the WAL into the main file


def _flip_bit_in(path: Path, needle: bytes) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(needle)
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


# --- the journal ---------------------------------------------------------------------------------


def test_flipped_bit_in_a_row_makes_it_missing_with_a_warning(tmp_path: Path, capsys):
    path = tmp_path / "journal.sqlite"
    _journal(path)
    _flip_bit_in(path, b"answer 7")  # "answer 7" -> "anrwer 7": valid SQLite, wrong content
    j = Journal(path)
    assert "1 rows failed their checksum" in capsys.readouterr().err
    assert j.done_keys() == {f"k{i:03d}" for i in range(20)} - {"k007"}
    assert j.bad == 1
    j.add([_row(7)])  # generated again: accepted, and verified on the next open
    j.close()
    j = Journal(path)
    assert j.bad == 0 and len(j.done_keys()) == 20
    assert j.rows(["k007"])["k007"]["completion"]["text"] == "answer 7"
    quarantined = j.db.execute("SELECT key, reason FROM quarantine").fetchall()
    assert quarantined == [("k007", "checksum mismatch")]


def test_dropped_rows_are_missing(tmp_path: Path):
    j = Journal(tmp_path / "journal.sqlite")
    j.add([_row(i) for i in range(3)])
    j.drop(["k001"])
    assert j.done_keys() == {"k000", "k002"}


def test_flipped_bit_in_a_score_label_is_caught(tmp_path: Path):
    path = tmp_path / "journal.sqlite"
    j = Journal(path)
    j.add([_row(0, "wrong"), _row(1, "correct")])
    j.close()
    _flip_bit_in(path, b"wrong")  # "wrong" -> "vrong": would score as some other label
    assert Journal(path).done_keys() == {"k001"}


def test_rows_without_a_checksum_are_regenerated(tmp_path: Path, capsys):
    """A journal written before checksums existed: its rows count as missing (verified rows only)."""
    path = tmp_path / "journal.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE results (key TEXT PRIMARY KEY, eval TEXT NOT NULL, eval_version INTEGER NOT NULL, "
               "variant TEXT NOT NULL, sample_id TEXT NOT NULL, epoch INTEGER NOT NULL, request TEXT NOT NULL, "
               "completion TEXT NOT NULL, score TEXT NOT NULL, created REAL NOT NULL)")
    db.execute("INSERT INTO results VALUES ('old', 'quiz', 1, 'base', 's', 0, '{}', '{}', '{}', 0)")
    db.commit()
    db.close()
    j = Journal(path)
    assert j.done_keys() == set()
    assert "1 rows have none" in capsys.readouterr().err
    j.add([_row(1)])
    assert j.done_keys() == {"k001"}


@pytest.mark.parametrize("damage", ["header", "truncated"])
def test_damaged_journal_file_is_one_line_saying_how_to_recover(tmp_path: Path, damage: str):
    path = tmp_path / "journal.sqlite"
    _journal(path, n=200)
    data = path.read_bytes()
    path.write_bytes(b"\x00" * 100 + data[100:] if damage == "header" else data[: len(data) // 3])
    with pytest.raises(InputError) as err:
        Journal(path)
    message = str(err.value)
    assert "is damaged" in message and f"mv {path} {path}.damaged" in message and "\n" not in message


def test_full_journal_is_a_disk_full_error(tmp_path: Path):
    """SQLite's own SQLITE_FULL (here from a page limit, as on a full disk)."""
    path = tmp_path / "journal.sqlite"
    j = Journal(path)
    j.db.execute("PRAGMA max_page_count=8")
    big = _row(0)
    big["completion"] = {"text": "x" * 200_000}
    with pytest.raises(files.DiskFullError) as err:
        j.add([big])
    assert "disk is full" in str(err.value) and str(path) in str(err.value)
    assert j.done_keys() == set()


# --- the run dir: full disk, temp files --------------------------------------------------------


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_write_atomic_on_a_full_disk_leaves_no_temp_file(tmp_path: Path, monkeypatch):
    target = tmp_path / "results.json"
    target.write_text("old")
    real_write = Path.write_text

    def half_write(self, text, *a, **kw):  # the temp file is created, then the disk fills
        real_write(self, text[:10], *a, **kw)
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", half_write)
    with pytest.raises(files.DiskFullError) as err:
        files.write_json(target, {"a": 1})
    assert "disk is full" in str(err.value) and str(target) in str(err.value)
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_prepare_on_a_full_disk_removes_its_probe(tmp_path: Path, monkeypatch):
    real_write = Path.write_text

    def probe_fails(self, *a, **kw):
        real_write(self, "")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", probe_fails)
    with pytest.raises(files.DiskFullError, match="disk is full"):
        files.prepare(tmp_path / "run")
    monkeypatch.undo()
    assert list((tmp_path / "run").iterdir()) == []


def test_disk_full_from_any_writer_sweeps_the_owned_run_dir(tmp_path: Path):
    run_dir = tmp_path / "run"
    files.prepare(run_dir)
    files.lock_run_dir(run_dir)
    try:
        (run_dir / ".report.html.123.tmp").write_text("partial")
        err = files.disk_full(OSError(errno.ENOSPC, "No space left on device", str(run_dir / ".report.html.123.tmp")))
        assert isinstance(err, RunError) and err.exit_code == 1
        assert f"(writing {run_dir / 'report.html'})" in str(err)
        assert not (run_dir / ".report.html.123.tmp").exists()
        assert files.disk_full(ValueError("x")) is None
    finally:
        files.release_run_dir(run_dir)


TMPFS_FREE_KB = 64


def test_full_tmpfs_is_one_line_and_no_temp_files_left(tmp_path: Path):
    """A real full filesystem (a small tmpfs) where one can be mounted; the fault-injected tests always run."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        filler = mnt / "filler"
        _fill(filler)
        code = textwrap.dedent(f"""
            import sys
            from pathlib import Path
            from evalrun.rundir import files
            from evalrun.runner.journal import Journal
            run = Path({str(mnt / "run")!r})
            try:
                files.prepare(run)
            except Exception as e:
                print(type(e).__name__, e); sys.exit(0)
            print("prepare passed")
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.stdout.startswith("DiskFullError the disk is full"), out.stdout + out.stderr
        assert not any(p.name.startswith(".write-test-") for p in mnt.rglob("*"))
        filler.unlink()
        filler.write_bytes(b"\0" * (1024 * 1024 - TMPFS_FREE_KB * 1024 - 64 * 1024))  # room for a few pages
        files.prepare(mnt / "run")
        j = Journal(mnt / "run" / "journal.sqlite")
        with pytest.raises(files.DiskFullError, match="disk is full"):
            for i in range(2000):
                big = _row(i)
                big["completion"] = {"text": os.urandom(2000).hex()}
                j.add([big])
        j.close()
        with pytest.raises(files.DiskFullError):
            files.write_json(mnt / "run" / "results.json", {"x": os.urandom(200_000).hex()})
        assert not [p for p in (mnt / "run").iterdir() if p.name.endswith(".tmp") or ".write-test-" in p.name]
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_stale_temp_dirs_of_a_killed_modification_build_are_removed(tmp_path: Path, monkeypatch):
    from evalrun.models.variant import Variant
    from evalrun.modify.cache import cached_or_build, variants_root

    monkeypatch.setenv("EVALRUN_CACHE", str(tmp_path))
    stale = variants_root() / ".attack-abc.tmp-x1y2"  # a build killed mid-training leaves its temp dir behind
    (stale / "adapter").mkdir(parents=True)
    (stale / "adapter" / "adapter_model.safetensors").write_bytes(b"\0" * 1000)

    def build(dir_: Path) -> list[Variant]:
        (dir_ / "a").mkdir()
        (dir_ / "a" / "adapter_model.safetensors").write_bytes(b"1")
        return [Variant("attack", "lora", str(dir_ / "a"))]

    variants, cached = cached_or_build("attack-abc", build)
    assert not cached and variants[0].name == "attack"
    assert not stale.exists()
    assert sorted(p.name for p in variants_root().iterdir()) == [".attack-abc.lock", "attack-abc"]


# --- the run-dir lock and status ---------------------------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from evalrun.rundir import files
run = Path(sys.argv[1])
files.lock_run_dir(run)
files.write_json(run / files.MANIFEST, {"status": "running"})
print("locked", flush=True)
time.sleep(60)
"""


def test_second_process_on_a_run_dir_is_refused_and_a_killed_run_reads_interrupted(tmp_path: Path):
    run = tmp_path / "run"
    files.prepare(run)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(InputError) as err:
            files.lock_run_dir(run)
        assert f"another evalrun process (pid {holder.pid}) is running in {run}" in str(err.value)
        assert files.lock_holder(run) == holder.pid
        assert files.run_status(run) == "running"
    finally:
        holder.kill()
        holder.wait()
    assert files.lock_holder(run) is None
    assert files.run_status(run) == "interrupted"  # the kernel dropped the dead holder's lock
    (run / ".manifest.json.999.tmp").write_text("partial")
    files.lock_run_dir(run)  # free now; the killed writer's temp file goes
    try:
        assert not (run / ".manifest.json.999.tmp").exists()
        assert files.run_status(run) == "running"  # ours: we are the one running it
        files.end_held_runs("interrupted")
        assert json.loads((run / files.MANIFEST).read_text())["status"] == "interrupted"
    finally:
        files.release_run_dir(run)


def test_finishing_reads_complete_only_to_its_writer_and_interrupted_once_killed(tmp_path: Path):
    """Results written, report not yet (`finishing`): the run's own gate and report see `complete`; a kill
    before the report leaves no `complete` run without one; `finish_run` says complete once all exists."""
    from evalrun.rundir.reader import load_run

    run = tmp_path / "run"
    run.mkdir()
    files.write_json(run / files.MANIFEST, {"status": files.FINISHING})
    (run / files.RESULTS).write_text('{"evals": {}}')
    assert files.run_status(run) == "interrupted"  # nobody holds it: killed between results and report
    assert load_run(run).manifest["status"] == "interrupted"  # what gate, report and index read
    files.lock_run_dir(run)
    assert load_run(run).manifest["status"] == "complete"  # the writer's own gate and report
    files.finish_run(run)
    assert json.loads((run / files.MANIFEST).read_text())["status"] == "complete"
    assert files.run_status(run) == "complete"
    files.lock_run_dir(run)
    files.end_held_runs("failed")  # a finished run is never relabelled by a later error
    assert json.loads((run / files.MANIFEST).read_text())["status"] == "complete"


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


@pytest.mark.vllm
@pytest.mark.parametrize("victim", ["VLLM::EngineCore", "VLLM::Worker"])
def test_dead_engine_process_fails_fast_naming_it(demo_model, long_suite: Path, tmp_path: Path, evalrun_cmd,
                                                 victim: str):
    out = tmp_path / "run"
    proc = _start(evalrun_cmd, long_suite, out)
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
def test_double_ctrl_c_just_after_ready_ends_promptly(demo_model, long_suite: Path, tmp_path: Path, evalrun_cmd):
    out = tmp_path / "run"
    proc = _start(evalrun_cmd, long_suite, out)
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
    with StopRequests(force=lambda: forced.append(True)) as stop:
        os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt here: the engine loop decides
        time.sleep(0.05)
        assert stop.requested and not forced
        assert "interrupted: stopping the engine" in capsys.readouterr().err
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert forced == [True]
    assert signal.getsignal(signal.SIGINT) is previous
