"""Loading suite files (suites/*.yaml or a path) into a checked `Suite`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..evals.errors import InputError

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
KNOWN_KEYS = {"name", "version", "description", "evals", "categories", "safeguards", "modifications", "gate", "scale"}


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
    suite = Suite(
        name=str(raw.get("name") or path.stem),
        version=int(raw.get("version", 1)),
        path=path,
        description=str(raw.get("description", "")),
        evals=list(raw.get("evals") or []),
        categories=dict(raw.get("categories") or {}),
        safeguards=list(raw.get("safeguards") or []),
        modifications=list(raw.get("modifications") or []),
        gate=dict(raw.get("gate") or {}),
        scale=str(raw.get("scale", "")),
    )
    if not suite.eval_names:
        raise InputError(f"suite file {path}: no evals listed")
    return suite
