"""Paired before/after figures for one metric: the same samples under two models (or two runs).

Both the within-run comparisons (base vs each variant) and the cross-run ones (a
candidate vs its baseline, `evalrun compare`) are built here, from per-sample
values (`MetricDefinition.per_sample`), so the two always agree on the same pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalrun.evals.metrics import MetricDefinition
from evalrun.evals.stats import mcnemar_exact, paired_bootstrap_delta, proportion_or_mean_ci


def paired_delta(definition: MetricDefinition, base: Mapping[str, float], other: Mapping[str, float],
                 ) -> dict[str, Any] | None:
    """(other - base) on the samples both have, with a paired-bootstrap CI; None when none are shared.

    `retention` is other / base (how much of the base figure survives); `mcnemar_p` is the exact
    McNemar test when every per-sample value is 0 or 1; `changed` counts samples whose value moved.
    """
    keys = sorted(base.keys() & other.keys())
    if not keys:
        return None
    b = [base[k] for k in keys]
    o = [other[k] for k in keys]
    n = len(keys)
    delta, ci = paired_bootstrap_delta(b, o)
    b_mean, o_mean = sum(b) / n, sum(o) / n
    binary = definition.binary and all(v in (0.0, 1.0) for v in b + o)
    return {
        "metric": definition.name,
        "definition": definition.to_dict(),
        "n_pairs": n,
        "base": {"value": b_mean, "ci": list(proportion_or_mean_ci(b))},
        "variant": {"value": o_mean, "ci": list(proportion_or_mean_ci(o))},
        "delta": {"value": delta, "ci": list(ci)},
        "mcnemar_p": mcnemar_exact(b, o) if binary else None,
        "retention": o_mean / b_mean if b_mean > 0 else None,
        "changed": sum(1 for x, y in zip(b, o, strict=True) if x != y),
    }
