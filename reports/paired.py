"""Paired differences between two sets of scored samples (two runs, or two variants of one run).

Samples pair by (eval, sample_id, epoch). A metric's per-sample value is
recovered from samples.jsonl by matching its name against the labels and
targets there (`harmful_refusal_rate` = label "refused" among target
"harmful") and kept only if it reproduces the value results.json reports;
otherwise the score value stands in and the figure is marked approximate.
The CI is a seeded paired percentile bootstrap (numpy; exact multinomial
resampling when the differences take few values, as with binary outcomes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalrun.rundir.reader import iter_samples, label_of

SNIPPET = 240
Key = tuple[str, int]  # (sample_id, epoch) within one eval


def _snippet(text: object, n: int = SNIPPET) -> str:
    s = str(text or "")
    return s if len(s) <= n else s[: n - 1] + "…"


def _prompt_text(rec: dict[str, Any]) -> str:
    msgs = [m for m in rec.get("messages") or [] if isinstance(m, dict)]
    users = [m for m in msgs if m.get("role") == "user"] or msgs
    return str(users[-1].get("content", "")) if users else str(rec.get("prompt") or "")


def slim(rec: dict[str, Any], hazardous: bool = False, snippets: bool = True) -> dict[str, Any]:
    """What a paired comparison needs of a sample (and short snippets for listing changed ones)."""
    score = rec.get("score") or {}
    value = score.get("value")
    out = {
        "label": label_of(rec),
        "value": float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None,
        "target": None if rec.get("target") is None else str(rec.get("target")),
        "hazardous": bool(rec.get("hazardous") or hazardous),
    }
    if snippets:
        out["prompt"] = _snippet(_prompt_text(rec))
        out["completion"] = _snippet(rec.get("completion"))
        out["chars"] = len(str(rec.get("completion") or ""))
    return out


def load_slim(samples_path: Path, hazardous_evals: Iterable[str] = (), snippets: bool = True,
              ) -> dict[tuple[str, str], dict[Key, dict[str, Any]]]:
    """{(eval, variant): {(sample_id, epoch): slim record}} from a samples.jsonl."""
    hazardous = set(hazardous_evals)
    out: dict[tuple[str, str], dict[Key, dict[str, Any]]] = {}
    for rec in iter_samples(samples_path):
        ev = str(rec.get("eval"))
        key = (str(rec.get("sample_id")), int(rec.get("epoch") or 0))
        out.setdefault((ev, str(rec.get("variant") or "base")), {})[key] = slim(rec, ev in hazardous, snippets)
    return out


@dataclass(frozen=True)
class MetricRule:
    """How one sample contributes to a metric: an indicator of `label` (or the score value), among `target`."""

    metric: str
    label: str | None = None
    target: str | None = None
    exact: bool = True

    def value(self, rec: dict[str, Any]) -> float | None:
        if self.target is not None and rec.get("target") != self.target:
            return None
        if self.label is not None:
            return 1.0 if rec.get("label") == self.label else 0.0
        return rec.get("value")


def _mean_of(rule: MetricRule, recs: Iterable[dict[str, Any]]) -> float | None:
    vals = [v for v in (rule.value(r) for r in recs) if v is not None]
    return sum(vals) / len(vals) if vals else None


def infer_rule(metric: str, reported: float | None, recs: Sequence[dict[str, Any]]) -> MetricRule:
    """The per-sample rule that reproduces `reported` on `recs`; the score value (approximate) if none does."""
    labels = {r.get("label") for r in recs}
    targets = {r.get("target") for r in recs if r.get("target") is not None}
    candidates: list[tuple[str | None, str | None]] = []
    if metric.endswith("_rate"):
        stem = metric[: -len("_rate")]
        if stem in labels:
            candidates.append((stem, None))
        for t in sorted(targets, key=len, reverse=True):
            if stem.startswith(f"{t}_"):
                rest = stem[len(t) + 1:]
                candidates.append(("refused" if rest in ("refusal", "refused") else rest, t))
        if stem.endswith("refusal"):
            candidates.append(("refused", None))
    candidates.append((None, None))
    for label, target in candidates:
        rule = MetricRule(metric, label, target)
        got = _mean_of(rule, recs)
        if reported is None or (got is not None and abs(got - reported) <= 1e-6):
            return rule
    return MetricRule(metric, None, None, exact=False)


def bootstrap_delta(diffs: Sequence[float], reps: int = 2000, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Mean of paired differences and its 95% percentile-bootstrap CI (resampling pairs)."""
    import numpy as np

    d = np.asarray(diffs, dtype=float)
    n = len(d)
    if n == 0:
        raise ValueError("no pairs")
    rng = np.random.default_rng(seed)
    values, counts = np.unique(d, return_counts=True)
    if len(values) <= 64:
        means = rng.multinomial(n, counts / n, size=reps) @ values / n
    else:
        means = np.empty(reps)
        step = max(1, 2_000_000 // n)
        for i in range(0, reps, step):
            k = min(step, reps - i)
            means[i:i + k] = d[rng.integers(0, n, size=(k, n))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(d.mean()), (float(lo), float(hi))


def paired(rule: MetricRule, a: dict[Key, dict[str, Any]], b: dict[Key, dict[str, Any]],
           reps: int = 2000, seed: int = 0) -> dict[str, Any] | None:
    """Paired (a - b) for one metric on the samples both sides have; None if there are none."""
    av, bv = [], []
    for key in sorted(a.keys() & b.keys()):
        x, y = rule.value(a[key]), rule.value(b[key])
        if x is not None and y is not None:
            av.append(x)
            bv.append(y)
    if not av:
        return None
    delta, ci = bootstrap_delta([x - y for x, y in zip(av, bv, strict=True)], reps, seed)
    n = len(av)
    return {"metric": rule.metric, "n_pairs": n, "a": sum(av) / n, "b": sum(bv) / n, "delta": delta,
            "ci": list(ci), "exact": rule.exact}


def changed(a: dict[Key, dict[str, Any]], b: dict[Key, dict[str, Any]]) -> list[tuple[Key, dict, dict]]:
    """Shared samples whose outcome label differs, sorted by (sample_id, epoch)."""
    return [(k, a[k], b[k]) for k in sorted(a.keys() & b.keys()) if a[k].get("label") != b[k].get("label")]
