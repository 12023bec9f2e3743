"""Where modifications compute, and in what precision.

CUDA trains in bfloat16. CPU uses float32: CPU vLLM's LoRA kernels crash on
bfloat16 adapters here, and float32 keeps small-model training stable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalrun.models.hf_bars import transformers_bars


def train_device() -> tuple[str, str]:
    """("cuda", "bfloat16") when a GPU is present, else ("cpu", "float32")."""
    import torch

    return ("cuda", "bfloat16") if torch.cuda.is_available() else ("cpu", "float32")


def load_model(model_dir: Path, dtype: str | None = None) -> Any:
    """The base model as a transformers causal LM on the training device (eval mode)."""
    import torch
    from transformers import AutoModelForCausalLM

    device, default_dtype = train_device()
    with transformers_bars(False):
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype or default_dtype))
    return model.to(device).eval()


def load_tokenizer(model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def checkpoint_dtype(model_dir: Path) -> str:
    """The dtype the base checkpoint was saved in (a modified checkpoint keeps it), float32 if unstated."""
    import json

    try:
        cfg = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return "float32"
    dtype = cfg.get("dtype") or cfg.get("torch_dtype") or "float32"
    return dtype if dtype in ("float32", "bfloat16", "float16") else "float32"
