"""Model variants beyond the base model: ready-made ones from --variant, and how they map onto engines.

Base and every LoRA adapter share one engine (one load, one batched submission); a full checkpoint
or a variant with its own engine arguments (quantization) gets an engine of its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..evals.errors import InputError
from .model_ref import ModelRef, check_model_dir, fingerprint_dir
from .plan import Variant

VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def parse_variant_option(spec: str) -> Variant:
    """`name=PATH` from --variant: a peft LoRA adapter dir, or a full checkpoint dir."""
    name, sep, path_str = spec.partition("=")
    if not sep or not NAME.match(name) or name == "base":
        raise InputError(f"--variant {spec!r}: expected NAME=PATH with a name other than 'base'")
    path = Path(path_str).expanduser()
    if (path / "adapter_config.json").is_file():
        lora_rank(path)
        return Variant(name, "lora", str(path.resolve()), fingerprint_dir(path), {"source": "--variant"})
    check_model_dir(path, what=f"--variant {name}")
    return Variant(name, "weights", str(path.resolve()), fingerprint_dir(path), {"source": "--variant"})


def lora_rank(adapter_dir: Path) -> int:
    """The adapter's rank, checked to be one vLLM can load."""
    try:
        cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{adapter_dir}/adapter_config.json is unreadable: {e}") from None
    rank = int(cfg.get("r", 0))
    if rank < 1 or rank > VLLM_LORA_RANKS[-1]:
        raise InputError(f"adapter {adapter_dir} has rank {rank}; vLLM loads ranks 1 to {VLLM_LORA_RANKS[-1]}")
    if cfg.get("use_dora"):
        raise InputError(f"adapter {adapter_dir} is a DoRA adapter, which vLLM cannot load; merge it into a checkpoint")
    if not any((adapter_dir / f).is_file() for f in ("adapter_model.safetensors", "adapter_model.bin")):
        raise InputError(f"adapter {adapter_dir} has no adapter_model.safetensors; the adapter is incomplete")
    return rank


def engine_rank(ranks: list[int]) -> int:
    """The smallest max_lora_rank vLLM accepts that fits every adapter."""
    top = max(ranks, default=1)
    return next(r for r in VLLM_LORA_RANKS if r >= top)


@dataclass
class EngineGroup:
    """One engine load: a model, its extra engine args, and the variants it serves."""

    model_path: str
    engine_args: dict = field(default_factory=dict)
    variants: list[str] = field(default_factory=list)
    loras: dict[str, str] = field(default_factory=dict)


def engine_groups(model: ModelRef, variants: list[Variant]) -> list[EngineGroup]:
    """Group variants by the engine they need, base model's engine first."""
    groups: dict[str, EngineGroup] = {}
    for v in variants:
        if not v.runs:
            continue
        path = v.path if v.kind == "weights" else model.path
        key = json.dumps([path, v.engine_args], sort_keys=True)
        group = groups.setdefault(key, EngineGroup(path, dict(v.engine_args)))
        group.variants.append(v.name)
        if v.kind == "lora":
            group.loras[v.name] = v.path
    return list(groups.values())
