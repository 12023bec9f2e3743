"""The run directory: where a run's files live, written so nothing finished is ever lost.

Every output is written to a temporary file and renamed into place, so a crash
mid-write leaves the previous version intact.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError

DEFAULT_RUNS_DIR = Path("evalrun-runs")
MANIFEST = "manifest.json"


def default_run_dir(suite: str, model_name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", model_name).strip("-") or "model"
    return DEFAULT_RUNS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}-{suite}-{safe}"


def prepare(run_dir: Path) -> Path:
    """Create `run_dir` (and parents) and prove it is writable, or an InputError."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise InputError(f"cannot write to output dir {run_dir}: {e.strerror}; pass a writable --out") from None
    return run_dir


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} not found; is {path.parent} a run directory?") from None
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {path}: {e}") from None
