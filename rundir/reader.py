"""Reading a run directory for the reports and the gate: everything comes from its files alone.

The run directory is the contract (reports/FORMAT.md): results.json and
manifest.json hold the figures and provenance, samples.jsonl the transcripts,
verdict.json the gate's last word. Nothing here needs the model or the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalrun import fileio
from evalrun.evals.errors import InputError
from evalrun.evals.metrics import MetricDefinition
from evalrun.rundir.files import MANIFEST, REPORT, RESULTS, SAMPLES, read_json, run_status
from evalrun.rundir.migrate import migrate

VERDICT, JUNIT = "verdict.json", "junit.xml"
__all__ = ["BASE", "JUNIT", "MANIFEST", "REPORT", "RESULTS", "SAMPLES", "VERDICT", "Run", "file_sha256",
           "iter_sample_lines", "iter_samples", "label_of", "load_run", "pair_key", "parse_sample", "read_json"]
BASE = "base"


def file_sha256(path: Path) -> str | None:
    """Hex sha256 of a file, or None if it is absent."""
    try:
        return fileio.file_sha256(path)
    except FileNotFoundError:
        return None


@dataclass
class Run:
    """One run directory's results, manifest and (if any) verdict."""

    dir: Path
    results: dict[str, Any]
    manifest: dict[str, Any] = field(default_factory=dict)
    verdict: dict[str, Any] | None = None
    verdict_stale: bool = False

    @property
    def samples_path(self) -> Path:
        return self.dir / SAMPLES

    @property
    def evals(self) -> dict[str, Any]:
        return self.results.get("evals") or {}

    def definition(self, ev: str, metric: str) -> MetricDefinition | None:
        """What metric `metric` of eval `ev` means, as recorded with the results (None if it is not there)."""
        for v in ((self.evals.get(ev) or {}).get("variants") or {}).values():
            d = ((v.get("metrics") or {}).get(metric) or {}).get("definition")
            if isinstance(d, dict):
                return MetricDefinition.from_dict(d)
        return None

    def metrics_measuring(self, ev: str, measures: str, variant: str = BASE) -> list[tuple[str, dict[str, Any]]]:
        """(name, entry) of the eval's metrics on `variant` whose definition measures `measures`, in declared order."""
        metrics = (((self.evals.get(ev) or {}).get("variants") or {}).get(variant) or {}).get("metrics") or {}
        return [(name, m) for name, m in metrics.items()
                if isinstance(m, dict) and (m.get("definition") or {}).get("measures") == measures]

    def variant_names(self) -> list[str]:
        """Variants in results order, base first."""
        names = list(self.results.get("variants") or {})
        for ev in self.evals.values():
            names += list(ev.get("variants") or {})
        names = list(dict.fromkeys(names))
        return sorted(names, key=lambda v: v != BASE)


def load_run(run_dir: Path) -> Run:
    """A run directory's files, checked enough that the reports can trust their shape."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run directory {run_dir} not found")
    results = read_json(run_dir / RESULTS)
    if not isinstance(results, dict) or not isinstance(results.get("evals"), dict):
        raise InputError(f"{run_dir / RESULTS} has no `evals` mapping; is it an evalrun results file?")
    manifest = read_json(run_dir / MANIFEST) if (run_dir / MANIFEST).exists() else {}
    if isinstance(manifest, dict) and "status" in manifest:  # a killed run reads as interrupted (evalrun #14)
        manifest["status"] = run_status(run_dir, manifest)
    verdict, stale = None, False
    if (run_dir / VERDICT).exists():
        verdict = read_json(run_dir / VERDICT)
        made_for = verdict.get("results_sha256") if isinstance(verdict, dict) else None
        stale = bool(made_for) and made_for != file_sha256(run_dir / RESULTS)
    return Run(run_dir, migrate(results), manifest if isinstance(manifest, dict) else {}, verdict, stale)


def iter_sample_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) of samples.jsonl, skipping blank lines."""
    try:
        with path.open("rb") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    yield lineno, line
    except FileNotFoundError:
        return


def parse_sample(path: Path, lineno: int, line: bytes) -> dict[str, Any]:
    """One samples.jsonl record, or an InputError naming the line."""
    try:
        rec = json.loads(line)
    except ValueError as e:
        raise InputError(f"{path}:{lineno}: not valid JSON ({e})") from None
    if not isinstance(rec, dict) or "eval" not in rec:
        raise InputError(f"{path}:{lineno}: not a sample record (no `eval` field)")
    return rec


def iter_samples(path: Path) -> Iterator[dict[str, Any]]:
    """Every sample record of samples.jsonl, in file order (nothing if the file is absent)."""
    for lineno, line in iter_sample_lines(path):
        yield parse_sample(path, lineno, line)


def pair_key(rec: dict[str, Any]) -> tuple[str, str, int]:
    """What pairs a sample across variants and runs: (eval, sample_id, epoch)."""
    return (str(rec.get("eval")), str(rec.get("sample_id")), int(rec.get("epoch") or 0))


def label_of(rec: dict[str, Any]) -> str:
    score = rec.get("score") or {}
    return str(score.get("label") or "")
