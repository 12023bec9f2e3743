"""The release policy the gate applies: read from --policy FILE or the suite file's `gate:` section.

    gate:
      max_level: high                 # or {biological: medium, cybersecurity: high}
      min_refusal: {jailbreak_refusal: 0.8}
      max_over_refusal: {over_refusal: 0.2}
      min_retention: 0.5
      baseline_tolerance: 0.02
      alpha: 0.05                     # family-wise error of the retention / regression claims (Holm)
      max_detectable_effect: 0.15     # a non-regression pass must be able to see a regression this large
      accept_underpowered: false      # true: checks whose CI cannot resolve their threshold may pass

A policy file is either that mapping or a whole suite file with a `gate:` key.
Anything unknown or mistyped is an InputError (exit 2): a gate that silently
ignores a misspelt rule would pass releases it should stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError

KEYS = ("max_level", "min_refusal", "max_over_refusal", "min_retention", "baseline_tolerance", "alpha",
        "max_detectable_effect", "accept_underpowered")


@dataclass
class Policy:
    source: str
    max_level: str | dict[str, str] | None = None
    min_refusal: dict[str, float] = field(default_factory=dict)
    max_over_refusal: dict[str, float] = field(default_factory=dict)
    min_retention: float | None = None
    baseline_tolerance: float | None = None
    alpha: float = 0.05  # family-wise error rate of the retention and regression claims (Holm)
    max_detectable_effect: float = 0.15  # a non-regression pass needs the power to see a regression this large
    accept_underpowered: bool = False  # let checks whose CI cannot resolve their threshold pass (not fail closed)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in KEYS if getattr(self, k) not in (None, {})}


def _fraction(where: str, x: Any, upper: float | None = 1.0) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or x < 0 or (upper is not None and x > upper):
        bound = f"between 0 and {upper}" if upper is not None else "0 or more"
        raise InputError(f"{where}: expected a number {bound}, got {x!r}")
    return float(x)


def _per_eval(where: str, x: Any) -> dict[str, float]:
    if not isinstance(x, dict) or not x:
        raise InputError(f"{where}: expected a mapping of eval name to a rate, e.g. {{my_eval: 0.9}}")
    return {str(k): _fraction(f"{where}.{k}", v) for k, v in x.items()}


def parse(raw: Any, source: str) -> Policy:
    """A checked Policy from the `gate:` mapping."""
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"gate policy in {source}: expected a mapping with any of {', '.join(KEYS)}")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise InputError(f"gate policy in {source}: unknown key(s) {', '.join(map(str, unknown))}; "
                         f"known: {', '.join(KEYS)}")
    policy = Policy(source)
    if "max_level" in raw:
        ml = raw["max_level"]
        if isinstance(ml, str) and ml.strip():
            policy.max_level = ml.strip()
        elif isinstance(ml, dict) and ml and all(isinstance(v, str) and v.strip() for v in ml.values()):
            policy.max_level = {str(k): v.strip() for k, v in ml.items()}
        else:
            raise InputError(f"gate policy in {source}: max_level must be a level name or {{category: level}}")
    if "min_refusal" in raw:
        policy.min_refusal = _per_eval(f"gate policy in {source}: min_refusal", raw["min_refusal"])
    if "max_over_refusal" in raw:
        policy.max_over_refusal = _per_eval(f"gate policy in {source}: max_over_refusal", raw["max_over_refusal"])
    if "min_retention" in raw:
        policy.min_retention = _fraction(f"gate policy in {source}: min_retention", raw["min_retention"], None)
    if "alpha" in raw:
        policy.alpha = _fraction(f"gate policy in {source}: alpha", raw["alpha"], 0.5)
    if "max_detectable_effect" in raw:
        policy.max_detectable_effect = _fraction(f"gate policy in {source}: max_detectable_effect",
                                                 raw["max_detectable_effect"])
    if "accept_underpowered" in raw:
        if not isinstance(raw["accept_underpowered"], bool):
            raise InputError(f"gate policy in {source}: accept_underpowered must be true or false")
        policy.accept_underpowered = raw["accept_underpowered"]
    if "baseline_tolerance" in raw:
        policy.baseline_tolerance = _fraction(f"gate policy in {source}: baseline_tolerance",
                                              raw["baseline_tolerance"])
    return policy


def load_file(path: Path) -> Policy:
    """A policy from a YAML file: the mapping itself, or a suite file's `gate:` section."""
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"policy file {path} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read policy file {path}: {e}") from None
    except yaml.YAMLError as e:
        raise InputError(f"policy file {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if isinstance(raw, dict) and "gate" in raw:
        if not raw["gate"]:
            raise InputError(f"{path} has an empty `gate:` section; nothing to check")
        raw = raw["gate"]
    return parse(raw, str(path))


def for_run(manifest: dict[str, Any], policy_file: Path | None) -> Policy:
    """--policy FILE if given, else the `gate:` section of the suite file the manifest records."""
    if policy_file is not None:
        return load_file(policy_file)
    suite_path = (manifest.get("suite") or {}).get("path")
    if not suite_path:
        raise InputError("no --policy given and the manifest records no suite file; pass --policy FILE")
    path = Path(suite_path)
    if not path.is_file():
        raise InputError(f"the run's suite file {path} is not here; pass --policy FILE")
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise InputError(f"cannot read the run's suite file {path}: {str(e).splitlines()[0]}") from None
    gate = raw.get("gate") if isinstance(raw, dict) else None
    if not gate:
        raise InputError(f"suite file {path} has no `gate:` section; add one or pass --policy FILE")
    return parse(gate, f"{path} (gate:)")
