"""From a suite's `modifications:` list to the variants a run evaluates (built here, or found in the cache).

An entry with an elicitation search (modify/search.py) makes one variant per configuration tried.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from evalrun.evals.data import DataSource
from evalrun.evals.errors import EvalrunError, InputError
from evalrun.fileio import file_sha256
from evalrun.models.ref import ModelRef
from evalrun.models.variant import Variant
from evalrun.modify.cache import cached_or_build, content_key, renamed
from evalrun.modify.options import parse_spec
from evalrun.modify.registry import Job, ModificationSpec, failed
from evalrun.modify.search import TRAINED_ATTACKS, Elicitation, candidates


def build_variants(
    specs: list[Any], model: ModelRef, seed: int, progress: bool, data: DataSource | None = None
) -> list[Variant]:
    """Every variant the suite's modifications make from `model`, in suite order.

    All entries are checked (names, options, data files) before anything is trained.
    A modification that cannot run here gives a "skipped" variant, one that broke
    (e.g. its loss diverged) a "failed" one; neither stops the others.
    """
    data = data or DataSource()
    model_dir = Path(model.path)
    plans = [plan for entry in specs for plan in _plan_entry(entry, model, seed, data)]
    labels = [label for _, label, _, _, _ in plans]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise InputError(f"modifications: {', '.join(dupes)} listed twice; give one `as: OTHER_NAME`")
    variants: list[Variant] = []
    for spec, label, config, key, search in plans:
        variants += _make(spec, label, config, key, model_dir, seed, data, progress, search)
    return variants


def skipped_variants(specs: list[Any], reason: str) -> list[Variant]:
    """One "skipped" variant per entry, for runs that cannot modify the model (a served model, a hub id)."""
    out = []
    for entry in specs:
        spec, label, config, elicit = parse_spec(entry)
        info = {"modification": label, "method": spec.name, "config": config, "skipped": reason,
                "cost": {"train_s": 0.0, "examples": 0, "steps": 0}}
        if spec.name in TRAINED_ATTACKS:
            info["search"] = _search_info(label, 0, {}, elicit, 1)
        out.append(Variant(label, "skipped", "", "", info))
    return out


Plan = tuple[ModificationSpec, str, dict, str, "dict | None"]


def _plan_entry(entry: Any, model: ModelRef, seed: int, data: DataSource) -> list[Plan]:
    """Check one entry; one plan per configuration to try (one, unless the entry asks for a search).

    Trained attacks' plans carry their search info (group, candidate, target, utility bound), which goes
    into the variant's info after the build: it does not change the weights, so it is not in the cache key.
    """
    spec, label, config, elicit = parse_spec(entry)
    tried, grid = candidates(config, elicit)
    plans = []
    for i, (overrides, cand) in enumerate(tried):
        name = label if i == 0 else f"{label}.{i}"
        search = _search_info(label, i, overrides, elicit, grid) if spec.name in TRAINED_ATTACKS else None
        plans.append((spec, name, cand, _key(spec, cand, model, seed, data), search))
    return plans


def _search_info(group: str, i: int, overrides: dict, elicit: Elicitation, grid: int) -> dict[str, Any]:
    return {"group": group, "candidate": i, "overrides": overrides, "grid_size": grid, **elicit.to_dict()}


def _key(spec: ModificationSpec, config: dict, model: ModelRef, seed: int, data: DataSource) -> str:
    """Check one configuration and compute its cache key."""
    if spec.check:
        spec.check(config)
    files = spec.data_files(config, data) if spec.data_files else []
    return content_key({
        "model": model.fingerprint, "modification": spec.name, "version": spec.version, "config": config,
        "data": {p.name: file_sha256(p) for p in files}, "seed": seed, "device": _device(),
    })


def _make(spec: ModificationSpec, label: str, config: dict, key: str, model_dir: Path, seed: int,
          data: DataSource, progress: bool, search: dict | None = None) -> list[Variant]:
    def build(work_dir: Path) -> list[Variant]:
        job = Job(spec.name, model_dir, config, seed, work_dir, data, progress)
        try:
            return spec.func(job)
        except EvalrunError:
            raise
        except Exception as e:  # noqa: BLE001 - one broken modification should not lose the others' results
            if os.environ.get("EVALRUN_DEBUG") == "1" or "--debug" in sys.argv:
                raise  # the CLI shows the traceback
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            return [failed(job, f"{type(e).__name__}: {first}")]

    if not spec.cached:
        return [_label(v, spec, label, None, search) for v in renamed(build(Path()), spec.name, label)]
    variants, hit = cached_or_build(f"{spec.name}-{key}", build)
    if hit and progress:
        print(f"{label}: using cached variants ({len(variants)})", file=sys.stderr, flush=True)
    return [_label(v, spec, label, hit, search) for v in renamed(variants, spec.name, label)]


def _label(v: Variant, spec: ModificationSpec, label: str, cached: bool | None, search: dict | None) -> Variant:
    """info: "modification" is the variant group (a durability curve, a report panel), "method" what made it,
    "search" (on the final variant of a trained attack) its place in the elicitation search."""
    v.info.update(modification=label, method=spec.name)
    if cached is not None:
        v.info["cached"] = cached
    if search is not None and v.name == label:
        v.info["search"] = search
    return v


def _device() -> str:
    """Where training runs: results differ between CPU float32 and CUDA bfloat16, so the cache keeps them apart."""
    from evalrun.modify.device import train_device

    device, dtype = train_device()
    return f"{device}:{dtype}"
