"""The generation stage: every pending request through an engine, scored and journalled as it finishes.

`make_engine` is the one place an engine is built, for every model the run
touches (the base model and its variants, the judge): it honours `--engine`
(vLLM here, an OpenAI-compatible server) and `--ray` (vLLM replicas on a cluster).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from evalrun.evals.core import Completion, Eval, Sample, Score
from evalrun.evals.metrics import ERROR
from evalrun.models.ref import ModelRef
from evalrun.runner.context import RunConfig, RunContext
from evalrun.runner.engine import Engine, EngineOptions
from evalrun.runner.journal import Journal
from evalrun.runner.plan import Request
from evalrun.runner.progress import Progress
from evalrun.runner.variants import engine_groups, engine_rank


def engine_options(config: RunConfig, model: ModelRef) -> EngineOptions:
    """The run's engine options for `model`: `--dtype auto` becomes the dtype the model's checkpoint declares
    when that matters (float32 checkpoints: CPU vLLM would pick bfloat16, whose LoRA kernels crash here)."""
    if config.options.dtype == "auto" and model.dtype == "float32":
        return replace(config.options, dtype="float32")
    return config.options


def make_engine(config: RunConfig, model_path: str, options: EngineOptions, log_path: Path | None,
                loras: dict[str, str] | None = None, engine_args: dict[str, Any] | None = None) -> Engine:
    """The engine `--engine` / `--ray` ask for, serving `model_path` (a served model's name for openai)."""
    if config.engine == "openai":
        from evalrun.runner.openai_engine import OpenAIEngine

        return OpenAIEngine(options, model_path)
    if config.ray is not None:
        from evalrun.runner.ray_pool import RayEngine

        return RayEngine(config.ray, model_path, options, loras or {}, engine_args or {}, log_path=log_path,
                         progress=config.progress)
    from evalrun.runner.vllm_engine import VllmEngine

    return VllmEngine(model_path, options, loras or {}, engine_args or {}, log_path=log_path)


def generate(ctx: RunContext) -> None:
    """One engine per group of variants (base + LoRA adapters together), each with all its requests at once."""
    if not ctx.pending:
        return
    assert ctx.model is not None and ctx.journal is not None
    score = scorer_for(ctx.evals)
    by_variant = {v.name: v for v in ctx.variants}
    if ctx.config.engine == "openai":  # a served model: one engine, no variants of its own
        engine = make_engine(ctx.config, ctx.model.path, ctx.config.options, ctx.run_dir / "engine.log")
        ctx.manifest["engines"].append(run_requests(ctx.config, engine, score, ctx.pending, ctx.journal))
        return
    from evalrun.models.variant import lora_rank

    for group in engine_groups(ctx.model, ctx.variants):
        todo = [r for r in ctx.pending if r.variant in group.variants]
        if not todo:
            continue
        ranks = [lora_rank(Path(p)) for p in group.loras.values()]
        options = replace(engine_options(ctx.config, ctx.model), max_lora_rank=engine_rank(ranks))
        engine = make_engine(ctx.config, group.model_path, options, ctx.run_dir / "engine.log", group.loras,
                             group.engine_args)
        info = run_requests(ctx.config, engine, score, todo, ctx.journal)
        info["variants"] = [v for v in group.variants if by_variant[v].runs]
        ctx.manifest["engines"].append(info)


def scorer_for(evals: list[Eval]):
    """score(request, completion) for the run's evals (and their judge requests)."""
    from evalrun.runner.judging import SUFFIX, judge_scorer

    samples: dict[tuple[str, str], Sample] = {(ev.name, s.id): s for ev in evals for s in ev.samples}
    scorers = {ev.name: ev.scorer for ev in evals} | {ev.name + SUFFIX: judge_scorer for ev in evals if ev.judged}

    def score(req: Request, completion: Completion) -> Score:
        return scorers[req.eval](samples[(req.eval.removesuffix(SUFFIX), req.sample_id)], completion)

    return score


def score_or_error(score, req: Request, completion: Completion) -> Score:
    """The eval's score, or an "error" score (left out of metrics, retried on resume) when the request could not run."""
    if completion.finish_reason == "prompt_too_long":
        return Score(0.0, ERROR, f"prompt of {completion.prompt_tokens} tokens does not fit the model's context")
    return score(req, completion)


def run_requests(config: RunConfig, engine: Engine, score, pending: list[Request], journal: Journal
                 ) -> dict[str, Any]:
    """Run `pending` through `engine`, scoring and committing each as it finishes; the engine's info."""
    progress = Progress(len(pending), enabled=config.progress)

    def on_results(batch) -> None:
        rows = []
        for i, completion in batch:
            req = pending[i]
            rows.append(
                {
                    "key": req.key, "eval": req.eval, "eval_version": req.eval_version, "variant": req.variant,
                    "sample_id": req.sample_id, "epoch": req.epoch, "request": req.to_dict(),
                    "completion": completion.to_dict(), "score": score_or_error(score, req, completion).to_dict(),
                }
            )
            progress.add(completion.output_tokens)
        journal.add(rows)

    try:
        return engine.generate(pending, on_results, on_ready=progress.start)
    finally:
        progress.close()
