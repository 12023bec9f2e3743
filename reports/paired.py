"""Paired differences between two runs' scored samples (a candidate and its baseline).

Samples pair by sample id (epochs of one sample averaged, as every metric
does). A metric's per-sample value comes from its definition, recorded in
results.json (`MetricDefinition.per_sample`), and the paired figures from
`evals.paired.paired_delta`, the same code the within-run comparisons use.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evalrun.evals.metrics import MetricDefinition
from evalrun.evals.paired import paired_delta
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
        "sample_id": str(rec.get("sample_id")),
        "label": label_of(rec),
        "score": {"label": label_of(rec),
                  "value": float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None},
        "target": None if rec.get("target") is None else str(rec.get("target")),
        "metadata": rec.get("metadata") if isinstance(rec.get("metadata"), dict) else {},
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


def paired(definition: MetricDefinition, a: dict[Key, dict[str, Any]], b: dict[Key, dict[str, Any]],
           ) -> dict[str, Any] | None:
    """Paired (a - b) for one metric on the samples both sides have; None if there are none."""
    p = paired_delta(definition, definition.per_sample(b.values()), definition.per_sample(a.values()))
    if p is None:
        return None
    return {"metric": definition.name, "n_pairs": p["n_pairs"], "a": p["variant"]["value"], "b": p["base"]["value"],
            "delta": p["delta"]["value"], "ci": p["delta"]["ci"]}


def changed(a: dict[Key, dict[str, Any]], b: dict[Key, dict[str, Any]]) -> list[tuple[Key, dict, dict]]:
    """Shared samples whose outcome label differs, sorted by (sample_id, epoch)."""
    return [(k, a[k], b[k]) for k in sorted(a.keys() & b.keys()) if a[k].get("label") != b[k].get("label")]
