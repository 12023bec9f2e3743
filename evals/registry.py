"""The eval registry: built-in evals plus plugins from the `evalrun.evals` entry-point group.

An eval is a factory `f(data: DataSource) -> Eval` decorated with
`@register(name, category=..., version=...)`. A plugin package exposes a module
under the entry-point group `evalrun.evals`; importing it registers its evals.
Factories run only when an eval is used, so listing stays cheap.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import entry_points

from evalrun.evals.core import Eval
from evalrun.evals.data import DataSource
from evalrun.evals.errors import InputError

Factory = Callable[[DataSource], Eval]


@dataclass(frozen=True)
class EvalSpec:
    name: str
    category: str
    version: int
    factory: Factory
    description: str = ""
    hazardous: bool = False


_REGISTRY: dict[str, EvalSpec] = {}
_loaded = False


def register(
    name: str, *, category: str, version: int = 1, hazardous: bool = False
) -> Callable[[Factory], Factory]:
    """Register an eval factory under `name`.

    `hazardous` marks evals whose completions a redacted report must hide.
    """

    def deco(factory: Factory) -> Factory:
        doc = (factory.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = EvalSpec(name, category, version, factory, doc[0] if doc else "", hazardous)
        return factory

    return deco


def _load_plugins() -> None:
    """Import the built-in evals and every `evalrun.evals` entry point, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from evalrun.evals import builtin

    for mod in pkgutil.iter_modules(builtin.__path__):
        importlib.import_module(f"{builtin.__name__}.{mod.name}")
    for ep in entry_points(group="evalrun.evals"):
        ep.load()


def all_specs() -> dict[str, EvalSpec]:
    """Every registered eval by name."""
    _load_plugins()
    return dict(sorted(_REGISTRY.items()))


def get_spec(name: str) -> EvalSpec:
    """The spec of `name`, or an InputError suggesting the closest names."""
    specs = all_specs()
    if name in specs:
        return specs[name]
    close = difflib.get_close_matches(name, specs, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; run `evalrun list` to see the evals"
    raise InputError(f"unknown eval {name!r}{hint}")


def load_eval(name: str, data: DataSource) -> Eval:
    """Build eval `name` from its data, checked: named, non-empty, unique ids, valid targets."""
    spec = get_spec(name)
    ev = replace(
        spec.factory(data),
        name=spec.name,
        version=spec.version,
        category=spec.category,
        description=spec.description,
        hazardous=spec.hazardous,
    )
    if not ev.samples:
        raise InputError(f"eval {name}: no samples")
    seen: set[str] = set()
    for s in ev.samples:
        if s.id in seen:
            raise InputError(f"eval {name}: duplicate sample id {s.id!r}; sample ids must be unique")
        seen.add(s.id)
        if s.choices and s.target not in (s.labels or []):
            raise InputError(
                f"eval {name}: sample {s.id!r} answer {s.target!r} is not one of {', '.join(s.labels or [])}"
            )
    return ev
