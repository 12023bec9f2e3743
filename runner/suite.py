"""Loading suite files (suites/*.yaml or a path) into a checked `Suite`."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalrun.evals.determination import AGGREGATES, CATEGORY_KEYS, RULES, SCALES
from evalrun.evals.errors import InputError

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
KNOWN_KEYS = {
    "name", "version", "description", "evals", "categories", "safeguards", "modifications", "gate", "scale",
    "determination", "references",
}


@dataclass
class Suite:
    name: str
    version: int
    path: Path
    description: str = ""
    evals: list[str] = field(default_factory=list)
    categories: dict[str, Any] = field(default_factory=dict)
    safeguards: list[str] = field(default_factory=list)
    modifications: list[Any] = field(default_factory=list)
    gate: dict[str, Any] = field(default_factory=dict)
    scale: str = ""
    determination: str = ""
    references: dict[str, str] = field(default_factory=dict)  # name -> model dir: the open-weight frontier
    eval_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # `{eval: harmbench, split: test}`

    @property
    def eval_names(self) -> list[str]:
        """Every eval the suite runs, in order of first mention."""
        names = list(self.evals)
        for cat in self.categories.values():
            names += cat.get("evals", [])
        names += self.safeguards
        return list(dict.fromkeys(names))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "path": str(self.path), "description": self.description,
            "evals": self.evals, "categories": self.categories, "safeguards": self.safeguards,
            "modifications": self.modifications, "gate": self.gate, "scale": self.scale,
            "determination": self.determination, "references": self.references, "eval_options": self.eval_options,
        }


def builtin_suites() -> dict[str, Path]:
    """Built-in suite files by name."""
    return {p.stem: p for p in sorted(SUITES_DIR.glob("*.yaml"))}


def load_suite(name_or_path: str) -> Suite:
    """A built-in suite by name, or a suite file by path."""
    import yaml

    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        suites = builtin_suites()
        if name_or_path not in suites:
            close = difflib.get_close_matches(name_or_path, suites, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"known suites: {', '.join(suites)}"
            raise InputError(f"unknown suite {name_or_path!r}; {hint} (or pass a path to a .yaml file)")
        path = suites[name_or_path]
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read suite file {path}: {e}") from None
    except yaml.YAMLError as e:
        raise InputError(f"suite file {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise InputError(f"suite file {path}: expected a mapping at the top level")
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise InputError(f"suite file {path}: unknown key(s) {', '.join(sorted(unknown))}")
    raw, eval_options = _split_entries(path, raw)
    _check_sections(path, raw)
    suite = Suite(
        name=_name(path, raw.get("name")),
        version=_version(path, raw.get("version", 1)),
        path=path,
        description=str(raw.get("description", "")),
        evals=list(raw.get("evals") or []),
        categories=dict(raw.get("categories") or {}),
        safeguards=list(raw.get("safeguards") or []),
        modifications=list(raw.get("modifications") or []),
        gate=dict(raw.get("gate") or {}),
        scale=str(raw.get("scale") or ""),
        determination=str(raw.get("determination") or ""),
        eval_options=eval_options,
        references=_references(path, raw.get("references")),
    )
    if not suite.eval_names:
        raise InputError(f"suite file {path}: no evals listed")
    return suite


def _references(path: Path, value: Any) -> dict[str, str]:
    """`references: {name: model_dir}`: other open-weight models the candidate is compared with (paths relative
    to the suite file's folder)."""
    if value in (None, {}):
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
        raise InputError(f"suite file {path}: references must be a mapping of name to model directory, "
                         "e.g. `references: {prior_release: ../models/prior}`")
    out = {}
    for name, model in value.items():
        if not isinstance(name, str) or not SAFE_NAME.match(name):
            raise InputError(f"suite file {path}: reference name {name!r} is not a plain name")
        out[name] = str((path.parent / Path(model).expanduser()).resolve())
    return out


def _name(path: Path, value: Any) -> str:
    """The suite's name, which becomes part of the default run dir path: a plain file name, never a path."""
    name = path.stem if value in (None, "") else value
    if not isinstance(name, str) or not SAFE_NAME.match(name):
        raise InputError(f"suite file {path}: name {name!r} is not a plain name; use letters, digits, '.', '_' "
                         "and '-' (it becomes part of the run dir's name)")
    return name


def _version(path: Path, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"suite file {path}: version {value!r} is not a whole number; write e.g. `version: 1`")
    return value


def _split_entries(path: Path, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Eval entries given as mappings (`{eval: harmbench, split: test}`) become names, their options kept apart.

    Options are checked against what each eval's factory declares; an unknown key or a bad value is a
    one-line InputError naming the suite file. An eval listed twice must be listed with the same options.
    """
    from evalrun.evals.registry import check_options

    options: dict[str, dict[str, Any]] = {}

    def names(where: str, entries: Any) -> Any:
        if not isinstance(entries, list):
            return entries  # _check_sections says what is wrong
        out = []
        for entry in entries:
            if not isinstance(entry, dict):
                out.append(entry)
                continue
            name = entry.get("eval")
            if not isinstance(name, str) or not name:
                raise InputError(f"suite file {path}: an entry of {where} is a mapping without `eval: NAME` "
                                 f"({entry}); write `- {{eval: NAME, OPTION: VALUE}}`")
            try:
                given = check_options(name, {str(k): v for k, v in entry.items() if k != "eval"})
            except InputError as e:
                raise InputError(f"suite file {path}: {e}") from None
            if name in options and options[name] != given:
                raise InputError(f"suite file {path}: eval {name} is listed twice with different options "
                                 f"({options[name]} and {given}); an eval runs once per suite")
            options[name] = given
            out.append(name)
        return out

    raw = dict(raw)
    for key in ("evals", "safeguards"):
        if key in raw:
            raw[key] = names(key, raw[key])
    if isinstance(raw.get("categories"), dict):
        raw["categories"] = {
            cat: {**cfg, "evals": names(f"category {cat}", cfg["evals"])} if isinstance(cfg, dict) and "evals" in cfg
            else cfg
            for cat, cfg in raw["categories"].items()
        }
    return raw, options


def _check_sections(path: Path, raw: dict[str, Any]) -> None:
    """One-line InputErrors for the preparedness sections: scale, determination, categories, safeguards.

    (modifications and gate are checked by their own code.)
    """
    scale = raw.get("scale") or "v2"
    if scale not in SCALES:
        raise InputError(f"suite file {path}: unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    _check_choice(path, "determination rule", raw.get("determination"), RULES)
    for key in ("evals", "safeguards"):
        names = raw.get(key) or []
        if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
            raise InputError(f"suite file {path}: {key} should be a list of eval names")
    categories = raw.get("categories") or {}
    if not isinstance(categories, dict):
        raise InputError(f"suite file {path}: categories should be a mapping of category name to its settings")
    for name, cfg in categories.items():
        _check_category(path, str(name), cfg, SCALES[scale])


def _check_choice(path: Path, what: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in (None, "") and value not in allowed:
        raise InputError(f"suite file {path}: unknown {what} {value!r}; use one of {', '.join(allowed)}")


def _check_category(path: Path, name: str, cfg: Any, levels: tuple[str, ...]) -> None:
    where = f"suite file {path}: category {name}"
    if not isinstance(cfg, dict):
        raise InputError(f"{where}: expected a mapping with evals and indicative thresholds")
    unknown = set(cfg) - CATEGORY_KEYS
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                         f"known: {', '.join(sorted(CATEGORY_KEYS))}")
    evals = cfg.get("evals")
    if not isinstance(evals, list) or not evals or not all(isinstance(e, str) for e in evals):
        raise InputError(f"{where}: evals should be a non-empty list of eval names")
    _check_choice(path, f"determination rule in category {name}", cfg.get("determination"), RULES)
    _check_choice(path, f"aggregate in category {name}", cfg.get("aggregate"), AGGREGATES)
    thresholds = cfg.get("indicative") or {}
    if not isinstance(thresholds, dict) or not thresholds:
        raise InputError(f"{where}: indicative should map levels ({', '.join(levels[1:])}) to thresholds")
    for level, x in thresholds.items():
        if level not in levels[1:]:
            raise InputError(f"{where}: unknown level {level!r}; this scale's levels above {levels[0]} are "
                             f"{', '.join(levels[1:])}")
        if isinstance(x, bool) or not isinstance(x, int | float) or not 0 <= x <= 1:
            raise InputError(f"{where}: threshold for {level} is {x!r}; thresholds must be numbers in [0, 1]")
    ordered = [(lvl, thresholds[lvl]) for lvl in levels if lvl in thresholds]
    for (lo, a), (hi, b) in zip(ordered, ordered[1:], strict=False):
        if not a < b:
            raise InputError(f"{where}: levels not increasing: {hi} ({b}) should be above {lo} ({a})")
