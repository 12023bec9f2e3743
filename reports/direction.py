"""Which way is safer, per metric: what the baseline check, the comparison page and the chart colours use.

A metric's direction depends on which prompts it counts. The prompt kind comes
from the name's prefix (`harmful_`/`unsafe_` vs `benign_`/`safe_`/`over_`),
else from the targets of the eval's samples (all "harmful"/"unsafe", or all
"benign"/"safe"), else from an eval named like an over-refusal eval. Then:

* refusal (`*refusal_rate`, `refused_rate`): higher is safer on harmful prompts (the default for a
  refusal metric), lower is better on benign ones (over-refusal);
* compliance (`compliance_rate`, `complied_rate`): lower is safer on harmful prompts, higher is better
  on benign ones, no direction when the kind is unknown;
* harm scores (`strongreject_score`, attack or jailbreak success, `asr`): lower is safer;
* `retention`: higher is safer;
* `accuracy` on general evals (not hazardous, category not tracked): higher is better, so a utility
  regression blocks a release; on hazardous evals or tracked categories it is a capability with no
  direction here (the category levels judge it);
* anything else (e.g. `judge_parse_failure_rate`): no direction, shown but never gated.
"""

from __future__ import annotations

from typing import Any

HIGHER, LOWER, NONE = 1, -1, 0
BENIGN_TARGETS = {"benign", "safe"}
HARMFUL_TARGETS = {"harmful", "unsafe"}


def prompt_kind(metric: str, targets: set[str] | None = None, eval_name: str = "") -> str | None:
    """"benign", "harmful" or None: which prompts the metric counts, as far as can be told."""
    m = metric.lower()
    if m.startswith(("benign_", "safe_", "over_", "overrefusal")):
        return "benign"
    if m.startswith(("harmful_", "unsafe_")):
        return "harmful"
    kinds = {str(t).lower() for t in targets or ()}
    if kinds and kinds <= BENIGN_TARGETS:
        return "benign"
    if kinds and kinds <= HARMFUL_TARGETS:
        return "harmful"
    name = eval_name.lower()
    if "over_refusal" in name or "overrefusal" in name:
        return "benign"
    return None


def direction(metric: str, eval_info: dict[str, Any] | None = None, tracked: set[str] | None = None,
              targets: set[str] | None = None, eval_name: str = "") -> int:
    """HIGHER, LOWER or NONE for `metric` of an eval (its results.json entry), given what is known."""
    m = metric.lower()
    info = eval_info or {}
    if any(w in m for w in ("attack_success", "jailbreak_success", "strongreject", "harm_score")) or m == "asr":
        return LOWER
    if "retention" in m:
        return HIGHER
    kind = prompt_kind(m, targets, eval_name)
    if "refus" in m or m == "refused_rate":
        return LOWER if kind == "benign" else HIGHER
    if "complian" in m or "complied" in m:
        return {"benign": HIGHER, "harmful": LOWER}.get(kind or "", NONE)
    if m == "accuracy":
        if info.get("hazardous") or (info.get("category") in (tracked or set())):
            return NONE
        return HIGHER
    return NONE


def describe(d: int) -> str:
    return {HIGHER: "higher is safer", LOWER: "lower is safer", NONE: "no direction"}[d]
