"""Checking variants before an engine is started with them: a LoRA adapter against its base model, a checkpoint
for completeness.

vLLM fails late and obscurely on an adapter made for another model, or on a
sharded checkpoint with a shard missing; these checks say so in one line,
naming the file and what disagrees.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from evalrun.evals.errors import InputError
from evalrun.models.ref import check_model_dir
from evalrun.models.variant import VLLM_LORA_RANKS, lora_rank

# What each projection reads (in) and writes (out), by base-config size name.
SHAPES = {
    "q_proj": ("hidden", "q"), "k_proj": ("hidden", "kv"), "v_proj": ("hidden", "kv"), "o_proj": ("q", "hidden"),
    "gate_proj": ("hidden", "inter"), "up_proj": ("hidden", "inter"), "down_proj": ("inter", "hidden"),
}
KEY = re.compile(r"\.(?P<module>\w+)\.lora_(?P<ab>[AB])(?:\.default)?\.weight$")


def check_adapter(adapter_dir: Path, base_model_dir: Path, max_rank: int | None = None) -> int:
    """The adapter's rank, after checking it fits the base model; InputError otherwise.

    Checks: a loadable peft adapter (runner/variants.py:lora_rank), rank within
    `max_rank` (the engine's limit, default vLLM's largest), no bias or
    modules_to_save vLLM rejects, and every lora_A/lora_B shape matching the
    base model's hidden / attention / MLP sizes.
    """
    from safetensors import safe_open

    adapter_dir, base_model_dir = Path(adapter_dir), Path(base_model_dir)
    rank = lora_rank(adapter_dir)
    limit = max_rank or VLLM_LORA_RANKS[-1]
    if rank > limit:
        raise InputError(f"adapter {adapter_dir} has rank {rank}, above the engine's max_lora_rank {limit}")
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    if cfg.get("bias", "none") != "none":
        raise InputError(f"adapter {adapter_dir} trains biases (bias={cfg['bias']!r}), which vLLM cannot load")
    extra = [m for m in cfg.get("modules_to_save") or [] if m not in ("classifier", "score")]
    if extra:
        raise InputError(f"adapter {adapter_dir} saves whole modules ({', '.join(extra)}), which vLLM cannot load; "
                         f"merge it into a checkpoint instead")
    sizes = _base_sizes(base_model_dir)
    weights = adapter_dir / "adapter_model.safetensors"
    if not weights.is_file():
        return rank  # a .bin adapter: shapes unchecked here (vLLM checks them when loading)
    with safe_open(str(weights), framework="pt") as f:
        for key in f.keys():  # noqa: SIM118 - safe_open has no __iter__
            m = KEY.search(key)
            if not m or m["module"] not in SHAPES:
                continue
            rows, cols = f.get_slice(key).get_shape()
            d_in, d_out = (sizes[s] for s in SHAPES[m["module"]])
            want = (rank, d_in) if m["ab"] == "A" else (d_out, rank)
            if (rows, cols) != want:
                raise InputError(
                    f"adapter {adapter_dir} does not fit {base_model_dir.name}: {key} is {rows}x{cols}, the base "
                    f"model needs {want[0]}x{want[1]}; was it trained for another model?")
    return rank


def _base_sizes(model_dir: Path) -> dict[str, int]:
    try:
        cfg = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {model_dir}/config.json: {e}") from None
    cfg = cfg.get("text_config", cfg)
    try:
        hidden, heads = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
        head_dim = int(cfg.get("head_dim") or hidden // heads)
        return {"hidden": hidden, "q": heads * head_dim,
                "kv": int(cfg.get("num_key_value_heads") or heads) * head_dim,
                "inter": int(cfg.get("intermediate_size") or 0)}
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{model_dir}/config.json lacks the sizes an adapter is checked against ({e})") from None


def check_checkpoint(checkpoint_dir: Path) -> None:
    """An InputError unless `checkpoint_dir` is a complete model directory (config, weights, every indexed shard)."""
    checkpoint_dir = Path(checkpoint_dir)
    check_model_dir(checkpoint_dir, what="checkpoint")
    for index in checkpoint_dir.glob("*.index.json"):
        try:
            weight_map = json.loads(index.read_text()).get("weight_map", {})
        except (OSError, ValueError) as e:
            raise InputError(f"{index} is unreadable: {e}") from None
        missing = sorted({f for f in weight_map.values() if not (checkpoint_dir / f).is_file()})
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise InputError(f"checkpoint {checkpoint_dir} is incomplete: {missing[0]}{more} listed in {index.name} "
                             f"is missing")
