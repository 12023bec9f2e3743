"""The modification registry: built-in modifications plus plugins from the `evalrun.modifications` entry points.

A modification is a function `f(job: Job) -> list[Variant]` decorated with
`@register_modification(name, defaults={...})`. `defaults` is its whole option
schema: a suite may set only these keys (plus `as`, the variant name), and each
value must have the default's type; `check` rejects bad values before any work
starts, and `data_files` names the files whose content goes into the cache key.
A plugin package exposes a module under the entry-point group
`evalrun.modifications`; importing it registers its modifications.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalrun.evals.data import DataSource
from evalrun.evals.plugins import Registry
from evalrun.models.variant import Variant

BUILTIN_MODULES = ("lora", "full", "ablation", "quantize")


@dataclass
class Job:
    """What a modification gets: the base model dir, its resolved options, a seed and a dir to write into."""

    name: str  # the variant name (the modification's name unless the suite set `as`)
    model_dir: Path
    config: dict[str, Any]
    seed: int
    work_dir: Path
    data: DataSource = field(default_factory=DataSource)
    progress: bool = False


DataFiles = Callable[[dict[str, Any], DataSource], list[Path]]


@dataclass(frozen=True)
class ModificationSpec:
    name: str
    func: Callable[[Job], list[Variant]]
    defaults: dict[str, Any]
    version: int = 1
    description: str = ""
    data_files: DataFiles | None = None  # the files whose content the result depends on (part of the cache key)
    cached: bool = True  # False for modifications that write nothing (e.g. engine-side quantization)
    check: Callable[[dict[str, Any]], None] | None = None  # InputError on bad option values, before any work


def _load_builtins() -> None:
    for mod in BUILTIN_MODULES:
        importlib.import_module(f"{__package__}.{mod}")


MODIFICATIONS: Registry[ModificationSpec] = Registry(
    "modification", "evalrun.modifications", _load_builtins, lambda names: f"known modifications: {', '.join(names)}")


def register_modification(
    name: str,
    *,
    defaults: dict[str, Any] | None = None,
    version: int = 1,
    data_files: DataFiles | None = None,
    cached: bool = True,
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Callable[[Callable[[Job], list[Variant]]], Callable[[Job], list[Variant]]]:
    """Register a modification under `name`; bump `version` when its output changes for the same options."""

    def deco(func: Callable[[Job], list[Variant]]) -> Callable[[Job], list[Variant]]:
        doc = (func.__doc__ or "").strip().splitlines()
        MODIFICATIONS.add(name, ModificationSpec(name, func, dict(defaults or {}), version, doc[0] if doc else "",
                                                 data_files, cached, check))
        return func

    return deco


def all_modifications() -> dict[str, ModificationSpec]:
    """Every registered modification by name."""
    return dict(sorted(MODIFICATIONS.all().items()))


def get_modification(name: str) -> ModificationSpec:
    """The spec of `name`, or an InputError suggesting the closest names."""
    return MODIFICATIONS.get(name)


def failed(job: Job, reason: str) -> Variant:
    """A variant recording why a modification could not be made (not evaluated; the run exits 1 with `reason`)."""
    return Variant(job.name, "failed", "", "", {"modification": job.name, "config": job.config,
                                                 "error": f"{job.name}: {reason}",
                                                 "cost": {"train_s": 0.0, "examples": 0, "steps": 0}})
