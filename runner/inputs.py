"""The first stage: everything about a run that can be checked before any model loads.

A real model pays minutes (or hours) before generation ends, so a bad option, a
suite that does not load, a missing judge or an unreachable cluster must fail
here, as one-line input errors, with nothing written.
"""

from __future__ import annotations

from pathlib import Path

from evalrun.evals.core import Eval
from evalrun.evals.data import DataSource
from evalrun.evals.errors import InputError
from evalrun.evals.registry import load_eval
from evalrun.models.ref import HUB_ID, check_model_dir
from evalrun.models.variant import parse_variant_option, reference_variant
from evalrun.runner.context import RunConfig, RunContext
from evalrun.runner.suite import Suite, load_suite

DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")  # vLLM's --dtype choices


def load_evals(suite: Suite, data: DataSource, limit: int | None) -> list[Eval]:
    """The suite's evals, plus the elicitation probe when the suite trains attacks (measured in the same pass)."""
    from evalrun.modify.elicit import PROBE_EVAL, needs_probe

    names = list(suite.eval_names)
    if needs_probe(suite.modifications) and PROBE_EVAL not in names:
        names.append(PROBE_EVAL)
    return [load_eval(name, data, suite.eval_options.get(name), limit) for name in names]


def check_inputs(config: RunConfig) -> RunContext:
    """The run's suite, data and evals, loaded and checked; an InputError before any model loads."""
    if config.limit is not None and config.limit < 1:
        raise InputError(f"--limit must be at least 1, got {config.limit}")
    if config.options.dtype not in DTYPES:
        raise InputError(f"--dtype {config.options.dtype!r} is not a dtype vLLM loads; use one of {', '.join(DTYPES)}")
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

        get_format(config.judge_format)
    given = [parse_variant_option(spec) for spec in config.variants]
    if len({v.name for v in given}) != len(given):
        raise InputError("two --variant options share a name; give each --variant a unique name")
    if suite.references and config.engine != "vllm":
        raise InputError(f"suite {suite.name} lists references, which are evaluated here: use --engine vllm")
    references = [reference_variant(name, path) for name, path in suite.references.items()]
    if config.ray is not None:  # join/start the cluster and check it can place the replicas
        from evalrun.runner.ray_cluster import connect

        connect(config.ray, config.options)
    return RunContext(config, suite, data, evals, given, references)
