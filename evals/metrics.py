"""Metrics: named summaries of an eval's scores, each with n and a 95% CI.

A metric is a small object with a `name`, `compute(pairs)` where `pairs` are
the (sample, score) of one eval and one model variant, `where` (which samples
count) and `sample_value(score)` (one sample's contribution), which is what
paired before/after comparisons use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evalrun.evals.core import Sample, Score
from evalrun.evals.stats import proportion_or_mean_ci, wilson

Pairs = Sequence[tuple[Sample, Score]]


@dataclass
class MetricValue:
    value: float | None
    n: int
    ci: tuple[float, float] | None

    def to_dict(self) -> dict:
        return {"value": self.value, "n": self.n, "ci": list(self.ci) if self.ci else None}


@dataclass
class Mean:
    """Mean of `Score.value` over the samples that `where` keeps (accuracy, refusal score...)."""

    name: str = "accuracy"
    where: Callable[[Sample], bool] | None = None

    binary = False

    def sample_value(self, score: Score) -> float:
        return score.value

    def compute(self, pairs: Pairs) -> MetricValue:
        values = [sc.value for s, sc in pairs if self.where is None or self.where(s)]
        if not values:
            return MetricValue(None, 0, None)
        return MetricValue(sum(values) / len(values), len(values), proportion_or_mean_ci(values))


@dataclass
class Rate:
    """Share of samples whose score label is `label` (e.g. "refused"), among those `where` keeps."""

    label: str
    name: str = ""
    where: Callable[[Sample], bool] | None = None

    binary = True

    def __post_init__(self) -> None:
        self.name = self.name or f"{self.label}_rate"

    def sample_value(self, score: Score) -> float:
        return 1.0 if score.label == self.label else 0.0

    def compute(self, pairs: Pairs) -> MetricValue:
        kept = [sc for s, sc in pairs if self.where is None or self.where(s)]
        if not kept:
            return MetricValue(None, 0, None)
        k = sum(sc.label == self.label for sc in kept)
        return MetricValue(k / len(kept), len(kept), wilson(k, len(kept)))


def accuracy() -> Mean:
    """Fraction of samples scored correct."""
    return Mean("accuracy")


def rate(label: str, where: Callable[[Sample], bool] | None = None, name: str = "") -> Rate:
    """Share of samples with score label `label`, optionally among those `where` keeps."""
    return Rate(label, name, where)


def target_is(value: str) -> Callable[[Sample], bool]:
    """A `where` filter: samples whose target equals `value`."""
    return lambda s: s.target == value
