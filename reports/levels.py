"""Ordering Preparedness risk levels, so the report can colour them and the gate can compare them.

Levels are named by the category's scale: v1 low < medium < high < critical,
v2 below_high < high < critical. Two names compare on that canonical order when
both are known; otherwise on the category's own thresholds (a level below every
threshold ranks 0, then by threshold value).
"""

from __future__ import annotations

CANONICAL = {"none": 0, "low": 0, "below_high": 0, "below-high": 0, "below high": 0, "medium": 1, "high": 2,
             "critical": 3}
CSS = {0: "lvl-low", 1: "lvl-medium", 2: "lvl-high", 3: "lvl-critical"}


def _norm(level: object) -> str:
    return str(level).strip().lower()


def _threshold_rank(level: str, thresholds: dict[str, float]) -> int | None:
    ordered = sorted(thresholds, key=lambda k: (thresholds[k] is None, thresholds[k] or 0))
    names = [_norm(k) for k in ordered]
    if level in names:
        return names.index(level) + 1
    if CANONICAL.get(level) == 0:
        return 0
    return None


def compare(level: object, limit: object, thresholds: dict[str, float] | None = None) -> int | None:
    """-1, 0 or 1 as `level` is below, at or above `limit`; None if they cannot be ordered."""
    a, b = _norm(level), _norm(limit)
    if a in CANONICAL and b in CANONICAL:
        ra, rb = CANONICAL[a], CANONICAL[b]
    else:
        ra = _threshold_rank(a, thresholds or {})
        rb = _threshold_rank(b, thresholds or {})
        if ra is None or rb is None:
            return None
    return (ra > rb) - (ra < rb)


def css_class(level: object) -> str:
    """The badge colour of a level: green below medium up to red at critical."""
    return CSS.get(CANONICAL.get(_norm(level), -1), "lvl-other")
