"""The root cause of an engine failure, in one line.

vLLM's own exceptions often only point elsewhere: `1 validation error for VllmConfig` (the field and
the reason are on later lines), `Engine core initialization failed. See root cause above` (the cause
is a traceback the engine-core process printed to engine.log). This finds the sentence a user can act
on: the validation error's field and message, or the first exception line of this engine's part of
engine.log (the innermost exception of a chain is printed first).
"""

from __future__ import annotations

import re
from pathlib import Path

MAX_LEN = 300
# `ValueError: ...`, `torch.OutOfMemoryError: ...`, `safetensors_rust.SafetensorError: ...` at a line start
EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit)\b:?\s?(.*)$")
GENERIC = ("Engine core initialization failed", "initialization failed due to an exception in a background process",
           "EngineDeadError", "EngineCore encountered an issue", "See stack trace", "See root cause",
           "RuntimeError: cancelled")  # the last: a worker's queue read cut short by its engine's death
# vLLM tags its processes' lines, `(EngineCore pid=1) `, and its logger adds `ERROR 12-01 23:52:30 [core.py:1512] `
LOG_PREFIX = re.compile(r"^\([\w-]+(?: pid=\d+)?\)\s*(?:[A-Z]+ \d\d-\d\d [\d:]+ \[[^\]]*\]\s*)?")


def log_size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:
        return 0


def read_log(path: Path | None, offset: int = 0) -> str:
    """What this engine wrote to `path` (from `offset`, at most 4 MiB); "" if there is none."""
    if path is None:
        return ""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read(4 << 20).decode(errors="replace")
    except OSError:
        return ""


def cause_from_log(path: Path | None, offset: int = 0) -> str | None:
    """The first specific exception line written to `path` after `offset`, or None."""
    for raw in read_log(path, offset).splitlines():
        line = LOG_PREFIX.sub("", raw).rstrip()
        if EXCEPTION_LINE.match(line) and not any(g in line for g in GENERIC):
            return _short(line)
    return None


def cause_of(e: BaseException, log_path: Path | None = None, offset: int = 0) -> str:
    """One line naming what went wrong: a validation error's field and reason, the log's root cause, or e."""
    errors = getattr(e, "errors", None)
    if callable(errors):  # pydantic's ValidationError
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc") or () if "[" not in str(p))  # not union branches
            got = first.get("input")
            got = f" (got {got!r})" if isinstance(got, str | int | float) else ""
            return _short(f"{where + ': ' if where else ''}{first.get('msg')}{got}")
        except (TypeError, IndexError, AttributeError, ValueError):
            pass
    own = _first_line(e)
    if any(g in own for g in GENERIC) or not str(e).strip():
        found = cause_from_log(log_path, offset)
        if found:
            return found
    return own


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return _short(f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__)


def _short(line: str) -> str:
    return line if len(line) <= MAX_LEN else line[: MAX_LEN - 3] + "..."
