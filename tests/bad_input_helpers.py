"""What every bad-input case asserts: the exit code, one `evalrun: error:` line, no traceback, files unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path


def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def assert_one_line(proc, code: int, words: str) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("evalrun: error: "), lines[0]
    assert words.lower() in lines[0].lower(), (words, lines[0])
    return lines[0]
