"""A model the run evaluates: the base model or one of its variants, and ready-made variants from --variant."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError
from evalrun.models.ref import check_model_dir, fingerprint_dir


@dataclass(frozen=True)
class Variant:
    """A model the run evaluates: the base model, or a modification of it.

    `kind` is "base", "lora" (an adapter loaded on the base model in the same
    engine), "weights" (a full checkpoint, which needs its own engine),
    "skipped" or "failed" (not evaluated; the reason is kept in `info`).
    `engine_args` (e.g. a quantization method) also need an engine of their own.
    """

    name: str
    kind: str = "base"
    path: str = ""
    fingerprint: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    engine_args: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_reference(self) -> bool:
        """A reference model (another open-weight release), not a variant of the candidate."""
        return self.info.get("role") == "reference"

    @property
    def runs(self) -> bool:
        """False for a modification that could not be made here (info["skipped"]) or failed (info["error"])."""
        return self.kind not in ("skipped", "failed")


BASE = Variant("base")


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
    rank = cfg.get("r", 0) if isinstance(cfg, dict) else 0
    if isinstance(rank, bool) or not isinstance(rank, int):
        raise InputError(f"{adapter_dir}/adapter_config.json: rank r is {rank!r}, not a whole number")
    if rank < 1 or rank > VLLM_LORA_RANKS[-1]:
        raise InputError(f"adapter {adapter_dir} has rank {rank}; vLLM loads ranks 1 to {VLLM_LORA_RANKS[-1]}")
    if cfg.get("use_dora"):
        raise InputError(f"adapter {adapter_dir} is a DoRA adapter, which vLLM cannot load; merge it into a checkpoint")
    if not any((adapter_dir / f).is_file() for f in ("adapter_model.safetensors", "adapter_model.bin")):
        raise InputError(f"adapter {adapter_dir} has no adapter_model.safetensors; the adapter is incomplete")
    return rank




def reference_variant(name: str, path: str) -> Variant:
    """A suite's reference model, evaluated on the same samples in its own engine (`ref_NAME` in results)."""
    model_dir = Path(path)
    check_model_dir(model_dir, what=f"reference {name}")
    return Variant(f"ref_{name}", "weights", str(model_dir.resolve()), fingerprint_dir(model_dir),
                   {"role": "reference", "reference": name})
