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

from evalrun import __version__
from evalrun.evals.core import Eval, Sample, Score
from evalrun.evals.data import DataSource
from evalrun.evals.errors import InputError, RunError
from evalrun.evals.registry import load_eval
from evalrun.models.ref import HUB_ID, ModelRef, check_model_dir, resolve_model
from evalrun.models.variant import BASE, Variant, lora_rank, parse_variant_option
from evalrun.rundir import files as rundir
from evalrun.rundir.migrate import SCHEMA_VERSION
from evalrun.runner.engine import EngineOptions
from evalrun.runner.journal import Journal
from evalrun.runner.plan import Request, build_requests
from evalrun.runner.progress import Progress
from evalrun.runner.ray_cluster import RayOptions
from evalrun.runner.results import (
    ERROR,
    comparisons,
    durability,
    eval_results,
    sample_records,
    samples_jsonl,
)
from evalrun.runner.suite import Suite, load_suite
from evalrun.runner.variants import engine_groups, engine_rank


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
    variants: list[str] = field(default_factory=list)  # --variant NAME=PATH
    judge: str | None = None  # judge model for judged evals
    judge_format: str | None = None  # --judge-format (evals.judge_formats; default: the StrongREJECT rubric)
    argv: list[str] = field(default_factory=list)
    ray: RayOptions | None = None  # --ray/--replicas: vLLM engine replicas on a Ray cluster (runner/ray_pool.py)


@dataclass
class RunOutcome:
    run_dir: Path
    results: dict[str, Any]
    generated: int
    resumed: int
    failed: dict[str, str] = field(default_factory=dict)  # variant -> why its modification failed


def limit_samples(ev: Eval, limit: int | None) -> Eval:
    """The first `limit` samples in a stable pseudo-random order (balanced across kinds, same every run)."""
    if not limit or limit >= len(ev.samples):
        return ev
    ordered = sorted(ev.samples, key=lambda s: hashlib.sha256(s.id.encode()).hexdigest())
    keep = {s.id for s in ordered[:limit]}
    ev.samples = [s for s in ev.samples if s.id in keep]
    return ev


def load_evals(suite: Suite, data: DataSource, limit: int | None) -> list[Eval]:
    names = list(suite.eval_names)
    # elicitation (issue 9, modify/elicit.py): trained attacks need the held-out probe in the same pass
    from evalrun.modify.elicit import PROBE_EVAL, needs_probe

    if needs_probe(suite.modifications) and PROBE_EVAL not in names:
        names.append(PROBE_EVAL)
    return [limit_samples(load_eval(name, data), limit) for name in names]


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
    judged = [ev.name for ev in evals if ev.judged]
    if judged and not config.judge:
        raise InputError(f"eval {judged[0]} is graded by a judge model: pass --judge MODEL (a model dir, or demo)")
    if config.judge_format:
        from evalrun.evals.judge_formats import get_format

        get_format(config.judge_format)  # an unknown format is an input error before anything loads
    given = [parse_variant_option(spec) for spec in config.variants]
    if config.ray is not None:  # join/start the cluster and check it can place the replicas, before any model loads
        from evalrun.runner.ray_cluster import connect

        connect(config.ray, config.options)
    model = _resolve(config)  # builds the demo model on first use, so after the cheap checks
    run_dir = rundir.prepare(config.out or rundir.default_run_dir(suite.name, model.name))
    rundir.lock_run_dir(run_dir)  # evalrun #14: one process per run dir (held until the CLI is done with it)
    previous = _check_previous(run_dir, model, suite)
    _check_given_variants(given, model)
    variants = [BASE, *given, *_modification_variants(config, suite, model)]
    if len({v.name for v in variants}) != len(variants):
        raise InputError("two variants share a name; give each --variant a unique name")
    requests = build_requests(evals, variants, model.fingerprint, config.seed)
    plan_s = time.perf_counter() - t_start

    journal = Journal(run_dir / "journal.sqlite")
    manifest = _manifest(config, suite, evals, model, variants, previous)
    rundir.write_json(run_dir / rundir.MANIFEST, manifest)
    done = journal.done_keys()
    pending = [r for r in requests if r.key not in done]
    engines = _generate_all(config, model, evals, variants, pending, journal, run_dir)
    manifest["engines"] = engines  # this invocation's engine loads (the judge pass adds its own)
    if engines:
        manifest["engine_info"] = engines[0]
    rows = journal.rows(r.key for r in requests)
    missing = len(requests) - len(rows)
    if missing:
        raise RunError(f"{missing} requests have no result after generation; rerun the same command to resume")
    judge_rows = _judge(config, evals, requests, rows, journal, run_dir, manifest)
    journal.close()

    t_out = time.perf_counter()
    records = sample_records(evals, requests, rows)
    if judge_rows is not None:
        from evalrun.runner.judging import apply_judgements

        apply_judgements(judge_rows[0], records, judge_rows[1], judge_rows[2])
    results = _results(suite, model, evals, variants, records)
    rundir.write_atomic(run_dir / "samples.jsonl", samples_jsonl(records))
    rundir.write_json(run_dir / "results.json", results)
    manifest["status"] = "complete"
    manifest["timings"] = {
        "plan_s": round(plan_s, 3),
        **{k: round(sum(e.get(k, 0) for e in manifest["engines"]), 3)
           for k in ("engine_load_s", "render_s", "generate_s")},
        "outputs_s": round(time.perf_counter() - t_out, 3),
        "total_s": round(time.perf_counter() - t_start, 3),
    }
    generated = len(pending)
    manifest["counts"] = {"requests": len(requests), "generated_now": generated, "resumed": len(requests) - generated,
                          "engine_loads": len(manifest["engines"])}
    rundir.write_json(run_dir / rundir.MANIFEST, manifest)
    failed = {v.name: v.info.get("error", "failed") for v in variants if v.kind == "failed"}
    return RunOutcome(run_dir, results, generated, len(requests) - generated, failed)


