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
    agreement = json.loads((out / "results.json").read_text())["evals"]["strongreject_rubric"].get("judge_agreement")
    assert (agreement is None) == (failures == len(judged))  # judge vs default judgement, where both judged
    if agreement is not None:
        assert agreement["n"] == len(judged) - failures and 0 <= agreement["agreement"] <= 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["judge"]["prompt_version"] and manifest["counts"]["engine_loads"] == 2


def test_judged_eval_without_judge_is_input_error(run_cli, tmp_path: Path):
    suite = tmp_path / "judged.yaml"
    suite.write_text("name: judged\nevals: [strongreject_rubric]\n")
    proc = run_cli("--model", "demo", "--suite", str(suite), "--data-dir", str(SHARED), "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "--judge" in proc.stderr


# Harmless pairs, short enough that every format's prompt fits the demo model's 512-token context.
PAIRS = [("How do I bake bread?", "Mix flour and water, knead, let it rise, bake."),
         ("What is the capital of France?", "I'm sorry, but I can't help with that.")]


def test_demo_judge_through_every_format_in_one_submission(demo_model: Path, tmp_path: Path):
    """The demo model follows none of the formats: every reply is parsed strictly and failures are counted."""
    from evalrun.evals.judge import PARSE_FAILURE
    from evalrun.evals.judge_formats import FORMATS
    from evalrun.models.ref import resolve_model
    from evalrun.runner.context import RunConfig
    from evalrun.runner.engine import EngineOptions
    from evalrun.runner.generate import engine_options, make_engine
    from evalrun.runner.judging import judge_request, request_scorer
    from evalrun.runner.prepare import resolve

    config = RunConfig(model="demo", suite="", options=EngineOptions(kv_cache_gb=1, enforce_eager=True),
                       progress=False)
    ref = resolve(config, "demo")
    engine = make_engine(config, ref.path, engine_options(config, ref), tmp_path / "engine.log")
    assert ref.fingerprint == resolve_model("demo", progress=False).fingerprint
    requests, fmts = [], []
    for fmt in FORMATS.values():
        for i, (prompt, response) in enumerate(PAIRS):
            requests.append(judge_request(ref, fmt, f"{fmt.name}-{i}", "e2e", prompt, response, eval_version=1,
                                          variant="base", sample_id=str(i), epoch=0))
            fmts.append(fmt)
    assert len({r.key for r in requests}) == len(requests)  # each format keys its own requests
    completions: dict = {}
    engine.generate(requests, lambda batch: completions.update(batch))
    assert sorted(completions) == list(range(len(requests)))  # one submission, every request answered
    failures: dict[str, int] = {}
    errors: dict[str, int] = {}
    for i, (req, fmt) in enumerate(zip(requests, fmts, strict=True)):
        if completions[i].finish_reason == "prompt_too_long":  # cannot run: an error outcome, never parsed
            errors[fmt.name] = errors.get(fmt.name, 0) + 1
            continue
        score = request_scorer(fmt)(req, completions[i])
        assert score.extra["judge_raw"] == completions[i].text and score.extra["judge_format"] == fmt.name
        parsed = fmt.parse(completions[i].text)
        assert (score.label == PARSE_FAILURE) == (parsed is None)  # a failure is labelled, never scored
        failures[fmt.name] = failures.get(fmt.name, 0) + (parsed is None)
    print("demo-as-judge parse failures per format:", failures, "prompts too long for its context:", errors)
    # The short formats fit the demo's context; multi-line strict ones cannot come out of a model that never saw
    # them. Llama Guard's category list alone nearly fills 512 tokens: its requests may end as errors instead.
    assert not errors.keys() - {"llama_guard3", "llama_guard4"}, errors
    for name in ("strongreject", "wildguard", "llama_guard3", "llama_guard4"):
        assert failures.get(name, 0) + errors.get(name, 0) == len(PAIRS), (failures, errors)
    assert failures["strongreject"] == failures["wildguard"] == len(PAIRS)


def test_agreement_with_the_demo_as_judge_counts_parse_failures(demo_model: Path, tmp_path: Path, run_cli):
    import csv

    path = tmp_path / "labels.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["prompt", "completion", "label"])
        w.writerows([(p, c, "refusal" if "sorry" in c else "compliance") for p, c in PAIRS])
    proc = run_cli("agreement", "--json", "--judge", "demo", "--judge-format", "wildguard", "--kv-cache-gb", "1",
                   str(path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    pooled = json.loads(proc.stdout)["pooled"]
    assert pooled["parse_failures"] + pooled["errors"] + pooled["n"] == len(PAIRS)
    assert pooled["parse_failures"] == len(PAIRS)  # nothing unparseable was scored
    assert pooled["agreement"] is None and pooled["n"] == 0
