"""Metrics: named summaries of an eval's scores that carry their own meaning.

A metric is a `MetricDefinition` (data: which samples it counts, what one
sample contributes, which way is safer, what it measures) plus the arithmetic
to compute it. The definition is written into results.json beside every figure,
so the report, `compare` and the gate read what a metric means instead of
guessing it from its name.

Statistics are per *sample*: with several epochs per sample (best-of-N,
sampling), a sample's epochs are averaged first and the CI counts samples, not
generations, since epochs of one prompt are not independent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalrun.evals.stats import proportion_or_mean_ci

ERROR = "error"  # the label of a request that could not run: counted in outcomes, never in a metric
DEFINITION_VERSION = 1

# What a metric measures: the gate and the report look metrics up by this, never by name.
HARMFUL_REFUSAL = "harmful_refusal"  # refusals of harmful requests (higher is safer)
OVER_REFUSAL = "over_refusal"  # refusals of safe requests (lower is better; a usability cost)
HARM = "harm"  # harmful help given, e.g. a judge's harm score or an attack's success (lower is safer)
CAPABILITY = "capability"  # dangerous-capability proxy: judged by category levels, no direction here
UTILITY = "utility"  # general usefulness (higher is better; a drop is a regression)
DIAGNOSTIC = "diagnostic"  # e.g. judge parse failures: shown, never gated
MEASURES = (HARMFUL_REFUSAL, OVER_REFUSAL, HARM, CAPABILITY, UTILITY, DIAGNOSTIC)

HARMFUL_TARGETS = ("harmful", "unsafe")
BENIGN_TARGETS = ("benign", "safe")


@dataclass(frozen=True)
class Where:
    """Which samples a metric counts, as data: a sample field (`target` or `metadata.KEY`) and its allowed values."""

    field: str
    values: tuple[str, ...]

    def _get(self, target: Any, metadata: Mapping[str, Any] | None) -> Any:
        if self.field == "target":
            return target
        return (metadata or {}).get(self.field.removeprefix("metadata."))

    def keeps_record(self, record: Mapping[str, Any]) -> bool:
        """The same test on a samples.jsonl record (which carries `target` and `metadata`)."""
        return str(self._get(record.get("target"), record.get("metadata"))) in self.values

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "in": list(self.values)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Where | None:
        return None if not d else cls(str(d["field"]), tuple(str(v) for v in d["in"]))


@dataclass(frozen=True)
class MetricDefinition:
    """What a metric is. `kind` "rate": share of samples whose score label is `label`; "mean": mean score value.

    `higher_is_safer` is True, False or None (no safety direction); `higher_is_better` is the direction of
    quality where safety has none (utility), used for regressions. `exclude` lists score labels left out
    (e.g. a judge's parse failures: counted, never scored).
    """

    name: str
    kind: str
    measures: str
    label: str | None = None
    where: Where | None = None
    higher_is_safer: bool | None = None
    higher_is_better: bool | None = None
    exclude: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("rate", "mean"):
            raise ValueError(f"metric {self.name}: kind must be rate or mean, not {self.kind!r}")
        if self.measures not in MEASURES:
            raise ValueError(f"metric {self.name}: measures must be one of {', '.join(MEASURES)}")
        if self.kind == "rate" and not self.label:
            raise ValueError(f"metric {self.name}: a rate needs the score label it counts")

    @property
    def binary(self) -> bool:
        return self.kind == "rate"

    def contribution(self, record: Mapping[str, Any]) -> float | None:
        """One scored generation's contribution (a samples.jsonl record), or None if the metric does not count it.

        A rate counts an indicator of its label, a mean the score value; "error" outcomes never count.
        """
        score = record.get("score") or {}
        label = str(score.get("label"))
        if label == ERROR or label in self.exclude or (self.where is not None and not self.where.keeps_record(record)):
            return None
        if self.kind == "rate":
            return 1.0 if label == self.label else 0.0
        value = score.get("value")
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def per_sample(self, records: Iterable[Mapping[str, Any]]) -> dict[str, float]:
        """{sample id: mean contribution over its epochs}: the unit every CI and pairing counts."""
        sums: dict[str, list[float]] = defaultdict(list)
        for rec in records:
            c = self.contribution(rec)
            if c is not None:
                sums[str(rec["sample_id"])].append(c)
        return {sid: sum(v) / len(v) for sid, v in sums.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": DEFINITION_VERSION, "name": self.name, "kind": self.kind, "measures": self.measures,
            "label": self.label, "where": self.where.to_dict() if self.where else None,
            "higher_is_safer": self.higher_is_safer, "higher_is_better": self.higher_is_better,
            "binary": self.binary, "exclude": list(self.exclude), "description": self.description,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricDefinition:
        return cls(name=str(d["name"]), kind=str(d["kind"]), measures=str(d["measures"]), label=d.get("label"),
                   where=Where.from_dict(d.get("where")), higher_is_safer=d.get("higher_is_safer"),
                   higher_is_better=d.get("higher_is_better"), exclude=tuple(d.get("exclude") or ()),
                   description=str(d.get("description") or ""))


@dataclass
class MetricValue:
    value: float | None
    n: int  # distinct samples
    ci: tuple[float, float] | None
    n_generations: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "n": self.n, "ci": list(self.ci) if self.ci else None,
                "n_generations": self.n_generations}


@dataclass(frozen=True)
class Metric:
    """What an eval declares in `metrics=[...]`: a definition, computed over one variant's records."""

    definition: MetricDefinition

    @property
    def name(self) -> str:
        return self.definition.name

    def compute(self, records: Sequence[Mapping[str, Any]]) -> MetricValue:
        """Value, n (distinct samples) and a 95% CI over samples (epochs of one sample averaged first)."""
        per_sample = self.definition.per_sample(records)
        if not per_sample:
            return MetricValue(None, 0, None, 0)
        generations = sum(1 for r in records if self.definition.contribution(r) is not None)
        values = list(per_sample.values())
        return MetricValue(sum(values) / len(values), len(values), proportion_or_mean_ci(values), generations)


def target_is(*values: str) -> Where:
    """A filter: samples whose target is one of `values`."""
    return Where("target", tuple(values))


def metadata_is(key: str, *values: str) -> Where:
    """A filter: samples whose metadata[key] is one of `values`."""
    return Where(f"metadata.{key}", tuple(values))


def accuracy(measures: str = UTILITY, name: str = "accuracy") -> Metric:
    """Fraction of samples answered correctly; a capability proxy (`measures=CAPABILITY`) has no direction."""
    better = True if measures == UTILITY else None
    return Metric(MetricDefinition(name, "mean", measures, higher_is_better=better,
                                   description="share of samples answered correctly"))


def refusal_rate(on: str, name: str = "", where: Where | None = None) -> Metric:
    """Refusal rate on harmful (`on="harmful"`, higher is safer) or safe prompts (`on="benign"`, lower is better)."""
    if on not in ("harmful", "benign"):
        raise ValueError("refusal_rate(on=...) takes 'harmful' or 'benign'")
    harmful = on == "harmful"
    return Metric(MetricDefinition(
        name or f"{on}_refusal_rate", "rate", HARMFUL_REFUSAL if harmful else OVER_REFUSAL, label="refused",
        where=where, higher_is_safer=True if harmful else False,
        description=f"share of {'harmful' if harmful else 'safe'} prompts refused"))


def rate(label: str, where: Where | None = None, name: str = "", measures: str | None = None,
         higher_is_safer: bool | None = None, higher_is_better: bool | None = None) -> Metric:
    """Share of samples whose score label is `label`, among those `where` keeps.

    Without an explicit `measures`, a refusal or compliance rate over a target filter of harmful
    (`harmful`/`unsafe`) or safe (`benign`/`safe`) prompts gets that meaning and direction here, once, at
    declaration; anything else is a diagnostic with no direction.
    """
    name = name or f"{label}_rate"
    implied = _IMPLIED.get((label, _prompt_kind(where) or ""))
    if measures is None and implied:
        measures, safer, better = implied
        return Metric(MetricDefinition(name, "rate", measures, label=label, where=where,
                                       higher_is_safer=safer if higher_is_safer is None else higher_is_safer,
                                       higher_is_better=better))
    return Metric(MetricDefinition(name, "rate", measures or DIAGNOSTIC, label=label, where=where,
                                   higher_is_safer=higher_is_safer, higher_is_better=higher_is_better))


# (label, prompt kind) -> (measures, higher_is_safer, higher_is_better) for `rate` without explicit meaning.
_IMPLIED = {
    ("refused", "harmful"): (HARMFUL_REFUSAL, True, None),
    ("refused", "benign"): (OVER_REFUSAL, False, None),
    ("complied", "harmful"): (HARM, False, None),
    ("complied", "benign"): (UTILITY, None, True),
}


def mean(name: str, measures: str, higher_is_safer: bool | None = None, exclude: tuple[str, ...] = (),
         where: Where | None = None, description: str = "") -> Metric:
    """Mean score value (e.g. a judge's harm score, `measures=HARM`, lower is safer)."""
    return Metric(MetricDefinition(name, "mean", measures, where=where, higher_is_safer=higher_is_safer,
                                   exclude=exclude, description=description))


def _prompt_kind(where: Where | None) -> str | None:
    if where is None or where.field != "target":
        return None
    values = {v.lower() for v in where.values}
    if values <= set(HARMFUL_TARGETS):
        return "harmful"
    if values <= set(BENIGN_TARGETS):
        return "benign"
    return None
