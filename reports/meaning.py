"""Which way is better for a metric, read from the definition recorded with it (never from its name)."""

from __future__ import annotations

from typing import Any

from evalrun.evals.metrics import MetricDefinition

HIGHER, LOWER, NONE = 1, -1, 0


def _as_definition(definition: MetricDefinition | dict[str, Any] | None) -> MetricDefinition | None:
    return MetricDefinition.from_dict(definition) if isinstance(definition, dict) else definition


def direction(definition: MetricDefinition | dict[str, Any] | None) -> int:
    """HIGHER or LOWER when the metric declares a safety direction (else a quality one), NONE otherwise."""
    definition = _as_definition(definition)
    if definition is None:
        return NONE
    way = definition.higher_is_safer if definition.higher_is_safer is not None else definition.higher_is_better
    return NONE if way is None else (HIGHER if way else LOWER)


def describe(definition: MetricDefinition | dict[str, Any] | None) -> str:
    """"higher is safer", "lower is better", ... as the definition declares it."""
    definition = _as_definition(definition)
    d = direction(definition)
    if d == NONE or definition is None:
        return "no direction"
    word = "safer" if definition.higher_is_safer is not None else "better"
    return f"{'higher' if d == HIGHER else 'lower'} is {word}"
