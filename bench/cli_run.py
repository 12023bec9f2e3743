"""Run a command in a fresh process and time it, for the benches that measure whole runs.

A bench times what a user would run, process start to exit (engine load included): most of them the
real CLI, `python -m evalrun.cli.main ARGS --out DIR --no-progress`. A command that fails stops the bench
with its exit code and the tail of its stderr, since a figure from a failed run means nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def timed_command(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run `cmd` to completion with `env` added to this process's environment: (wall seconds, stdout)."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"bench command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return wall, proc.stdout


def timed_evalrun(args: list[str], out: Path, env: dict[str, str] | None = None) -> tuple[float, dict, dict]:
    """Run the CLI with `args` into the new run directory `out`: (wall seconds, manifest.json, results.json)."""
    wall, _ = timed_command([sys.executable, "-m", "evalrun.cli.main", *args, "--out", str(out), "--no-progress"],
                            env)
    return wall, json.loads((out / "manifest.json").read_text()), json.loads((out / "results.json").read_text())
