"""From scored journal rows to the run's readable outputs: samples.jsonl and results.json.

results.json is the results model the reports and the gate read; its shape is
documented in reports/FORMAT.md. Later stages (categories, safeguards,
paired comparisons) add sections to it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from ..evals.core import Eval, Sample, Score
from .plan import Request, Variant

SCHEMA_VERSION = 1


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
    """Per eval and variant: n and every metric with its 95% CI."""
    pairs: dict[tuple[str, str], list[tuple[Sample, Score]]] = defaultdict(list)
    samples = {(ev.name, s.id): s for ev in evals for s in ev.samples}
    for r in records:
        pairs[(r["eval"], r["variant"])].append((samples[(r["eval"], r["sample_id"])], Score.from_dict(r["score"])))
    out: dict[str, Any] = {}
    for ev in evals:
        per_variant = {}
        for v in variants:
            got = pairs.get((ev.name, v.name), [])
            per_variant[v.name] = {
                "n": len(got),
                "metrics": {m.name: m.compute(got).to_dict() for m in ev.metrics},
                "outcomes": _count(sc.label for _, sc in got),
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


def _count(labels) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for label in labels:
        counts[label] += 1
    return dict(sorted(counts.items()))
