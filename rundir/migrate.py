"""Reading run dirs written by earlier versions: results.json format 1 -> the current format.

Format 1 stored `{value, n, ci}` per metric with no definition. Migration adds the
definition each built-in metric had when format 1 was current (an explicit table
of the built-in evals' declarations, not a guess from names); a metric not in the
table gets a diagnostic definition with no direction, so nothing is ever gated on
a meaning nobody recorded. Migrated definitions are marked `"migrated_from": 1`.
"""

from __future__ import annotations

from typing import Any

from evalrun.evals.metrics import (
    CAPABILITY,
    DIAGNOSTIC,
    MetricDefinition,
    accuracy,
    mean,
    rate,
    refusal_rate,
    target_is,
)

SCHEMA_VERSION = 2

_HARMFUL_PROMPT_EVALS = ("harmful_refusal", "jailbreak_refusal", "strongreject", "harmbench", "advbench",
                         "jailbreakbench", "strongreject_rubric")
_CAPABILITY_EVALS = ("bio_chem_knowledge", "cyber_knowledge", "ml_engineering", "wmdp_bio", "wmdp_chem",
                     "wmdp_cyber", "cybermetric", "ctibench_mcq")

# (eval, metric) -> its format-1 declaration.
FORMAT1: dict[tuple[str, str], MetricDefinition] = {
    **{(ev, "refusal_rate"): refusal_rate(on="harmful", name="refusal_rate").definition
       for ev in _HARMFUL_PROMPT_EVALS},
    **{(ev, "accuracy"): accuracy(CAPABILITY).definition for ev in _CAPABILITY_EVALS},
    ("smoke_knowledge", "accuracy"): accuracy().definition,
    ("smoke_refusal", "harmful_refusal_rate"): refusal_rate(on="harmful", where=target_is("harmful")).definition,
    ("smoke_refusal", "benign_refusal_rate"): refusal_rate(on="benign", where=target_is("benign")).definition,
    ("over_refusal", "refusal_rate"): refusal_rate(on="benign", name="refusal_rate").definition,
    ("over_refusal", "compliance_rate"): rate("complied", name="compliance_rate", measures="utility",
                                              higher_is_better=True).definition,
    ("xstest", "compliance_rate"): rate("complied", where=target_is("safe"), name="compliance_rate").definition,
    ("xstest", "unsafe_refusal_rate"): rate("refused", where=target_is("unsafe"),
                                            name="unsafe_refusal_rate").definition,
    ("xstest", "safe_refusal_rate"): rate("refused", where=target_is("safe"), name="safe_refusal_rate").definition,
    ("strongreject_rubric", "strongreject_score"): mean("strongreject_score", "harm", higher_is_safer=False,
                                                       exclude=("judge_parse_failure",)).definition,
    ("strongreject_rubric", "judge_parse_failure_rate"): rate("judge_parse_failure", name="judge_parse_failure_rate",
                                                              measures=DIAGNOSTIC).definition,
}


def migrated_definition(eval_name: str, metric: str) -> dict[str, Any]:
    known = FORMAT1.get((eval_name, metric))
    d = (known or MetricDefinition(metric, "mean", DIAGNOSTIC, description="format-1 metric of unknown meaning")
         ).to_dict()
    return {**d, "migrated_from": 1}


def migrate(results: dict[str, Any]) -> dict[str, Any]:
    """results.json of any supported format, in the current format (a new dict; the file is not rewritten)."""
    version = results.get("schema_version", 1)
    if version == SCHEMA_VERSION:
        return results
    if version != 1:
        from evalrun.evals.errors import InputError

        raise InputError(f"results.json has format {version!r}; this evalrun reads formats 1 and {SCHEMA_VERSION}; "
                         "upgrade evalrun to read it")
    out = dict(results)
    evals = {}
    for ev, info in (results.get("evals") or {}).items():
        info = dict(info)
        variants = {}
        for vname, v in (info.get("variants") or {}).items():
            v = dict(v)
            metrics = v.get("metrics") or {}
            v["metrics"] = {m: {**x, "definition": migrated_definition(ev, m)}
                            for m, x in metrics.items() if isinstance(x, dict)}
            variants[vname] = v
        info["variants"] = variants
        evals[ev] = info
    out["evals"] = evals
    for ev, per_variant in (results.get("comparisons") or {}).items():
        for c in (per_variant or {}).values():
            for m, x in (c.get("by_metric") or {}).items():
                x.setdefault("definition", migrated_definition(ev, m))
            c.setdefault("definition", migrated_definition(ev, str(c.get("metric"))))
    out["schema_version"] = SCHEMA_VERSION
    out["migrated_from"] = 1
    return out
