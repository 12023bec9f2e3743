"""The run directory: where a run's files live, written so nothing finished is ever lost.

Every output is written to a temporary file and renamed into place, so a crash
mid-write leaves the previous version intact. One process at a time owns a run
dir (an exclusive, non-blocking flock on the directory itself, which the kernel
drops when its holder dies), so two runs on one `--out` never interleave, and a
manifest that says `running` while nobody holds the lock is a run that was
killed: it reads as `interrupted`. The run writes `finishing` with its results
and `complete` only after the report and verdict exist, so a kill in between
never leaves a `complete` run without its report.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from evalrun import fileio
from evalrun.evals.errors import InputError, RunError

DEFAULT_RUNS_DIR = Path("evalrun-runs")
MANIFEST = "manifest.json"
REPORT = "report.html"
RESULTS = "results.json"
SAMPLES = "samples.jsonl"
TEMP_PATTERNS = (".write-test-*", ".*.tmp")
RUNNING, FINISHING, COMPLETE = "running", "finishing", "complete"  # finishing: results written, report not yet

_held: dict[Path, int] = {}  # run dirs this process has locked -> the directory fd holding the flock


class DiskFullError(RunError):
    """No space left where a run writes: exit 1 with the path, after removing the partial files."""


def default_run_dir(suite: str, model_name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", model_name).strip("-") or "model"
    return DEFAULT_RUNS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}-{suite}-{safe}"


def prepare(run_dir: Path) -> Path:
    """Create `run_dir` (and parents) and prove it is writable, or an InputError (a DiskFullError if full)."""
    probe = run_dir / f".write-test-{os.getpid()}"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok")
    except OSError as e:
        try:
            probe.unlink(missing_ok=True)
        except OSError:  # run_dir is a file, or was never made: there is no probe to remove
            pass
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise disk_full(e, run_dir) from None
        raise InputError(f"cannot write to output dir {run_dir}: {e.strerror}; pass a writable --out") from None
    probe.unlink()
    return run_dir


def lock_run_dir(run_dir: Path) -> None:
    """Own `run_dir` until this process exits (or `release_run_dir`): an InputError if another process does.

    Temporary files left in it by an earlier, killed process are removed once the lock is ours.
    """
    key = run_dir.resolve()
    if key in _held:
        return
    fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder = lock_holder(run_dir)
        who = f" (pid {holder})" if holder else ""
        raise InputError(f"another evalrun process{who} is running in {run_dir}; wait for it to finish "
                         "or pass another --out") from None
    _held[key] = fd
    remove_temp_files(run_dir)


def release_run_dir(run_dir: Path) -> None:
    fd = _held.pop(run_dir.resolve(), None)
    if fd is not None:
        os.close(fd)  # closing the last descriptor drops the flock


def end_held_runs(status: str) -> None:
    """This process is ending early: mark each run dir it owns `status` if its run was unfinished, release it.

    A finished run is left as it is: an error that refused to touch it must not relabel it.
    """
    for run_dir in list(_held):
        path = run_dir / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
            if isinstance(manifest, dict) and manifest.get("status") in (RUNNING, FINISHING):
                write_json(path, {**manifest, "status": status})
        except (OSError, ValueError, RunError):
            pass  # best effort: with the lock gone, a `running` manifest already reads as interrupted
        remove_temp_files(run_dir)
        release_run_dir(run_dir)


def lock_holder(run_dir: Path) -> int | None:
    """The pid holding the run lock on `run_dir` (from /proc/locks, without touching the lock), or None."""
    try:
        st = os.stat(run_dir)
        locks = Path("/proc/locks").read_text()
    except OSError:
        return None
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in locks.splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[1] == "FLOCK" and parts[5] == want and parts[4].isdigit():
            return int(parts[4])
    return None


def run_status(run_dir: Path, manifest: dict[str, Any] | None = None) -> str | None:
    """The run's status as a reader should show it.

    `running` or `finishing` with no process holding the lock means the run was killed: `interrupted`.
    To the process still writing the report and verdict, `finishing` reads as `complete` (its gate
    and report describe the finished run); to another process it reads as `running`.
    """
    if manifest is None:
        path = run_dir / MANIFEST
        manifest = read_json(path) if path.exists() else {}
    status = manifest.get("status") if isinstance(manifest, dict) else None
    if status not in (RUNNING, FINISHING):
        return status
    if run_dir.resolve() in _held:
        return COMPLETE if status == FINISHING else status
    return RUNNING if lock_holder(run_dir) else "interrupted"


def finish_run(run_dir: Path) -> None:
    """Every file of the run exists (report and verdict too): say `complete`, and free the run dir."""
    path = run_dir / MANIFEST
    manifest = read_json(path) if path.exists() else None
    if isinstance(manifest, dict) and manifest.get("status") == FINISHING:
        write_json(path, {**manifest, "status": COMPLETE})
    release_run_dir(run_dir)


def remove_temp_files(run_dir: Path) -> None:
    """Remove temporary files (ours or left by a killed writer) from a run dir this process owns."""
    for pattern in TEMP_PATTERNS:
        for path in run_dir.glob(pattern):
            if path.is_file():
                path.unlink(missing_ok=True)


def disk_full(e: BaseException, where: Path | None = None) -> DiskFullError | None:
    """The one-line error for a write that failed because the disk is full, or None if `e` is another error."""
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        path = where or (_final_name(Path(e.filename)) if e.filename else None)
    elif isinstance(e, sqlite3.OperationalError) and "full" in str(e):
        path = where
    else:
        return None
    for run_dir in list(_held):  # whatever was being written is partial: remove it now
        remove_temp_files(run_dir)
    place = f" (writing {path})" if path else ""
    return DiskFullError(f"the disk is full{place}; free some space and rerun the same command to resume")


def _final_name(path: Path) -> Path:
    """The file a temporary `.NAME.PID.tmp` was going to become (what the user knows), else `path`."""
    m = re.fullmatch(r"\.(.+?)(?:\.\d+)?\.tmp", path.name)
    return path.with_name(m.group(1)) if m else path


def write_atomic(path: Path, data: str | bytes) -> None:
    """`fileio.write_atomic`, with a full disk as the one-line DiskFullError (partial files removed)."""
    try:
        fileio.write_atomic(path, data)
    except OSError as e:
        raise disk_full(e, path) or e from None


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} not found; is {path.parent} a run directory?") from None
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {path}: {e}") from None
