"""Render a run's report.html from its results.json and samples.jsonl alone (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

from ..runner.rundir import read_json, write_atomic


def render(results: dict, manifest: dict, samples: list[dict]) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evalrun.reports", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    )
    return env.get_template("report.html.j2").render(results=results, manifest=manifest, samples=samples)


def write_report(run_dir: Path) -> Path:
    results = read_json(run_dir / "results.json")
    manifest = read_json(run_dir / "manifest.json")
    samples_path = run_dir / "samples.jsonl"
    samples = [json.loads(line) for line in samples_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = run_dir / "report.html"
    write_atomic(out, render(results, manifest, samples))
    return out
