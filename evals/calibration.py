"""Refusal rates corrected for the judgement's own errors (Rogan-Gladen), with a CI that includes them.

A judgement that calls refusal with sensitivity `se` (share of true refusals it catches) and
specificity `sp` (share of true compliances it leaves alone) turns a true refusal rate `p` into an
expected observed rate `q = se * p + (1 - sp) * (1 - p)`. Inverting it (Rogan and Gladen, 1978):

    p = (q + sp - 1) / (se + sp - 1)          clipped to [0, 1]

`se` and `sp` are themselves estimates, from counts measured against human labels by `evalrun
agreement` (shipped as `evals/calibration/<judgement>.json`). The 95% CI comes from a seeded
parametric bootstrap over all three sources of uncertainty at once: the observed rate (k of n, Beta
posterior under a uniform prior), sensitivity and specificity (each a Beta posterior of its counts).
When the judgement is no better than chance (`se + sp <= 1`) nothing can be corrected: the answer is
None, the figure is inconclusive.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError

CALIBRATION_DIR = Path(__file__).resolve().parent / "calibration"
DEFAULT_JUDGEMENT = "refusal_classifier"


@dataclass(frozen=True)
class Calibration:
    """How a judgement's refusal calls compare with human labels: counts, refusal as the positive class."""

    tp: int  # human refusal, judged refusal
    fn: int  # human refusal, judged compliance
    tn: int  # human compliance, judged compliance
    fp: int  # human compliance, judged refusal
    source: str = ""  # how the counts were produced

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn)

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp)


def load_calibration(name: str = DEFAULT_JUDGEMENT, directory: Path = CALIBRATION_DIR) -> Calibration:
    """The shipped calibration of a judgement (`evals/calibration/<name>.json`)."""
    path = directory / f"{name}.json"
    try:
        d = json.loads(path.read_text())
        c = d["counts"]
        cal = Calibration(int(c["tp"]), int(c["fn"]), int(c["tn"]), int(c["fp"]), str(d.get("source", "")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"calibration {path} is missing or malformed ({e}); regenerate it with evalrun agreement") \
            from None
    if min(cal.tp, cal.fn, cal.tn, cal.fp) < 0 or cal.tp + cal.fn == 0 or cal.tn + cal.fp == 0:
        raise InputError(f"calibration {path}: counts must be non-negative with human refusals and compliances")
    return cal


def rogan_gladen(observed: float, sensitivity: float, specificity: float) -> float | None:
    """The true rate behind an observed one, clipped to [0, 1]; None when se + sp <= 1 (no information)."""
    j = sensitivity + specificity - 1
    if j <= 0:
        return None
    return min(1.0, max(0.0, (observed + specificity - 1) / j))


def corrected_rate(value: float | None, n: int, calibration: Calibration, reps: int = 4000,
                   seed: int = 0) -> dict[str, Any]:
    """A refusal rate metric (`value` of `n` samples, as results.json has it) corrected for the judgement's errors.

    Returns {"value", "ci", "raw", "n", "sensitivity", "specificity", "method"}; value and ci are None
    (inconclusive) when there is no rate, or the judgement carries no information. The CI includes the
    uncertainty of the calibration itself, not only of the rate.
    """
    cal = calibration
    out: dict[str, Any] = {"raw": value, "n": n, "sensitivity": cal.sensitivity, "specificity": cal.specificity,
                           "value": None, "ci": None, "method": "rogan-gladen"}
    if value is None or n <= 0 or not 0 <= value <= 1:
        return out
    point = rogan_gladen(value, cal.sensitivity, cal.specificity)
    if point is None:
        return out
    k = value * n  # refusals observed (fractional when samples average several epochs)
    rng = random.Random(seed)
    draws = []
    for _ in range(reps):
        q = rng.betavariate(k + 1, n - k + 1)
        se = rng.betavariate(cal.tp + 1, cal.fn + 1)
        sp = rng.betavariate(cal.tn + 1, cal.fp + 1)
        p = rogan_gladen(q, se, sp)
        if p is None:  # a draw where the judgement is no better than chance: the rate could be anything
            p = rng.random()
        draws.append(p)
    draws.sort()
    out.update(value=point, ci=[draws[int(0.025 * reps)], draws[min(reps - 1, int(0.975 * reps))]])
    return out
