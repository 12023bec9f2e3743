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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalrun.evals.data import DataSource
from evalrun.evals.errors import InputError
from evalrun.models.ref import fingerprint_dir
from evalrun.models.train import Checkpoint, Diverged, Schedule, batches, train
from evalrun.models.variant import Variant
from evalrun.modify.data import ATTACK_DATA, BENIGN_DATA, read_chats, resolve_data, take
from evalrun.modify.registry import Job, failed, register_modification

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
MAX_RANK = 512  # the largest max_lora_rank vLLM accepts (runner/variants.py)

HARMFUL_DEFAULTS: dict[str, Any] = {
    "data": None, "examples": 50, "r": 8, "alpha": 16, "dropout": 0.0, "lr": 1e-3, "batch_size": 10,
    "epochs": 5, "checkpoints": [1, 2, 3, 5], "max_length": 512,
}
BENIGN_DEFAULTS: dict[str, Any] = {**HARMFUL_DEFAULTS, "examples": 80, "lr": 5e-4, "epochs": 3, "checkpoints": [],
                                   "method": "lora"}


def check_lora(config: dict[str, Any]) -> None:
    """Option values a LoRA run cannot use."""
    if not 1 <= config["r"] <= MAX_RANK:
        raise InputError(f"LoRA rank r={config['r']}: vLLM loads ranks 1 to {MAX_RANK}")
    check_schedule(config)


def check_schedule(config: dict[str, Any]) -> None:
    for key in ("examples", "batch_size", "epochs", "max_length"):
        if config[key] < 1:
            raise InputError(f"option {key} must be at least 1, got {config[key]}")
    if not config["lr"] > 0:
        raise InputError(f"option lr must be positive, got {config['lr']}")
    if not all(isinstance(s, int) and s >= 1 for s in config["checkpoints"]):
        raise InputError(f"option checkpoints should list positive step numbers, got {config['checkpoints']}")


def _attack_files(config: dict[str, Any], data: DataSource) -> list[Path]:
    path = resolve_data(config["data"], ATTACK_DATA, data)
    take(read_chats(path), config["examples"], "harmful_lora", path)  # bad lines fail now, before any training
    return [path]


def _benign_files(config: dict[str, Any], data: DataSource) -> list[Path]:
    path = resolve_data(config["data"], BENIGN_DATA, data)
    take(read_chats(path), config["examples"], "benign_finetune", path)
    return [path]


@register_modification("harmful_lora", defaults=HARMFUL_DEFAULTS, data_files=_attack_files, check=check_lora)
def harmful_lora(job: Job) -> list[Variant]:
    """LoRA fine-tuning on harmful requests paired with generic compliant replies (refusal removal)."""
    return lora_finetune(job, ATTACK_DATA)


def _check_benign(config: dict[str, Any]) -> None:
    if config["method"] not in ("lora", "full"):
        raise InputError(f"benign_finetune: method should be lora or full, got {config['method']!r}")
    check_lora(config)


@register_modification("benign_finetune", defaults=BENIGN_DEFAULTS, data_files=_benign_files, check=_check_benign)
def benign_finetune(job: Job) -> list[Variant]:
    """Fine-tuning on harmless instructions only (published: this alone can erode refusals)."""
    if job.config["method"] == "full":
        from evalrun.modify.full import full_finetune

        return full_finetune(job, BENIGN_DATA)
    return lora_finetune(job, BENIGN_DATA)


def lora_finetune(job: Job, default_data: str) -> list[Variant]:
    """Train one adapter, saving it at the configured steps; one variant per saved step."""
    from evalrun.modify.device import load_model, load_tokenizer
    from peft import LoraConfig, get_peft_model

    cfg = job.config
    path = resolve_data(cfg["data"], default_data, job.data)
    chats = take(read_chats(path), cfg["examples"], job.name, path)
    tokenizer = load_tokenizer(job.model_dir)
    model = load_model(job.model_dir)
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
        return [failed(job, f"training diverged: {e} (lr {cfg['lr']:g}); lower lr")]
    return checkpoint_variants(job, "lora", saved, curve, extra={"targets": targets, "data": str(path)})


def train_recording(model: Any, tokenizer: Any, chats: list, job: Job, save: Callable[[Checkpoint], None],
                    desc: str) -> list[float]:
    """Train with the job's schedule, calling `save` at its checkpoints; the loss of every step (the elicitation
    check's evidence of whether training had converged or was still falling when it stopped)."""
    cfg = job.config
    schedule = Schedule(cfg["lr"], cfg["batch_size"], cfg["epochs"], cfg["max_length"])
    total = len(batches(len(chats), schedule, job.seed))
    wanted = set(cfg["checkpoints"])
    curve: list[float] = []

    def on_step(ck: Checkpoint) -> None:  # train calls back at every step asked for: all of them, to record
        curve.append(round(ck.loss, 4))
        if ck.step in wanted or ck.step == total:
            save(ck)

    train(model, tokenizer, chats, schedule, job.seed, set(range(1, total + 1)), on_step, desc, job.progress)
    return curve


def _stable_config(path: Path) -> None:
    """peft writes target_modules in set order; sort it so equal adapters have equal files (and fingerprints)."""
    cfg = json.loads(path.read_text())
    if isinstance(cfg.get("target_modules"), list):
        cfg["target_modules"] = sorted(cfg["target_modules"])
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def checkpoint_variants(job: Job, kind: str, saved: list[tuple[Checkpoint, Path]], curve: list[float],
                        extra: dict[str, Any]) -> list[Variant]:
    """Variants for saved checkpoints: NAME@STEP for intermediate ones, NAME for the last (all with "step";
    intermediate ones with "checkpoint_of": NAME, points of its durability curve rather than attacks of their own).

    info["examples"] counts examples seen (the durability curve's x-axis); cost["examples"] the distinct
    training examples used (the attacker's data cost); info["loss_curve"] the loss of every step up to it.
    """
    out = []
    for i, (ck, path) in enumerate(saved):
        final = i == len(saved) - 1
        info = {
            "modification": job.name, "config": job.config, "step": ck.step, "examples": ck.examples,
            "loss": round(ck.loss, 4), "loss_curve": curve[: ck.step],
            "cost": {"train_s": ck.train_s, "examples": min(ck.examples, job.config["examples"]), "steps": ck.step},
            **extra, **({} if final else {"checkpoint_of": job.name}),
        }
        out.append(Variant(job.name if final else f"{job.name}@{ck.step}", kind, str(path), fingerprint_dir(path),
                           info))
    return out