def _results(suite: Suite, model: ModelRef, evals: list[Eval], variants: list[Variant], records) -> dict[str, Any]:
    evals_section = eval_results(evals, [v for v in variants if v.runs], records)
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "suite": {"name": suite.name, "version": suite.version, "description": suite.description},
        "model": {"name": model.name, "path": model.path, "fingerprint": model.fingerprint},
        "variants": {v.name: {"kind": v.kind, "path": v.path, **v.info} for v in variants},
        "evals": evals_section,
    }
    if suite.categories or suite.safeguards:
        from evalrun.evals.determination import summarize

        results.update(summarize(suite.to_dict(), evals_section, records, [v.name for v in variants if v.runs]))
    if len(variants) > 1:
        results["comparisons"] = comparisons(evals, variants, records)
        results["durability"] = durability(evals, variants, evals_section)
    # elicitation (issue 9): per trained attack its status and evidence, per search the selected configuration
    from evalrun.modify.elicit import elicitation_results

    elicitation = elicitation_results(suite.to_dict(), results["variants"], evals_section)
    for name, assessment in elicitation["variants"].items():
        results["variants"][name]["elicitation"] = assessment
    if elicitation["searches"]:
        results["elicitation"] = elicitation["searches"]
    return results


def _judge(config, evals, requests, rows, journal: Journal, run_dir: Path, manifest: dict):
    """Grade judged evals with the judge model; (judge ref, judge rows) or None when no eval is judged."""
    if not any(ev.judged for ev in evals):
        return None
    from evalrun.evals.judge_formats import get_format
    from evalrun.runner.judging import judge_engine, judge_requests, request_scorer

    fmt = get_format(config.judge_format)
    judge, engine = judge_engine(config.engine, config.judge, _vllm_options(config, config.judge),
                                 run_dir / "engine.log", config.progress)
    manifest["judge"] = {"model": judge.path, "fingerprint": judge.fingerprint, "format": fmt.name,
                         "prompt_version": fmt.version}
    wanted = judge_requests(judge, evals, requests, rows, fmt)
    done = journal.done_keys()
    pending = [r for r in wanted if r.key not in done]
    if pending:
        info = _generate(config, engine, request_scorer(fmt), pending, journal)
        manifest["engines"].append({**info, "variants": ["judge"]})
    return judge, journal.rows(r.key for r in wanted), fmt


def _modification_variants(config: RunConfig, suite: Suite, model: ModelRef) -> list[Variant]:
    """Variants the suite's modifications make (trained or edited here, cached by content hash)."""
    if not suite.modifications:
        return []
    from evalrun.modify import build_variants, skipped_variants

    if config.engine != "vllm" or not model.local:
        return skipped_variants(suite.modifications, "modifications need the model's weights on this machine "
                                "(--engine vllm with a local model directory)")
    return build_variants(suite.modifications, model, seed=config.seed, progress=config.progress,
                          data=DataSource(config.data_dirs))


