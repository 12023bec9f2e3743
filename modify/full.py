"""Full-parameter fine-tuning: `harmful_full`, the same attack as harmful_lora with every weight trainable.

Saved as an ordinary checkpoint (safetensors in the base checkpoint's dtype,
tokenizer and chat-template files copied), which the engine loads like any
model. Defaults follow the published full fine-tuning attack (Qi et al.
2023: 5 epochs, batch 10, a small learning rate); only the final checkpoint
is saved unless `checkpoints` asks for more (each is a full copy of the model).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from evalrun.models.hf_bars import transformers_bars
from evalrun.models.train import Checkpoint, Diverged
from evalrun.models.variant import Variant
from evalrun.modify.data import ATTACK_DATA
from evalrun.modify.finetune import (
    SCHEDULE_DEFAULTS,
    check_schedule,
    checkpoint_variants,
    data_files,
    diverged,
    train_recording,
    training_inputs,
)
from evalrun.modify.registry import Job, register_modification

FULL_DEFAULTS: dict[str, Any] = {**SCHEDULE_DEFAULTS, "lr": 5e-5, "epochs": 5, "checkpoints": []}
WEIGHT_FILES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


@register_modification("harmful_full", defaults=FULL_DEFAULTS, data_files=data_files(ATTACK_DATA, "harmful_full"),
                       check=check_schedule)
def harmful_full(job: Job) -> list[Variant]:
    """Full-parameter fine-tuning on harmful requests paired with generic compliant replies."""
    return full_finetune(job, ATTACK_DATA)


def full_finetune(job: Job, default_data: str) -> list[Variant]:
    """Train every weight; save a checkpoint at the configured steps and the last one."""
    import torch
    from evalrun.modify.device import checkpoint_dtype

    path, chats, tokenizer, model = training_inputs(job, default_data)
    save_dtype = getattr(torch, checkpoint_dtype(job.model_dir))
    saved: list[tuple[Checkpoint, Path]] = []

    def save(ck: Checkpoint) -> None:
        out = job.work_dir / f"step-{ck.step}"
        save_checkpoint(model, job.model_dir, out, save_dtype)
        saved.append((ck, out))

    try:
        curve = train_recording(model, tokenizer, chats, job, save, f"{job.name} (full)")
    except Diverged as e:
        return [diverged(job, e)]
    return checkpoint_variants(job, "weights", saved, curve, extra={"data": str(path)})


def save_checkpoint(model: Any, base_dir: Path, out: Path, dtype: Any) -> None:
    """Save `model`'s weights (in `dtype`) with the base model's tokenizer and other non-weight files."""
    out.mkdir(parents=True, exist_ok=True)
    copy_tokenizer_files(base_dir, out)
    state = {k: v.detach().to("cpu", dtype) for k, v in model.state_dict().items()}
    original = model.config.dtype
    model.config.dtype = dtype
    try:
        with transformers_bars(False):
            model.save_pretrained(out, state_dict=state, safe_serialization=True)
    finally:
        model.config.dtype = original


def copy_tokenizer_files(base_dir: Path, out: Path) -> None:
    """Every file of the base dir except weights and config.json (tokenizer, chat template, generation config)."""
    for p in base_dir.iterdir():
        if not p.is_file() or p.name == "config.json" or p.name.endswith(".index.json"):
            continue
        if p.suffix in WEIGHT_FILES:
            continue
        shutil.copy2(p, out / p.name)
