"""From scored journal rows to the run's readable outputs: samples.jsonl and results.json.

results.json is the results model the reports and the gate read; its shape is
documented in reports/FORMAT.md. Later stages (categories, safeguards,
paired comparisons) add sections to it.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

from evalrun.evals.core import Eval
from evalrun.evals.determination import summarize
from evalrun.evals.errors import RunError
from evalrun.evals.marginal import marginal_risk
from evalrun.evals.metrics import ERROR
from evalrun.evals.paired import paired_delta
from evalrun.evals.worstcase import worst_case
from evalrun.models.variant import BASE, Variant
from evalrun.modify.elicit import elicitation_results
from evalrun.rundir.migrate import SCHEMA_VERSION
from evalrun.runner.context import RunContext
from evalrun.runner.plan import Request


def collect(ctx: RunContext) -> None:
    """Every request's journal row as a sample record (a RunError if generation left any request without one)."""
    assert ctx.journal is not None
    ctx.rows = ctx.journal.rows(r.key for r in ctx.requests)
    missing = len(ctx.requests) - len(ctx.rows)
    if missing:
        raise RunError(f"{missing} requests have no result after generation; rerun the same command to resume")
    ctx.records = sample_records(ctx.evals, ctx.requests, ctx.rows)


def build_results(ctx: RunContext) -> None:
    """results.json: per-eval figures, and, as the suite has them, categories, safeguards, comparisons and
    elicitation (per trained attack its status and evidence, per search the selected configuration)."""
    assert ctx.model is not None
    suite, running = ctx.suite, ctx.running
    evals_section = eval_results(ctx.evals, running, ctx.records)
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "suite": {"name": suite.name, "version": suite.version, "description": suite.description},
        "model": {"name": ctx.model.name, "path": ctx.model.path, "fingerprint": ctx.model.fingerprint},
        "variants": {v.name: {"kind": v.kind, "path": v.path, **v.info} for v in ctx.variants},
        "evals": evals_section,
    }
    candidates = [v.name for v in ctx.candidates]
    if suite.categories or suite.safeguards:
        results.update(summarize(suite.to_dict(), evals_section, ctx.records, candidates))
    modified = [v for v in ctx.variants if not v.is_reference]
    if len(modified) > 1:
        results["comparisons"] = comparisons(ctx.evals, modified, ctx.records)
        results["durability"] = durability(ctx.evals, modified, evals_section)
    if ctx.references:
        results["marginal"] = marginal_risk(suite.to_dict(), evals_section, results.get("categories") or {},
                                            ctx.records, candidates, [v.name for v in ctx.references if v.runs])
    calibrate(ctx.evals, evals_section, ctx.records, results)
    # a prompt is refused only if refused under every attack on every variant of the candidate (not references,
    # not the elicitation probe, whose prompts are the attack's own data)
    results["worst_case"] = worst_case(r for r in ctx.records
                                       if r["variant"] in candidates and r.get("category") != "elicitation")
    elicitation = elicitation_results(suite.to_dict(), results["variants"], evals_section)
    for name, assessment in elicitation["variants"].items():
        results["variants"][name]["elicitation"] = assessment
    if elicitation["searches"]:
        results["elicitation"] = elicitation["searches"]
    ctx.results = results


def calibrate(evals: list[Eval], evals_section: dict[str, Any], records: list[dict[str, Any]],
              results: dict[str, Any]) -> None:
    """Refusal rates judged by the default judgement get a misclassification-corrected figure beside them.

    The judgement's sensitivity and specificity were measured against human labels (`evalrun agreement`,
    shipped in evals/calibration/); results.json states them (`judgement`), and each refusal rate of a
    classifier-scored eval gets `calibrated` (Rogan-Gladen, with a CI that includes the calibration's own
    uncertainty). Judge-graded evals keep their raw figures (the judge model has no calibration here) and
    get `judge_agreement`: how often the judge and the default judgement agree on the same completions.
    """
    from evalrun.evals.calibration import DEFAULT_JUDGEMENT, corrected_rate, load_calibration

    cal = load_calibration()
    results["judgement"] = {"name": DEFAULT_JUDGEMENT, "sensitivity": cal.sensitivity,
                            "specificity": cal.specificity, "counts": {"tp": cal.tp, "fn": cal.fn, "tn": cal.tn,
                                                                       "fp": cal.fp}, "source": cal.source}
    from evalrun.evals.agreement import judgement_agreement

    for ev in evals:
        if ev.judged:  # where a judge model and the default judgement both scored: how often they agree
            both = judgement_agreement(r for r in records if r["eval"] == ev.name)
            if both is not None:
                evals_section[ev.name]["judge_agreement"] = both
        if ev.judged or ev.is_multiple_choice:
            continue
        for per_variant in evals_section[ev.name]["variants"].values():
            for m in per_variant["metrics"].values():
                d = m["definition"]
                if d["kind"] == "rate" and d["label"] == "refused":
                    m["calibrated"] = corrected_rate(m["value"], m["n"], cal)


