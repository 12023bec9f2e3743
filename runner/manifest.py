"""manifest.json: what was run, with what, where, and how long each stage took (provenance for the report)."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from evalrun import __version__
from evalrun.models.gguf import conversion_record
from evalrun.runner.context import RunContext


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def new_manifest(ctx: RunContext, suite_digest: str) -> dict[str, Any]:
    """The manifest of a run starting now (`status: running`); a resumed run keeps its first start time."""
    config, model, suite = ctx.config, ctx.model, ctx.suite
    assert model is not None
    data_files = ctx.data.files_used()  # per eval: each file read (path, size, sha256; hub repo and revision)
    return {
        "evalrun_version": __version__,
        "git_revision": git_revision(),
        "status": "running",
        "started": (ctx.previous or {}).get("started") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": config.argv,
        "model": {"name": model.name, "path": model.path, "fingerprint": model.fingerprint, "dtype": model.dtype,
                  **({"converted_from": source} if (source := conversion_record(model.path)) else {})},
        "suite": {"name": suite.name, "version": suite.version, "path": str(suite.path), "digest": suite_digest},
        "evals": {
            ev.name: {
                "version": ev.version, "category": ev.category, "samples": len(ev.samples), "epochs": ev.epochs,
                "options": ctx.suite.eval_options.get(ev.name, {}), "data_files": data_files.get(ev.name, []),
                "sampling": {"max_tokens": 1 if ev.is_multiple_choice else ev.max_tokens,
                             "temperature": 0.0 if ev.is_multiple_choice else ev.temperature},
            }
            for ev in ctx.evals
        },
        "variants": {v.name: {"kind": v.kind, "path": v.path, "fingerprint": v.fingerprint, **v.engine_args}
                     for v in ctx.variants},
        "seed": config.seed,
        "limit": config.limit,
        "data_dirs": [str(d) for d in config.data_dirs],
        "engine": config.engine,
        "engine_options": config.options.to_dict(),
        "engine_info": (ctx.previous or {}).get("engine_info", {}),
        "engines": [],
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def finish_manifest(ctx: RunContext) -> dict[str, Any]:
    """The manifest of the finished run: complete, with this invocation's timings and counts."""
    m = ctx.manifest
    engines = m.get("engines") or []
    if engines:
        m["engine_info"] = engines[0]
    m["timings"] = {
        **{k: round(sum(e.get(k, 0) for e in engines), 3) for k in ("engine_load_s", "render_s", "generate_s")},
        "total_s": round(time.perf_counter() - ctx.started, 3),
        "stages": dict(ctx.timings),  # wall seconds per pipeline stage (engine loads are inside `generate`)
    }
    generated = len(ctx.pending)
    m["counts"] = {"requests": len(ctx.requests), "generated_now": generated,
                   "resumed": len(ctx.requests) - generated, "engine_loads": len(engines)}
    m["status"] = "finishing"  # evalrun #14: the CLI says complete (rundir.files.finish_run) after the report
    return m
