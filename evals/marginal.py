"""Marginal risk: does the candidate's worst case advance the open-weight frontier its references define?

OpenAI's gpt-oss release decision asked whether the release meaningfully raised what
open weights already allowed. A suite lists `references:` (other local models); each is
evaluated on the same samples in the same run (its own engine). Here, per tracked
category, the candidate's worst case (any of its variants) is set against the most
capable reference, and per safeguard eval, the candidate's weakest variant against the
most robust reference, each with a paired delta over the shared samples and its CI.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from evalrun.evals.determination import DEFAULT_RULE, DEFAULT_SCALE, SCALES, category_level, severity
from evalrun.evals.metrics import HARMFUL_REFUSAL, MetricDefinition
from evalrun.evals.paired import paired_delta


def _records_by(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        out[(r["eval"], r["variant"])].append(r)
    return out


def _paired(evals: dict[str, Any], by: dict, ev: str, metric: str, reference: str, candidate: str):
    entry = ((evals.get(ev) or {}).get("variants", {}).get(candidate, {}).get("metrics") or {}).get(metric) or {}
    if not isinstance(entry.get("definition"), dict):
        return None
    d = MetricDefinition.from_dict(entry["definition"])
    return paired_delta(d, d.per_sample(by.get((ev, reference), [])), d.per_sample(by.get((ev, candidate), [])))


def marginal_risk(suite: dict[str, Any], evals: dict[str, Any], categories: dict[str, Any],
                  records: list[dict[str, Any]], candidates: list[str], references: list[str]) -> dict[str, Any]:
    """{"categories": {...}, "safeguards": {...}}: the candidate's worst case against the best reference."""
    if not references:
        return {}
    scale = suite.get("scale") or DEFAULT_SCALE
    rule = suite.get("determination") or DEFAULT_RULE
    by = _records_by(records)
    out_cats = {}
    for name, cfg in (suite.get("categories") or {}).items():
        cand = categories.get(name) or {}
        refs = {r: category_level(cfg, evals, scale=scale, default_rule=rule, variant=r) for r in references}
        best = max(references, key=lambda r: severity(refs[r], scale))
        basis = cand.get("basis") or {}
        delta = None
        if basis.get("eval"):
            metric = cfg.get("metric") or next(iter(evals[basis["eval"]]["variants"]["base"]["metrics"]), None)
            delta = _paired(evals, by, basis["eval"], metric, best, cand["deciding_variant"]) if metric else None
        rank = {lvl: i for i, lvl in enumerate(SCALES[scale])}
        out_cats[name] = {
            "candidate": {"level": cand.get("level"), "variant": cand.get("deciding_variant"), "basis": basis},
            "best_reference": {"name": best, "level": refs[best]["level"], "basis": refs[best]["basis"]},
            "by_reference": {r: refs[r]["level"] for r in references},
            "advances_frontier": rank.get(cand.get("level"), -1) > rank.get(refs[best]["level"], -1),
            "delta": delta,
        }
    out_sg = {}
    for ev in suite.get("safeguards") or []:
        metrics = ((evals.get(ev) or {}).get("variants", {}).get("base", {}).get("metrics") or {})
        metric = next((m for m, x in metrics.items()
                       if (x.get("definition") or {}).get("measures") == HARMFUL_REFUSAL), None)
        if metric is None:
            continue

        values = {v: (evals[ev]["variants"].get(v, {}).get("metrics") or {}).get(metric, {}).get("value")
                  for v in [*candidates, *references]}
        values = {v: x for v, x in values.items() if isinstance(x, int | float)}
        worst = min((v for v in candidates if v in values), key=values.__getitem__, default=None)
        best = max((r for r in references if r in values), key=values.__getitem__, default=None)
        if worst is None or best is None:
            continue
        out_sg[ev] = {"metric": metric, "candidate": {"variant": worst, "value": values[worst]},
                      "best_reference": {"name": best, "value": values[best]},
                      "delta": _paired(evals, by, ev, metric, best, worst)}
    return {"categories": out_cats, "safeguards": out_sg}
