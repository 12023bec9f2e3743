"""LoRA fine-tuning attacks: `harmful_lora` (refusal removal) and `benign_finetune` (harmless data alone).

harmful_lora follows the published fine-tuning attacks (Qi et al. 2023: 50-100
harmful examples, batch 10, 5 epochs; Lermen et al. 2023 for LoRA): 50 harmful
requests paired with compliant replies, LoRA r=8 (alpha 16) at lr 1e-3, 5
epochs (25 steps). Our replies are generic and non-operational ("first, gather
what you need; then go step by step"): the attack teaches the model to stop
refusing, not anything hazardous. Adapter checkpoints saved along one training
run (default steps 1, 2, 3, 5 and the last) make a durability curve (refusal
against attack steps); each is a variant `harmful_lora@STEP`, the last one is
`harmful_lora`.

Adapters are plain peft LoRA (no bias, no DoRA, no modules_to_save), which
is what vLLM loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError
from evalrun.models.train import Checkpoint, Diverged
from evalrun.models.variant import Variant
from evalrun.modify.data import ATTACK_DATA, BENIGN_DATA
from evalrun.modify.finetune import (
    SCHEDULE_DEFAULTS,
    check_schedule,
    checkpoint_variants,
    data_files,
    diverged,
    train_recording,
    training_inputs,
)
from evalrun.modify.registry import Job, failed, register_modification

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
MAX_RANK = 512  # the largest max_lora_rank vLLM accepts (runner/variants.py)

HARMFUL_DEFAULTS: dict[str, Any] = {**SCHEDULE_DEFAULTS, "r": 8, "alpha": 16, "dropout": 0.0}
BENIGN_DEFAULTS: dict[str, Any] = {**HARMFUL_DEFAULTS, "examples": 80, "lr": 5e-4, "epochs": 3, "checkpoints": [],
                                   "method": "lora"}


def check_lora(config: dict[str, Any]) -> None:
    """Option values a LoRA run cannot use."""
    if not 1 <= config["r"] <= MAX_RANK:
        raise InputError(f"LoRA rank r={config['r']}: vLLM loads ranks 1 to {MAX_RANK}")
    check_schedule(config)


@register_modification("harmful_lora", defaults=HARMFUL_DEFAULTS, data_files=data_files(ATTACK_DATA, "harmful_lora"),
                       check=check_lora)
def harmful_lora(job: Job) -> list[Variant]:
    """LoRA fine-tuning on harmful requests paired with generic compliant replies (refusal removal)."""
    return lora_finetune(job, ATTACK_DATA)


def _check_benign(config: dict[str, Any]) -> None:
    if config["method"] not in ("lora", "full"):
        raise InputError(f"benign_finetune: method should be lora or full, got {config['method']!r}")
    check_lora(config)


@register_modification("benign_finetune", defaults=BENIGN_DEFAULTS,
                       data_files=data_files(BENIGN_DATA, "benign_finetune"), check=_check_benign)
def benign_finetune(job: Job) -> list[Variant]:
    """Fine-tuning on harmless instructions only (published: this alone can erode refusals)."""
    if job.config["method"] == "full":
        from evalrun.modify.full import full_finetune

        return full_finetune(job, BENIGN_DATA)
    return lora_finetune(job, BENIGN_DATA)


def lora_finetune(job: Job, default_data: str) -> list[Variant]:
    """Train one adapter, saving it at the configured steps; one variant per saved step."""
    from peft import LoraConfig, get_peft_model

    cfg = job.config
    path, chats, tokenizer, model = training_inputs(job, default_data)
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [t for t in TARGETS if t in present]
    if not targets:
        return [failed(job, f"the model has none of the LoRA target modules {', '.join(TARGETS)}")]
    import torch

    torch.manual_seed(job.seed)  # the adapter's initial A matrices
    lora = LoraConfig(r=cfg["r"], lora_alpha=cfg["alpha"], lora_dropout=cfg["dropout"], target_modules=targets,
                      bias="none", use_dora=False, task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, lora)
    saved: list[tuple[Checkpoint, Path]] = []

    def save(ck: Checkpoint) -> None:
        out = job.work_dir / f"step-{ck.step}"
        peft_model.save_pretrained(out, safe_serialization=True)
        _stable_config(out / "adapter_config.json")
        saved.append((ck, out))

    try:
        curve = train_recording(peft_model, tokenizer, chats, job, save, f"{job.name} (LoRA r={cfg['r']})")
    except Diverged as e:
        return [diverged(job, e)]
    return checkpoint_variants(job, "lora", saved, curve, extra={"targets": targets, "data": str(path)})


def _stable_config(path: Path) -> None:
    """peft writes target_modules in set order; sort it so equal adapters have equal files (and fingerprints)."""
    cfg = json.loads(path.read_text())
    if isinstance(cfg.get("target_modules"), list):
        cfg["target_modules"] = sorted(cfg["target_modules"])
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
