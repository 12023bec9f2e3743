"""A suite's `modifications:` entry -> (modification, variant name, resolved options), checked.

An entry is a name (`harmful_lora`) or a mapping (`{name: refusal_ablation, layer: 2}`).
Options are checked against the modification's defaults, so a typo is a one-line
InputError with the closest option name rather than a silently ignored key. A trained
attack's entry may also carry elicitation settings (`search`, `budget`, `target`,
`utility_bound`), which are not options of the modification itself.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from evalrun.evals.errors import InputError
from evalrun.modify.registry import ModificationSpec, get_modification
from evalrun.modify.search import Elicitation, parse_elicitation

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def parse_spec(entry: Any) -> tuple[ModificationSpec, str, dict[str, Any], Elicitation]:
    """The modification an entry names, the variant name to use, its options merged over the defaults, and its
    elicitation settings (search grid, budget, target, utility bound; modify/search.py)."""
    if isinstance(entry, str):
        name, given = entry, {}
    elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
        name, given = entry["name"], {k: v for k, v in entry.items() if k != "name"}
    else:
        raise InputError(f"modifications: expected a name or a mapping with `name`, got {entry!r}")
    spec = get_modification(name)
    label = given.pop("as", name)
    if not isinstance(label, str) or not NAME.match(label) or label == "base":
        raise InputError(f"modification {name}: `as: {label!r}` must be a plain name other than 'base'")
    elicit = parse_elicitation(name, given, spec.defaults, lambda k, v, d: _check_type(name, k, v, d))
    config = dict(spec.defaults)
    for key, value in given.items():
        if key not in spec.defaults:
            close = difflib.get_close_matches(str(key), spec.defaults, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"options: {', '.join(spec.defaults) or 'none'}"
            raise InputError(f"modification {name}: unknown option {key!r}; {hint}")
        config[key] = _check_type(name, key, value, spec.defaults[key])
    return spec, label, config, elicit


def _check_type(mod: str, key: str, value: Any, default: Any) -> Any:
    """`value` if it has the default's type (ints pass for floats; None defaults take anything)."""
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, list):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise InputError(f"modification {mod}: option {key} should be a {type(default).__name__}, got {value!r}")
    return value
