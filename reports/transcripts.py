"""The report's transcripts: every sample, split into small parts the page loads as it needs them.

A 50,000-sample run has tens of megabytes of prompts and completions, far too
much for one page. The samples are written as `transcripts/part-NNN.js` files
beside report.html (a script tag can load them from file://, where fetch
cannot), plus `transcripts/index.js`: per sample only its eval, variant,
outcome, the base variant's outcome and (when a judge model graded it) whether the judge and the
default judgement disagree, which is all filtering needs. Small
runs embed the same data in report.html instead, so one file is the report.

Each file hands its data to `window.__evalrunData(token, name, data)`; the
token ties it to the report that wrote it, so stale or foreign files are
refused. With `redact`, completions of hazardous evals never reach the files:
only their length and score do.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalrun.evals.agreement import disagreement
from evalrun.reports.embed import data_script, safe_json
from evalrun.rundir.reader import BASE, Run, iter_sample_lines, label_of, pair_key, parse_sample

DIR = "transcripts"
PART_SAMPLES = 200
PART_BYTES = 256 * 1024
INLINE_LIMIT = 1_000_000  # below this many bytes of transcripts, embed them in report.html
LABEL_ORDER = ["refused", "partial", "complied", "correct", "wrong"]
_OURS = re.compile(r"^(index|part-\d{3,})\.js$")


@dataclass
class Transcripts:
    """What the page needs to find the samples (meta), and any data embedded in the page itself."""

    meta: dict[str, Any]
    inline: dict[str, str] = field(default_factory=dict)  # name -> escaped JSON text
    targets: dict[str, set[str]] = field(default_factory=dict)  # eval -> distinct sample targets
    total_bytes: int = 0
    files: int = 0


def _view(rec: dict[str, Any], hazardous: bool, redact: bool) -> dict[str, Any]:
    """The fields a reader sees; the rendered prompt only when there are no chat messages (it repeats them)."""
    score = rec.get("score") if isinstance(rec.get("score"), dict) else {}
    out = {
        "eval": rec.get("eval"), "variant": rec.get("variant") or BASE, "sample_id": rec.get("sample_id"),
        "epoch": rec.get("epoch") or 0, "messages": rec.get("messages") or [],
        "choices": rec.get("choices"), "target": rec.get("target"), "metadata": rec.get("metadata") or {},
        "completion": rec.get("completion"), "finish_reason": rec.get("finish_reason"),
        "completion_tokens": rec.get("completion_tokens"), "label_logprobs": rec.get("label_logprobs"),
        "score": {k: score.get(k) for k in ("value", "label", "evidence", "extra")}, "hazardous": hazardous,
    }
    if not out["messages"]:
        out["prompt"] = rec.get("prompt")
    if redact and hazardous:
        text = str(rec.get("completion") or "")
        out["completion"] = None
        out["redacted"] = {"chars": len(text), "tokens": rec.get("completion_tokens")}
        out["score"] = {"value": score.get("value"), "label": score.get("label")}  # evidence may quote it
    return out


def _ordered_labels(labels: set[str]) -> list[str]:
    return [x for x in LABEL_ORDER if x in labels] + sorted(labels - set(LABEL_ORDER))


def build(run: Run, token: str, redact: bool, inline_limit: int | None = None) -> Transcripts:
    """Read samples.jsonl once, write the transcript parts (or prepare them for embedding)."""
    eval_names = list(run.evals)
    variants = run.variant_names()
    hazardous_evals = {n for n, e in run.evals.items() if e.get("hazardous")}
    rows: list[tuple[int, int, int, tuple, str, str, bool]] = []  # eval_i, variant_i, seq, pair, label, json, disagree
    targets: dict[str, set[str]] = {}
    for seq, (lineno, line) in enumerate(iter_sample_lines(run.samples_path)):
        rec = parse_sample(run.samples_path, lineno, line)
        ev, variant = str(rec.get("eval")), str(rec.get("variant") or BASE)
        if ev not in eval_names:
            eval_names.append(ev)
        if variant not in variants:
            variants.append(variant)
        hazardous = bool(rec.get("hazardous")) or ev in hazardous_evals
        seen = targets.setdefault(ev, set())
        if rec.get("target") is not None and len(seen) < 50:
            seen.add(str(rec.get("target")))
        score = rec.get("score") if isinstance(rec.get("score"), dict) else {}
        rows.append((eval_names.index(ev), variants.index(variant), seq, pair_key(rec), label_of(rec),
                     safe_json(_view(rec, hazardous, redact)), bool(disagreement(score))))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    base_i = variants.index(BASE) if BASE in variants else -1
    labels = _ordered_labels({r[4] for r in rows})
    label_i = {x: i for i, x in enumerate(labels)}
    base_label = {r[3]: label_i[r[4]] for r in rows if r[1] == base_i}
    index = {
        "e": [r[0] for r in rows], "v": [r[1] for r in rows], "l": [label_i[r[4]] for r in rows],
        "b": [-1 if r[1] == base_i else base_label.get(r[3], -1) for r in rows],
    }
    disagreements = sum(r[6] for r in rows)  # the judge model and the default judgement call it differently
    if disagreements:
        index["d"] = [int(r[6]) for r in rows]
    parts: list[tuple[str, int, int, str]] = []  # name, start, count, json
    start, size, chunk = 0, 0, []
    for i, r in enumerate(rows):
        chunk.append(r[5])
        size += len(r[5])
        if len(chunk) >= PART_SAMPLES or size >= PART_BYTES or i == len(rows) - 1:
            parts.append((f"part-{len(parts):03d}", start, len(chunk), "[" + ",".join(chunk) + "]"))
            start, size, chunk = i + 1, 0, []
    index_json = safe_json(index)
    total = len(index_json) + sum(len(p[3]) for p in parts)
    inline = total <= (INLINE_LIMIT if inline_limit is None else inline_limit)
    meta = {
        "token": token, "mode": "inline" if inline else "files", "dir": DIR, "total": len(rows),
        "parts": [{"name": name, "start": s, "count": n} for name, s, n, _ in parts],
        "evals": eval_names, "variants": variants, "labels": labels, "base": base_i, "redacted": redact,
        "hazardous_evals": sorted(hazardous_evals), "disagreements": disagreements,
    }
    out = Transcripts(meta, total_bytes=total, targets=targets)
    if inline:
        out.inline = {"index": index_json, **{name: text for name, _, _, text in parts}}
        _replace_dir(run.dir, None)
    else:
        tmp = run.dir / f".{DIR}-{token[:8]}"
        tmp.mkdir()
        (tmp / "index.js").write_text(data_script(token, "index", index), encoding="utf-8")
        for name, _, _, text in parts:
            (tmp / f"{name}.js").write_text(
                f"window.__evalrunData({safe_json(token)},{safe_json(name)},{text});\n", encoding="utf-8")
        out.files = len(parts) + 1
        out.total_bytes = sum(p.stat().st_size for p in tmp.iterdir())
        _replace_dir(run.dir, tmp)
    return out


def _replace_dir(run_dir: Path, new: Path | None) -> None:
    """Put `new` in place as run_dir/transcripts (or just remove the old one), deleting only files we wrote."""
    current = run_dir / DIR
    old = None
    if current.is_dir() and not current.is_symlink():
        old = run_dir / f".{DIR}-old-{os.getpid()}"
        current.rename(old)
    if new is not None:
        new.rename(current)
    if old is not None:
        for p in old.iterdir():
            if _OURS.match(p.name) and p.is_file() and not p.is_symlink():
                p.unlink()
        try:
            old.rmdir()
        except OSError:  # someone else's files in there: leave them, out of the way
            pass


def remove_stale_tmp(run_dir: Path) -> None:
    """Remove half-written transcript dirs left by an interrupted render."""
    for p in run_dir.glob(f".{DIR}-*"):
        if p.is_dir() and not p.is_symlink() and all(_OURS.match(c.name) for c in p.iterdir()):
            shutil.rmtree(p)
