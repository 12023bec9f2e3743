"""Run-dir faults: damaged journals, full disks, a second process on one run dir, killed runs' status.

Each fault is injected directly (a flipped bit in the journal file, a disk that refuses writes, a real
full tmpfs where one can be mounted, a lock held by another process); tests/test_engine_faults.py kills
real engines.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from evalrun.evals.errors import InputError, RunError
from evalrun.rundir import files
from evalrun.runner.journal import Journal

sys.path.insert(0, str(Path(__file__).parent))
from disk_helpers import fill  # noqa: E402


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
        fill(filler)
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
