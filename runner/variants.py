"""Model variants beyond the base model: ready-made ones from --variant, and how they map onto engines.

Base and every LoRA adapter share one engine (one load, one batched submission); a full checkpoint
or a variant with its own engine arguments (quantization) gets an engine of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from evalrun.models.ref import ModelRef
from evalrun.models.variant import VLLM_LORA_RANKS, Variant


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