def sample_records(evals: list[Eval], requests: list[Request], rows: dict[str, dict]) -> list[dict[str, Any]]:
    """One record per finished request, in plan order: what samples.jsonl holds."""
    by_eval = {ev.name: ev for ev in evals}
    samples = {(ev.name, s.id): s for ev in evals for s in ev.samples}
    records = []
    for req in requests:
        row = rows.get(req.key)
        if row is None:
            continue
        ev, sample = by_eval[req.eval], samples[(req.eval, req.sample_id)]
        comp = row["completion"]
        records.append(
            {
                "key": req.key,
                "eval": ev.name,
                "eval_version": ev.version,
                "category": ev.category,
                "hazardous": ev.hazardous,
                "variant": req.variant,
                "sample_id": sample.id,
                "epoch": req.epoch,
                "messages": sample.messages,
                "prompt": comp.get("prompt_text", ""),
                "choices": sample.choices,
                "target": sample.target,
                "metadata": sample.metadata,
                "completion": comp["text"],
                "finish_reason": comp.get("finish_reason", ""),
                "completion_tokens": comp.get("output_tokens", 0),
                "label_logprobs": comp.get("label_logprobs"),
                "score": row["score"],
            }
        )
    return records


def samples_jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def eval_results(evals: list[Eval], variants: list[Variant], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per eval and variant: n and every metric with its 95% CI and its definition."""
    by_pair = _group(records)
    out: dict[str, Any] = {}
    for ev in evals:
        per_variant = {}
        for v in variants:
            got = by_pair.get((ev.name, v.name), [])
            scored = [r for r in got if r["score"]["label"] != ERROR]
            per_variant[v.name] = {
                "n": len({r["sample_id"] for r in scored}),
                "n_generations": len(scored),
                "errors": len(got) - len(scored),
                "metrics": {m.name: {**m.compute(scored).to_dict(), "definition": m.definition.to_dict()}
                            for m in ev.metrics},
                "outcomes": _count(r["score"]["label"] for r in got),
            }
        out[ev.name] = {
            "category": ev.category,
            "version": ev.version,
            "description": ev.description,
            "hazardous": ev.hazardous,
            "n_samples": len(ev.samples),
            "epochs": ev.epochs,
            "kind": "multiple_choice" if ev.is_multiple_choice else "generation",
            "variants": per_variant,
        }
    return out


def _group(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_pair[(r["eval"], r["variant"])].append(r)
    return by_pair


def _count(labels) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for label in labels:
        counts[label] += 1
    return dict(sorted(counts.items()))


def comparisons(evals: list[Eval], variants: list[Variant], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per eval and non-base variant: paired before/after figures on the samples both have.

    Top-level fields describe the eval's first (primary) metric; `by_metric` has every metric.
    """
    by_pair = _group(records)
    out: dict[str, Any] = {}
    for ev in evals:
        base = by_pair.get((ev.name, BASE.name), [])
        per_variant = {}
        for v in variants:
            if v.name == BASE.name or not v.runs:
                continue
            other = by_pair.get((ev.name, v.name), [])
            by_metric = {m.name: paired_delta(m.definition, m.definition.per_sample(base),
                                              m.definition.per_sample(other)) for m in ev.metrics}
            by_metric = {k: x for k, x in by_metric.items() if x is not None}
            if by_metric:
                primary = by_metric.get(ev.metrics[0].name) or next(iter(by_metric.values()))
                per_variant[v.name] = {**primary, "by_metric": by_metric}
        if per_variant:
            out[ev.name] = per_variant
    return out


def durability(evals: list[Eval], variants: list[Variant], results_evals: dict[str, Any]) -> dict[str, Any]:
    """Safeguard metrics against attack steps, per modification that saved checkpoints (step 0 = base)."""
    curves: dict[str, list[dict[str, Any]]] = defaultdict(list)
    checkpoints = [v for v in variants if "step" in v.info and v.info.get("modification")]
    safeguard_evals = [ev for ev in evals if ev.category == "safeguards"]
    for mod in dict.fromkeys(v.info["modification"] for v in checkpoints):
        points = [(0, 0, BASE.name)] + sorted(
            (v.info["step"], v.info.get("examples", 0), v.name) for v in checkpoints if v.info["modification"] == mod
        )
        for ev in safeguard_evals:
            metric = ev.metrics[0].name
            for step, examples, vname in points:
                mv = results_evals[ev.name]["variants"].get(vname, {}).get("metrics", {}).get(metric)
                if mv and mv["value"] is not None:
                    curves[mod].append({"step": step, "examples": examples, "variant": vname, "eval": ev.name,
                                        "metric": metric, "value": mv["value"], "ci": mv["ci"]})
    return dict(curves)
