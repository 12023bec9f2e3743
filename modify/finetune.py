"""What the fine-tuning modifications share: harmful_lora, benign_finetune (modify/lora.py), harmful_full (full.py).

Their schedule options and the check of them, the check of their data file (before any training),
loading a job's chats, tokenizer and model, training while recording the loss of every step and saving
the checkpoints asked for, and the variants of what was saved. lora.py and full.py differ only in what
is trainable and how a checkpoint is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalrun.evals.data import DataSource
from evalrun.evals.errors import InputError
from evalrun.models.ref import fingerprint_dir
from evalrun.models.train import Checkpoint, Diverged, Schedule, batches, train
from evalrun.models.variant import Variant
from evalrun.modify.data import Chat, read_chats, resolve_data, take
from evalrun.modify.registry import Job, failed

# Qi et al. 2023's recipe: 50 examples, batch 10, 5 epochs (25 steps); checkpoints make a durability curve.
SCHEDULE_DEFAULTS: dict[str, Any] = {
    "data": None, "examples": 50, "lr": 1e-3, "batch_size": 10, "epochs": 5, "checkpoints": [1, 2, 3, 5],
    "max_length": 512,
}


def check_schedule(config: dict[str, Any]) -> None:
    for key in ("examples", "batch_size", "epochs", "max_length"):
        if config[key] < 1:
            raise InputError(f"option {key} must be at least 1, got {config[key]}")
    if not config["lr"] > 0:
        raise InputError(f"option lr must be positive, got {config['lr']}")
    if not all(isinstance(s, int) and s >= 1 for s in config["checkpoints"]):
        raise InputError(f"option checkpoints should list positive step numbers, got {config['checkpoints']}")


def data_files(default_data: str, what: str) -> Callable[[dict[str, Any], DataSource], list[Path]]:
    """A modification's `data_files`: its chat file, read and counted now, so bad lines fail before any training."""
    def files(config: dict[str, Any], data: DataSource) -> list[Path]:
        path = resolve_data(config["data"], default_data, data)
        take(read_chats(path), config["examples"], what, path)
        return [path]

    return files


def training_inputs(job: Job, default_data: str) -> tuple[Path, list[Chat], Any, Any]:
    """The job's data file, the chats it trains on, and the base model's tokenizer and model (on the job's device)."""
    from evalrun.modify.device import load_model, load_tokenizer

    path = resolve_data(job.config["data"], default_data, job.data)
    chats = take(read_chats(path), job.config["examples"], job.name, path)
    return path, chats, load_tokenizer(job.model_dir), load_model(job.model_dir)


def diverged(job: Job, error: Diverged) -> Variant:
    """The failed variant of a run whose loss became NaN or infinite."""
    return failed(job, f"training diverged: {error} (lr {job.config['lr']:g}); lower lr")


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
