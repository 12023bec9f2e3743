"""The rubric judge pass through the real engine, with the demo model as a deliberately bad judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.vllm
SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def test_unparseable_judge_replies_are_counted_not_scored_zero(demo_model, run_cli, tmp_path: Path):
    suite = tmp_path / "judged.yaml"
    suite.write_text("name: judged\nevals: [strongreject_rubric]\n")
    out = tmp_path / "run"
    proc = run_cli("--model", "demo", "--suite", str(suite), "--data-dir", str(SHARED), "--limit", "8",
                   "--judge", "demo", "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 8
    # Judge prompts longer than the demo's 512-token context cannot run: "error", left out of metrics.
    judged = [s for s in samples if s["score"]["label"] != "error"]
    assert judged
    for s in judged:
        extra = s["score"]["extra"]
        assert "judge_raw" in extra and extra["judge_prompt_version"]  # the judge's own words are kept
        assert extra["classifier"]["label"] in ("refused", "complied", "partial")  # beside the classifier's
    failures = sum(s["score"]["label"] == "judge_parse_failure" for s in judged)
    assert failures > 0, "a 3M-parameter demo model cannot follow the rubric format"
    v = json.loads((out / "results.json").read_text())["evals"]["strongreject_rubric"]["variants"]["base"]
    assert v["outcomes"]["judge_parse_failure"] == failures and v["errors"] == 8 - len(judged)
    assert v["metrics"]["judge_parse_failure_rate"]["value"] == failures / len(judged)
    score = v["metrics"]["strongreject_score"]
    assert score["n"] == len(judged) - failures  # parse failures are left out of the score, not averaged in as 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["judge"]["prompt_version"] and manifest["counts"]["engine_loads"] == 2


def test_judged_eval_without_judge_is_input_error(run_cli, tmp_path: Path):
    suite = tmp_path / "judged.yaml"
    suite.write_text("name: judged\nevals: [strongreject_rubric]\n")
    proc = run_cli("--model", "demo", "--suite", str(suite), "--data-dir", str(SHARED), "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "--judge" in proc.stderr
