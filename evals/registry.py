"""The eval registry: built-in evals plus plugins from the `evalrun.evals` entry-point group.

An eval is a factory `f(data: DataSource) -> Eval` decorated with
`@register(name, category=..., version=...)`. A plugin package exposes a module
under the entry-point group `evalrun.evals`; importing it registers its evals.
Factories run only when an eval is used, so listing stays cheap.

Options: a suite entry `{eval: harmbench, split: test}` passes `split="test"`
to the factory. A factory declares the options it accepts as keyword-only
parameters (`def harmbench(data, *, split: Literal["val", "test", "all"] =
"val", path: str | None = None)`); anything else is an InputError naming
what it accepts, and a `Literal` annotation is checked against its values.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from evalrun.evals.core import Eval
from evalrun.evals.data import DataSource
from evalrun.evals.errors import InputError
from evalrun.evals.plugins import Registry

Factory = Callable[..., Eval]


@dataclass(frozen=True)
class EvalSpec:
    name: str
    category: str
    version: int
    factory: Factory
    description: str = ""
    hazardous: bool = False


def _load_builtins() -> None:
    from evalrun.evals import builtin

    for mod in pkgutil.iter_modules(builtin.__path__):
        importlib.import_module(f"{builtin.__name__}.{mod.name}")


EVALS: Registry[EvalSpec] = Registry("eval", "evalrun.evals", _load_builtins, "run `evalrun list` to see the evals")


def register(
    name: str, *, category: str, version: int = 1, hazardous: bool = False
) -> Callable[[Factory], Factory]:
    """Register an eval factory under `name` (an InputError if other code already registered that name).

    `hazardous` marks evals whose completions a redacted report must hide.
    """

    def deco(factory: Factory) -> Factory:
        doc = (factory.__doc__ or "").strip().splitlines()
        EVALS.add(name, EvalSpec(name, category, version, factory, doc[0] if doc else "", hazardous))
        return factory

    return deco


def all_specs() -> dict[str, EvalSpec]:
    """Every registered eval by name."""
    return dict(sorted(EVALS.all().items()))


def get_spec(name: str) -> EvalSpec:
    """The spec of `name`, or an InputError suggesting the closest names."""
    return EVALS.get(name)


def accepted_options(name: str) -> dict[str, Any]:
    """The options eval `name` accepts: keyword-only parameter name -> its type hint (Any when unannotated)."""
    factory = get_spec(name).factory
    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # a plugin's unresolvable annotation: accept the option, check nothing
        hints = {}
    return {p.name: hints.get(p.name, Any) for p in inspect.signature(factory).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def option_choices(name: str) -> dict[str, tuple[Any, ...]]:
    """The options of `name` that take one of a fixed set of values (a `Literal` hint), with the values."""
    return {k: typing.get_args(h) for k, h in accepted_options(name).items() if typing.get_origin(h) is typing.Literal}


TRANSFORMS_OPTION = "transforms"  # any eval: prompt transforms (attacks) applied to its samples (evals/transforms.py)


def check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """`options` checked against what eval `name` accepts (Literal values matched as text, so 500 == "500").

    Every eval also accepts `transforms: [...]` (e.g. `[none, role_play, prefill, {name: sampling, n: 16}]`):
    its samples are asked once per transform, and the per-sample worst case ranges over them.
    """
    accepted = accepted_options(name)
    out = {}
    for key, value in options.items():
        if key == TRANSFORMS_OPTION:
            from evalrun.evals.transforms import resolve

            if not isinstance(value, list) or not value:
                raise InputError(f"eval {name}: transforms must be a list, e.g. [none, role_play, prefill]")
            resolve(value, where=f"eval {name}: ")  # unknown names and bad options fail here
            out[key] = value
            continue
        if key not in accepted:
            known = ", ".join(sorted(accepted)) or "none"
            raise InputError(f"eval {name}: unknown option {key!r}; it accepts: {known}")
        hint = accepted[key]
        if typing.get_origin(hint) is typing.Literal:
            allowed = typing.get_args(hint)
            match = [a for a in allowed if str(a) == str(value)]
            if not match:
                raise InputError(f"eval {name}: {key} {value!r} is not one of {', '.join(map(str, allowed))}")
            value = match[0]
        elif hint in (str, str | None) and not isinstance(value, str):
            raise InputError(f"eval {name}: {key} should be text (a file path), got {value!r}")
        out[key] = value
    return out


def limit_samples(ev: Eval, limit: int | None) -> Eval:
    """The first `limit` samples in a stable pseudo-random order (balanced across kinds, same every run)."""
    if not limit or limit >= len(ev.samples):
        return ev
    ordered = sorted(ev.samples, key=lambda s: hashlib.sha256(s.id.encode()).hexdigest())
    keep = {s.id for s in ordered[:limit]}
    return replace(ev, samples=[s for s in ev.samples if s.id in keep])


def _counted_targets(ev: Eval) -> set[str] | None:
    """The sample targets the eval's metrics count, when every metric filters on the target; else None."""
    wheres = [m.definition.where for m in ev.metrics]
    if not wheres or any(w is None or w.field != "target" for w in wheres):
        return None
    return {v for w in wheres for v in w.values}


def load_eval(name: str, data: DataSource, options: dict[str, Any] | None = None, limit: int | None = None) -> Eval:
    """Build eval `name` (with the suite's `options`) from its data, checked: named, non-empty, unique ids,
    valid targets. The files it reads are recorded in `data` under `name`. `limit` keeps a stable subset of
    the eval's prompts, before any transforms, so every kept prompt meets every attack."""
    spec = get_spec(name)
    kwargs = check_options(name, options or {})
    transforms = kwargs.pop(TRANSFORMS_OPTION, None)
    with data.reading_for(name):
        built = spec.factory(data, **kwargs)
    ev = replace(
        built,
        name=spec.name,
        version=spec.version,
        category=spec.category,
        description=spec.description,
        hazardous=spec.hazardous,
    )
    ev = limit_samples(ev, limit)
    if transforms:
        from evalrun.evals.transforms import apply_transforms

        ev = apply_transforms(ev, transforms, source=name)
    if not ev.samples:
        raise InputError(f"eval {name}: no samples")
    counted = _counted_targets(ev)
    seen: set[str] = set()
    for s in ev.samples:
        if counted is not None and str(s.target) not in counted:
            raise InputError(f"eval {name}: sample {s.id!r} has target {s.target!r}, which no metric counts "
                             f"(they count {', '.join(sorted(counted))}); fix the data file's label")
        if s.id in seen:
            raise InputError(f"eval {name}: duplicate sample id {s.id!r}; sample ids must be unique")
        seen.add(s.id)
        if s.choices and s.target not in (s.labels or []):
            raise InputError(
                f"eval {name}: sample {s.id!r} answer {s.target!r} is not one of {', '.join(s.labels or [])}"
            )
    return ev
