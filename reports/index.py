"""The index of runs: one sortable table of every run directory under a runs folder.

The same page is written as a static RUNS_DIR/index.html (`evalrun index`) and
served fresh by `evalrun view`. Links are relative to RUNS_DIR, so both work.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from evalrun import __version__
from evalrun.evals.errors import InputError
from evalrun.reports.embed import csp, new_token
from evalrun.reports.summary import key_figures
from evalrun.reports.templating import render, static
from evalrun.rundir.files import write_atomic
from evalrun.rundir.migrate import migrate
from evalrun.rundir.reader import MANIFEST, REPORT, RESULTS, file_sha256, read_json

MAX_DEPTH = 4
SKIP = {"transcripts", "__pycache__", "node_modules"}


def find_runs(runs_dir: Path) -> Iterator[Path]:
    """Run directories (holding results.json or manifest.json) under runs_dir, not following symlinks."""
    root = Path(runs_dir)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        depth = len(here.relative_to(root).parts)
        if RESULTS in filenames or MANIFEST in filenames:
            dirnames[:] = []
            yield here
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP and depth < MAX_DEPTH)


def _safe_read(path: Path) -> dict[str, Any]:
    try:
        data = read_json(path)
    except InputError:
        return {}
    return data if isinstance(data, dict) else {}


def run_row(runs_dir: Path, run_dir: Path) -> dict[str, Any]:
    """One row of the index: when, what, the verdict and a few key figures; never fails on a broken run."""
    results = _safe_read(run_dir / RESULTS) if (run_dir / RESULTS).exists() else {}
    if isinstance(results.get("evals"), dict):
        try:
            results = migrate(results)
        except InputError:
            results = {}
    manifest = _safe_read(run_dir / MANIFEST) if (run_dir / MANIFEST).exists() else {}
    verdict = _safe_read(run_dir / "verdict.json") if (run_dir / "verdict.json").exists() else {}
    rel = run_dir.relative_to(runs_dir).as_posix()
    model = results.get("model") or manifest.get("model") or {}
    suite = results.get("suite") or manifest.get("suite") or {}
    status = manifest.get("status") or ("complete" if results else "unknown")
    if not results:
        status = "no results" if status == "complete" else status
    verdict_text = ""
    if "passed" in verdict:
        verdict_text = "passed" if verdict.get("passed") else "failed"
        if verdict.get("results_sha256") and verdict.get("results_sha256") != file_sha256(run_dir / RESULTS):
            verdict_text += " (stale)"
    evals = results.get("evals") if isinstance(results.get("evals"), dict) else {}
    n = sum(int(v.get("n") or 0) for e in evals.values() for v in (e.get("variants") or {}).values()
            if isinstance(v, dict))
    try:
        figures = key_figures(results) if evals else []
    except (AttributeError, TypeError, KeyError, ValueError):  # a malformed results.json: show the run anyway
        figures = []
    return {
        "path": rel, "report": (quote(rel) + "/" + REPORT) if (run_dir / REPORT).exists() else "",
        "date": str(results.get("created") or manifest.get("started") or ""),
        "model": str(model.get("name") or ""), "suite": str(suite.get("name") or ""),
        "suite_version": suite.get("version"), "status": str(status), "verdict": verdict_text,
        "variants": len(results.get("variants") or manifest.get("variants") or []) or "",
        "samples": n, "figures": figures,
    }


def collect(runs_dir: Path) -> list[dict[str, Any]]:
    """Rows for every run under runs_dir, newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise InputError(f"runs directory {runs_dir} not found; pass the folder that holds your run dirs")
    rows = [run_row(runs_dir, d) for d in find_runs(runs_dir)]
    return sorted(rows, key=lambda r: (r["date"], r["path"]), reverse=True)


def render_index(runs_dir: Path, live: bool = False) -> str:
    """The index page's HTML."""
    rows = collect(runs_dir)
    nonce = new_token()
    return render("index.html.j2", rows=rows, runs_dir=str(runs_dir), live=live, csp=csp(nonce), nonce=nonce,
                  version=__version__, css=static("base.css") + static("index.css"), js=static("index.js"))


def write_index(runs_dir: Path) -> Path:
    """Write RUNS_DIR/index.html; returns its path."""
    html = render_index(runs_dir)
    out = Path(runs_dir) / "index.html"
    write_atomic(out, html)
    return out

