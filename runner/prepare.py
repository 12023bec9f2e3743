"""The planning stage: which model, which run dir, which variants, which requests are still to run.

This is where the first expensive things happen (the demo model is trained on
first use, modifications are trained or loaded from the cache), so it runs
after every cheap check in `inputs`. A finished run's files are left untouched
here: its manifest is rewritten only when the resumed run completes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError
from evalrun.evals.metrics import ERROR
from evalrun.models.ref import ModelRef, resolve_model
from evalrun.models.variant import BASE, Variant
from evalrun.rundir import files as rundir
from evalrun.runner.context import RunContext
from evalrun.runner.journal import Journal
from evalrun.runner.manifest import new_manifest
from evalrun.runner.plan import build_requests
from evalrun.runner.suite import Suite


def suite_digest(suite: Suite) -> str:
    """A content hash of what the suite asks for: a run dir is only ever resumed by the same suite.

    Its file's path and empty sections are left out, so a copy of the suite elsewhere, or an evalrun that
    knows more (empty) sections, resumes the same run.
    """
    content = {k: v for k, v in suite.to_dict().items() if k != "path" and v not in (None, "", [], {})}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]


def plan(ctx: RunContext) -> None:
    """Resolve the model, claim the run dir, build the variants and the requests, open the journal."""
    config = ctx.config
    ctx.model = resolve(config, config.model)
    ctx.run_dir = rundir.prepare(config.out or rundir.default_run_dir(ctx.suite.name, ctx.model.name))
    rundir.lock_run_dir(ctx.run_dir)  # one process per run dir (held until the CLI is done with it)
    ctx.previous = check_previous(ctx.run_dir, ctx.model, ctx.suite)
    check_given_variants(ctx.given, ctx.model)
    ctx.variants = [BASE, *ctx.given, *modification_variants(ctx), *ctx.references]
    if len({v.name for v in ctx.variants}) != len(ctx.variants):
        raise InputError("a --variant has the name of a modification or reference of the suite; rename it")
    ctx.requests = build_requests(ctx.evals, ctx.variants, ctx.model.fingerprint, config.seed)
    ctx.journal = Journal(ctx.run_dir / "journal.sqlite")
    ctx.pending = pending_requests(ctx)
    ctx.manifest = new_manifest(ctx, suite_digest(ctx.suite))
    if (ctx.previous or {}).get("status") != "complete":
        rundir.write_json(ctx.run_dir / rundir.MANIFEST, ctx.manifest)


def pending_requests(ctx: RunContext) -> list:
    """Requests without a usable result: never run, or recorded as `error` (those are retried, not kept)."""
    assert ctx.journal is not None
    done = ctx.journal.done_keys()
    keys = [r.key for r in ctx.requests if r.key in done]
    errors = {k for k, row in ctx.journal.rows(keys).items() if (row.get("score") or {}).get("label") == ERROR}
    if errors:
        ctx.journal.drop(errors)
    return [r for r in ctx.requests if r.key not in done or r.key in errors]


def resolve(config, spec: str) -> ModelRef:
    """A model the run touches (`--model`, `--judge`): served (`--engine openai`) or local weights (`demo` trained)."""
    if config.engine == "openai":
        from evalrun.runner.openai_engine import server_model

        name = server_model(config.options, spec)
        return ModelRef(name, name, "openai:" + config.options.base_url + ":" + name, False)
    return resolve_model(spec, progress=config.progress)


def check_previous(run_dir: Path, model: ModelRef, suite: Suite) -> dict[str, Any] | None:
    """The earlier manifest of this run dir, if any; an InputError if it belongs to another model or suite."""
    path = run_dir / rundir.MANIFEST
    if not path.exists():
        return None
    prev = rundir.read_json(path)
    prev_model, prev_suite = prev.get("model", {}), prev.get("suite", {})
    digest = prev_suite.get("digest")
    if prev_model.get("fingerprint") != model.fingerprint or prev_suite.get("name") != suite.name or (
            digest is not None and digest != suite_digest(suite)):
        raise InputError(
            f"{run_dir} holds a run of another model or suite ({prev_model.get('name')}, suite "
            f"{prev_suite.get('name')} from {prev_suite.get('path')}); pass a new --out to keep it"
        )
    return prev


def check_given_variants(given: list[Variant], model: ModelRef) -> None:
    """Adapters must fit the base model's architecture; checkpoints must be complete."""
    from evalrun.modify import check_adapter, check_checkpoint

    for v in given:
        if v.kind == "lora" and model.local:
            check_adapter(Path(v.path), Path(model.path))
        elif v.kind == "weights":
            check_checkpoint(Path(v.path))


def modification_variants(ctx: RunContext) -> list[Variant]:
    """Variants the suite's modifications make (trained or edited here, cached by content hash)."""
    if not ctx.suite.modifications:
        return []
    from evalrun.modify import build_variants, skipped_variants

    assert ctx.model is not None
    if ctx.config.engine != "vllm" or not ctx.model.local:
        return skipped_variants(ctx.suite.modifications, "modifications need the model's weights on this machine "
                                "(--engine vllm with a local model directory)")
    return build_variants(ctx.suite.modifications, ctx.model, seed=ctx.config.seed, progress=ctx.config.progress,
                          data=ctx.data)
