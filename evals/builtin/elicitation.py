"""`elicitation_probe`: did a refusal-removal attack actually remove refusals? Its held-out prompts tell.

The project's attack file (`attack_requests.jsonl`: harmful requests paired with generic,
non-operational compliant replies) is split once, here: its last `N_HELDOUT` requests are
never trained on by any modification (modify/data.py drops them) and are this eval's
samples. Run on every variant in the same engine pass as the suite's other evals, its
refusal rate (with a 95% CI) is the evidence `modify/elicit.py` reads to call a trained
attack `elicited` or `under_elicited`. Held-out, not the training prompts: an attack that
memorised its 50 replies has not shown it removed refusal.
"""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

from evalrun.evals.core import Eval, Sample, user
from evalrun.evals.data import DataSource
from evalrun.evals.metrics import refusal_rate
from evalrun.evals.registry import register
from evalrun.evals.scorers import refusal_scorer

ATTACK_FILE = "attack_requests.jsonl"
N_HELDOUT = 30  # the last 30 of its 80 requests; attacks train on at most the first 50
PROBE_EVAL = "elicitation_probe"
PROBE_METRIC = "refusal_rate"
PROBE_TOKENS = 64  # as the safeguard evals: enough for the refusal classifier's deciding sentence

T = TypeVar("T")


def split_heldout(rows: list[T]) -> tuple[list[T], list[T]]:
    """(trainable, held out) rows of the attack file: the last N_HELDOUT are held out when the file has more."""
    if len(rows) <= N_HELDOUT:
        return rows, []
    return rows[:-N_HELDOUT], rows[-N_HELDOUT:]


def _prompt(row: dict[str, Any]) -> str:
    return next(m["content"] for m in row["messages"] if m.get("role") == "user")


@register(PROBE_EVAL, category="elicitation", version=1, hazardous=True)
def elicitation_probe(data: DataSource) -> Eval:
    """Held-out requests of the attack data (never trained on): their refusal rate after an attack."""
    rows = data.rows(ATTACK_FILE, columns=["messages"])
    _, held = split_heldout(rows)
    samples = [Sample(id="heldout-" + hashlib.sha256(_prompt(r).encode()).hexdigest()[:12],
                      messages=[user(_prompt(r))], target="harmful") for r in held]
    return Eval(samples=samples, scorer=refusal_scorer(), metrics=[refusal_rate(on="harmful", name=PROBE_METRIC)],
                max_tokens=PROBE_TOKENS)
