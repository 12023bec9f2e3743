"""One evaluation run, start to finish (or resumed), as a pipeline of stages over a `RunContext`.

    inputs    everything checkable before a model loads        runner/inputs.py
    plan      model, run dir, variants (trained here), requests runner/prepare.py
    generate  pending requests, scored and journalled           runner/generate.py
    collect   the journal's rows as sample records              runner/results.py
    judge     judged evals graded by the judge model            runner/judge_pass.py
    results   metrics, comparisons, categories, elicitation     runner/results.py
    write     samples.jsonl, results.json, manifest (complete)  here

The report and the gate are the CLI's business (rendered once, after the run).
"""

from __future__ import annotations

import time

from evalrun.rundir import files as rundir
from evalrun.runner.context import RunConfig, RunContext, RunOutcome
from evalrun.runner.generate import generate
from evalrun.runner.inputs import check_inputs
from evalrun.runner.judge_pass import judge
from evalrun.runner.manifest import finish_manifest
from evalrun.runner.prepare import plan
from evalrun.runner.results import build_results, collect, samples_jsonl

__all__ = ["RunConfig", "RunOutcome", "run"]


def run(config: RunConfig) -> RunOutcome:
    ctx = check_inputs(config)
    for stage, step in (("plan", plan), ("generate", generate), ("collect", collect), ("judge", judge),
                        ("results", build_results), ("write", write)):
        t = time.perf_counter()
        step(ctx)
        ctx.mark(stage, t)
    return outcome(ctx)


def write(ctx: RunContext) -> None:
    """The run's outputs; the manifest says `complete` last, once everything it describes exists."""
    rundir.write_atomic(ctx.run_dir / rundir.SAMPLES, samples_jsonl(ctx.records))
    rundir.write_json(ctx.run_dir / rundir.RESULTS, ctx.results)
    rundir.write_json(ctx.run_dir / rundir.MANIFEST, finish_manifest(ctx))


def outcome(ctx: RunContext) -> RunOutcome:
    generated = len(ctx.pending)
    failed = {v.name: v.info.get("error", "failed") for v in ctx.variants if v.kind == "failed"}
    return RunOutcome(ctx.run_dir, ctx.results, generated, len(ctx.requests) - generated, failed)
