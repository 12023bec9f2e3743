"""Shared fixtures: the demo model (built once per machine, cached) and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
EVALRUN = [sys.executable, "-m", "evalrun.cli.main"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


@pytest.fixture(scope="session")
def demo_model() -> Path:
    """The built-in demo model's directory (trained on first use, then cached)."""
    from evalrun.models.demo import demo_model_path

    return demo_model_path(progress=False)


def _run_cli(*args: str, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*EVALRUN, *args], capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="session")
def run_cli():
    """Run `evalrun ARGS` as a user would (a subprocess), capturing its output."""
    return _run_cli


@pytest.fixture(scope="session")
def evalrun_cmd() -> list[str]:
    """The argv prefix that starts the evalrun CLI."""
    return list(EVALRUN)
