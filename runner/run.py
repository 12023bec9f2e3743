"""One evaluation run, start to finish (or resumed): plan, generate, score, write.

    suite -> evals -> samples -> requests (base + variants)
    -> journal: drop the requests already done
    -> engine: every remaining request in one submission, scored and committed as they finish
    -> samples.jsonl, results.json, report.html, manifest.json
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..evals.core import Eval, Sample
from ..evals.data import DataSource
from ..evals.errors import InputError, RunError
from ..evals.registry import load_eval
from . import rundir
from .engine import EngineOptions
from .journal import Journal
from .model_ref import HUB_ID, ModelRef, check_model_dir, resolve_model
from .plan import BASE, Request, build_requests
from .progress import Progress
from .results import SCHEMA_VERSION, eval_results, sample_records, samples_jsonl
from .suite import Suite, load_suite


@dataclass
class RunConfig:
    model: str
    suite: str
    out: Path | None = None
    limit: int | None = None
    seed: int = 0
    data_dirs: list[Path] = field(default_factory=list)
    engine: str = "vllm"
    options: EngineOptions = field(default_factory=EngineOptions)
    progress: bool = True
    argv: list[str] = field(default_factory=list)


@dataclass
class RunOutcome:
    run_dir: Path
    results: dict[str, Any]
    generated: int
    resumed: int


def limit_samples(ev: Eval, limit: int | None) -> Eval:
    """The first `limit` samples in a stable pseudo-random order (balanced across kinds, same every run)."""
    if not limit or limit >= len(ev.samples):
        return ev
    ordered = sorted(ev.samples, key=lambda s: hashlib.sha256(s.id.encode()).hexdigest())
    keep = {s.id for s in ordered[:limit]}
    ev.samples = [s for s in ev.samples if s.id in keep]
    return ev


def load_evals(suite: Suite, data: DataSource, limit: int | None) -> list[Eval]:
    return [limit_samples(load_eval(name, data), limit) for name in suite.eval_names]


def run(config: RunConfig) -> RunOutcome:
    t_start = time.perf_counter()
    if config.limit is not None and config.limit < 1:
        raise InputError(f"--limit must be at least 1, got {config.limit}")
    suite = load_suite(config.suite)
    data = DataSource(config.data_dirs)
    local = Path(config.model).expanduser()
    if config.engine == "vllm" and config.model != "demo" and (local.exists() or not HUB_ID.match(config.model)):
        check_model_dir(local)
    evals = load_evals(suite, data, config.limit)
    model = _resolve(config)  # builds the demo model on first use, so after the cheap checks
    run_dir = rundir.prepare(config.out or rundir.default_run_dir(suite.name, model.name))
    previous = _check_previous(run_dir, model, suite)
    variants = [BASE]
    requests = build_requests(evals, variants, model.fingerprint, config.seed)
    plan_s = time.perf_counter() - t_start

    journal = Journal(run_dir / "journal.sqlite")
    manifest = _manifest(config, suite, evals, model, variants, previous)
    rundir.write_json(run_dir / rundir.MANIFEST, manifest)
    done = journal.done_keys()
    pending = [r for r in requests if r.key not in done]
    generated = 0
    engine_info: dict[str, Any] = {}
    if pending:
        engine_info = _generate(config, model, evals, pending, journal)
        generated = len(pending)
        manifest["engine_info"] = engine_info
    rows = journal.rows(r.key for r in requests)
    journal.close()
    missing = len(requests) - len(rows)
    if missing:
        raise RunError(f"{missing} requests have no result after generation; rerun the same command to resume")

    t_out = time.perf_counter()
    records = sample_records(evals, requests, rows)
    results = {
        "schema_version": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "suite": {"name": suite.name, "version": suite.version, "description": suite.description},
        "model": {"name": model.name, "path": model.path, "fingerprint": model.fingerprint},
        "variants": {v.name: {"kind": v.kind, "path": v.path, **v.info} for v in variants},
        "evals": eval_results(evals, variants, records),
    }
    rundir.write_atomic(run_dir / "samples.jsonl", samples_jsonl(records))
    rundir.write_json(run_dir / "results.json", results)
    from ..reports.html import write_report

    write_report(run_dir)
    manifest["status"] = "complete"
    manifest["timings"] = {
        "plan_s": round(plan_s, 3),
        **{k: engine_info[k] for k in ("engine_load_s", "render_s", "generate_s") if k in engine_info},
        "outputs_s": round(time.perf_counter() - t_out, 3),
        "total_s": round(time.perf_counter() - t_start, 3),
    }
    manifest["counts"] = {"requests": len(requests), "generated_now": generated, "resumed": len(requests) - generated}
    rundir.write_json(run_dir / rundir.MANIFEST, manifest)
    return RunOutcome(run_dir, results, generated, len(requests) - generated)


def _resolve(config: RunConfig) -> ModelRef:
    if config.engine == "openai":
        from .openai_engine import server_model

        name = server_model(config.options, config.model)
        return ModelRef(name, name, "openai:" + config.options.base_url + ":" + name, False)
    return resolve_model(config.model, progress=config.progress)


def _check_previous(run_dir: Path, model: ModelRef, suite: Suite) -> dict[str, Any] | None:
    """The earlier manifest of this run dir, if any; an InputError if it belongs to another model or suite."""
    path = run_dir / rundir.MANIFEST
    if not path.exists():
        return None
    prev = rundir.read_json(path)
    if prev.get("model", {}).get("fingerprint") != model.fingerprint or prev.get("suite", {}).get("name") != suite.name:
        raise InputError(
            f"{run_dir} holds a run of another model or suite ({prev.get('model', {}).get('name')}, "
            f"{prev.get('suite', {}).get('name')}); pass a new --out to keep it"
        )
    return prev


def _generate(config: RunConfig, model: ModelRef, evals: list[Eval], pending: list[Request], journal: Journal):
    """Run the pending requests through the engine, scoring and committing each as it finishes."""
    samples: dict[tuple[str, str], Sample] = {(ev.name, s.id): s for ev in evals for s in ev.samples}
    scorers = {ev.name: ev.scorer for ev in evals}
    progress = Progress(len(pending), enabled=config.progress)

    def on_results(batch) -> None:
        rows = []
        for i, completion in batch:
            req = pending[i]
            score = scorers[req.eval](samples[(req.eval, req.sample_id)], completion)
            rows.append(
                {
                    "key": req.key, "eval": req.eval, "eval_version": req.eval_version, "variant": req.variant,
                    "sample_id": req.sample_id, "epoch": req.epoch, "request": req.to_dict(),
                    "completion": completion.to_dict(), "score": score.to_dict(),
                }
            )
            progress.add(completion.output_tokens)
        journal.add(rows)

    engine = _engine(config, model)
    try:
        return engine.generate(pending, on_results, on_ready=progress.start)
    finally:
        progress.close()


def _engine(config: RunConfig, model: ModelRef):
    if config.engine == "openai":
        from .openai_engine import OpenAIEngine

        return OpenAIEngine(config.options, model.path)
    if config.engine != "vllm":
        raise InputError(f"unknown engine {config.engine!r}; use vllm or openai")
    from .vllm_engine import VllmEngine

    options = config.options
    if config.model == "demo" and options.dtype == "auto":
        # The demo model is float32; CPU vLLM would pick bfloat16, whose LoRA kernels crash here.
        options = replace(options, dtype="float32")
    return VllmEngine(model.path, options)


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _manifest(config, suite, evals, model, variants, previous) -> dict[str, Any]:
    manifest = {
        "evalrun_version": __version__,
        "git_revision": _git_revision(),
        "status": "running",
        "started": (previous or {}).get("started") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": config.argv,
        "model": {"name": model.name, "path": model.path, "fingerprint": model.fingerprint},
        "suite": {"name": suite.name, "version": suite.version, "path": str(suite.path)},
        "evals": {
            ev.name: {
                "version": ev.version, "category": ev.category, "samples": len(ev.samples), "epochs": ev.epochs,
                "sampling": {"max_tokens": 1 if ev.is_multiple_choice else ev.max_tokens,
                             "temperature": 0.0 if ev.is_multiple_choice else ev.temperature},
            }
            for ev in evals
        },
        "variants": [v.name for v in variants],
        "seed": config.seed,
        "limit": config.limit,
        "data_dirs": [str(d) for d in config.data_dirs],
        "engine": config.engine,
        "engine_options": config.options.to_dict(),
        "engine_info": (previous or {}).get("engine_info", {}),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    return manifest