def _check_given_variants(given: list[Variant], model: ModelRef) -> None:
    """Adapters must fit the base model's architecture; checkpoints must be complete."""
    from evalrun.modify import check_adapter, check_checkpoint

    for v in given:
        if v.kind == "lora" and model.local:
            check_adapter(Path(v.path), Path(model.path))
        elif v.kind == "weights":
            check_checkpoint(Path(v.path))


def _generate_all(
    config, model, evals, variants, pending: list[Request], journal: Journal, run_dir: Path
) -> list[dict[str, Any]]:
    """One engine per group of variants (base + LoRA adapters together), each with all its requests at once."""
    if not pending:
        return []
    score = scorer_for(evals)
    if config.engine == "openai":
        from evalrun.runner.openai_engine import OpenAIEngine

        return [_generate(config, OpenAIEngine(config.options, model.path), score, pending, journal)]
    infos = []
    by_variant = {v.name: v for v in variants}
    for group in engine_groups(model, variants):
        todo = [r for r in pending if r.variant in group.variants]
        if not todo:
            continue
        ranks = [lora_rank(Path(p)) for p in group.loras.values()]
        options = replace(_vllm_options(config, config.model), max_lora_rank=engine_rank(ranks))
        from evalrun.runner.vllm_engine import VllmEngine

        if config.ray is not None:  # the same engine, as replicas on Ray
            from evalrun.runner.ray_pool import RayEngine

            engine = RayEngine(config.ray, group.model_path, options, group.loras, group.engine_args,
                               log_path=run_dir / "engine.log", progress=config.progress)
        else:
            engine = VllmEngine(group.model_path, options, group.loras, group.engine_args,
                                log_path=run_dir / "engine.log")
        info = _generate(config, engine, score, todo, journal)
        info["variants"] = [v for v in group.variants if by_variant[v].runs]
        infos.append(info)
    return infos


def _resolve(config: RunConfig) -> ModelRef:
    if config.engine == "openai":
        from evalrun.runner.openai_engine import server_model

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


def scorer_for(evals: list[Eval]):
    """score(request, completion) for the run's evals (and their judge requests)."""
    from evalrun.runner.judging import SUFFIX, judge_scorer

    samples: dict[tuple[str, str], Sample] = {(ev.name, s.id): s for ev in evals for s in ev.samples}
    scorers = {ev.name: ev.scorer for ev in evals} | {ev.name + SUFFIX: judge_scorer for ev in evals if ev.judged}

    def score(req: Request, completion):
        return scorers[req.eval](samples[(req.eval.removesuffix(SUFFIX), req.sample_id)], completion)

    return score


def _score_or_error(score, req: Request, completion) -> Score:
    """The eval's score, or an "error" score (left out of metrics) when the request could not run."""
    if completion.finish_reason == "prompt_too_long":
        return Score(0.0, ERROR, f"prompt of {completion.prompt_tokens} tokens does not fit the model's context")
    return score(req, completion)


def _generate(config: RunConfig, engine, score, pending: list[Request], journal: Journal):
    """Run the pending requests through `engine`, scoring and committing each as it finishes."""
    progress = Progress(len(pending), enabled=config.progress)

    def on_results(batch) -> None:
        rows = []
        for i, completion in batch:
            req = pending[i]
            rows.append(
                {
                    "key": req.key, "eval": req.eval, "eval_version": req.eval_version, "variant": req.variant,
                    "sample_id": req.sample_id, "epoch": req.epoch, "request": req.to_dict(),
                    "completion": completion.to_dict(), "score": _score_or_error(score, req, completion).to_dict(),
                }
            )
            progress.add(completion.output_tokens)
        journal.add(rows)

    try:
        return engine.generate(pending, on_results, on_ready=progress.start)
    finally:
        progress.close()


def _vllm_options(config: RunConfig, model_spec: str) -> EngineOptions:
    if model_spec == "demo" and config.options.dtype == "auto":
        # The demo model is float32; CPU vLLM would pick bfloat16, whose LoRA kernels crash here.
        return replace(config.options, dtype="float32")
    return config.options


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
        "variants": {v.name: {"kind": v.kind, "path": v.path, "fingerprint": v.fingerprint, **v.engine_args}
                     for v in variants},
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
