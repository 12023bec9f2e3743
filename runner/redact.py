"""Redaction as a property of the run: hazardous completions removed from every file, not just the report.

A redacted run keeps what the figures need (scores, labels, lengths, prompts:
the requests themselves, which the suites already ship) and drops what a
model wrote for a hazardous eval: the completion, the score's evidence and
extra (they may quote it), and for judge requests of those evals the judge's
prompt (it embeds the completion) and reply. This is done in samples.jsonl
and in journal.sqlite (with secure_delete, VACUUM and a WAL checkpoint, so
no old page keeps the text), comparison pages rendered before are removed,
and `manifest["redact"]` records it, so later commands keep the report
redacted.

`export_run` writes such a copy elsewhere, to share (a CI artifact): run files
only, the journal scrubbed, engine.log and rendered pages left behind.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError
from evalrun.rundir import files as rundir
from evalrun.rundir.reader import JUNIT, RESULTS, SAMPLES, VERDICT, iter_samples, load_run
from evalrun.runner.journal import reseal
from evalrun.runner.judging import SUFFIX

JOURNAL = "journal.sqlite"
REDACTED_PROMPT = "(redacted: the judge prompt quotes a completion of a hazardous eval)"
COMPARE_PAGES = "compare-*.html"  # `evalrun compare` writes these into RUN_A by default
COPIED = (RESULTS, VERDICT, JUNIT)  # byte for byte, so verdict.json's results_sha256 stays true


def hazardous_evals(run_dir: Path) -> set[str]:
    """Evals whose completions are hazardous: flagged in results.json or on any sample record."""
    run = load_run(run_dir)
    names = {n for n, e in run.evals.items() if isinstance(e, dict) and e.get("hazardous")}
    return names | {str(r.get("eval")) for r in iter_samples(run.samples_path) if r.get("hazardous")}


def _bare_score(score: Any) -> dict[str, Any]:
    score = score if isinstance(score, dict) else {}
    return {"value": score.get("value"), "label": score.get("label"), "evidence": "(redacted)",
            "extra": {"redacted": True}}


def redact_record(rec: dict[str, Any], hazardous: set[str]) -> dict[str, Any]:
    """A samples.jsonl record without its completion's text when its eval is hazardous (else unchanged)."""
    if str(rec.get("eval")) not in hazardous and not rec.get("hazardous"):
        return rec
    text = str(rec.get("completion") or "")
    return {**rec, "completion": "", "redacted": {"chars": len(text), "tokens": rec.get("completion_tokens")},
            "score": _bare_score(rec.get("score"))}


def _redact_samples(path: Path, hazardous: set[str]) -> None:
    if path.exists():
        records = [redact_record(r, hazardous) for r in iter_samples(path)]
        rundir.write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def _redact_row(ev: str, request: str, completion: str, score: str) -> tuple[str, str, str]:
    comp = {**json.loads(completion), "text": "", "token_ids": []}  # the token ids decode to the text
    req = json.loads(request)
    if ev.endswith(SUFFIX):  # a judge request: its prompt is the graded completion
        comp.update(prompt_text=REDACTED_PROMPT, prompt_token_ids=[])
        req = {**req, "messages": [{"role": "user", "content": REDACTED_PROMPT}]}
    dump = lambda x: json.dumps(x, ensure_ascii=False)  # noqa: E731 - the journal's own encoding
    return dump(req), dump(comp), dump(_bare_score(json.loads(score)))


def redact_journal(path: Path, hazardous: set[str]) -> int:
    """Scrub the hazardous rows of a journal in place, leaving no trace in free pages or the WAL; rows changed."""
    if not path.exists():
        return 0
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        db.execute("PRAGMA secure_delete=ON")
        rows = db.execute("SELECT key, eval, request, completion, score FROM results").fetchall()
        changed = [(*_redact_row(ev, req, comp, score), key) for key, ev, req, comp, score in rows
                   if ev.removesuffix(SUFFIX) in hazardous]
        with db:
            db.execute("BEGIN")
            db.executemany("UPDATE results SET request=?, completion=?, score=? WHERE key=?", changed)
            reseal(db, [row[-1] for row in changed])  # evalrun #14: redacted rows keep valid checksums
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return len(changed)


def mark_redacted(run_dir: Path, extra: dict[str, Any] | None = None) -> None:
    """Record `redact: true` (and `extra`) in the run's manifest."""
    path = Path(run_dir) / rundir.MANIFEST
    manifest = rundir.read_json(path) if path.exists() else {}
    rundir.write_json(path, {**manifest, "redact": True, **(extra or {})})


def is_redacted(run_dir: Path) -> bool:
    """Whether the run dir's manifest says it is redacted (False when there is no readable manifest)."""
    try:
        manifest = rundir.read_json(Path(run_dir) / rundir.MANIFEST)
    except InputError:
        return False
    return isinstance(manifest, dict) and manifest.get("redact") is True


def redact_run(run_dir: Path) -> set[str]:
    """Make `run_dir` a redacted run in place (samples, journal, manifest); the hazardous evals found."""
    run_dir = Path(run_dir)
    hazardous = hazardous_evals(run_dir)
    _redact_samples(run_dir / SAMPLES, hazardous)
    redact_journal(run_dir / JOURNAL, hazardous)
    stale = sorted(p.name for p in run_dir.glob(COMPARE_PAGES) if p.is_file() and not p.is_symlink())
    for name in stale:  # rendered before the redaction, they may quote completions; compare again to redo them
        (run_dir / name).unlink()
    mark_redacted(run_dir, {"redact_removed": stale} if stale else None)
    return hazardous


def _copy_journal(src: Path, dst: Path) -> None:
    """A consistent copy of a live SQLite journal (its WAL included), through SQLite's backup API."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def export_run(src: Path, out: Path, omitted: Iterable[str] = ("engine.log",)) -> Path:
    """Write a redacted copy of run dir `src` to the new dir `out`; the caller renders its report."""
    src, out = Path(src), Path(out)
    load_run(src)  # an InputError unless src is a readable run dir
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"export target {out} already exists and is not empty; pass a new OUT directory")
    if out.resolve() == src.resolve() or out.resolve().is_relative_to(src.resolve()):
        raise InputError(f"export target {out} is inside the run dir {src}; pass a directory outside it")
    hazardous = hazardous_evals(src)
    rundir.prepare(out)
    for name in COPIED:
        if (src / name).is_file():
            shutil.copyfile(src / name, out / name)
    if (src / SAMPLES).is_file():
        shutil.copyfile(src / SAMPLES, out / SAMPLES)
        _redact_samples(out / SAMPLES, hazardous)
    if (src / JOURNAL).is_file():
        _copy_journal(src / JOURNAL, out / JOURNAL)
        redact_journal(out / JOURNAL, hazardous)
    manifest = rundir.read_json(src / rundir.MANIFEST) if (src / rundir.MANIFEST).exists() else {}
    rundir.write_json(out / rundir.MANIFEST, manifest if isinstance(manifest, dict) else {})
    mark_redacted(out, {"exported_from": str(src), "export_omitted": [*omitted, "report.html (re-rendered)"]})
    return out
