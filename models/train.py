"""Supervised fine-tuning on chats, shared by the LoRA and full fine-tuning modifications.

Chats are rendered with the model's own chat template, exactly as the engine
renders prompts, and the loss covers the assistant replies only (the tokens
the template emits for an assistant turn, end-of-turn included). Training is
seeded (example order, adapter init) and stops at the first non-finite loss,
which the caller reports as a failed variant.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evalrun.evals.errors import InputError

IGNORE = -100


class Diverged(Exception):
    """The loss became NaN or infinite."""

    def __init__(self, step: int, loss: float) -> None:
        super().__init__(f"loss became {loss} at step {step}")
        self.step, self.loss = step, loss


@dataclass(frozen=True)
class Schedule:
    lr: float
    batch_size: int
    epochs: int
    max_length: int = 512
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0


@dataclass
class Checkpoint:
    step: int
    examples: int  # examples seen so far
    loss: float
    train_s: float


def encode_chat(tokenizer: Any, chat: list[dict[str, str]], max_length: int) -> tuple[list[int], list[int]]:
    """Token ids of a rendered chat and its labels (IGNORE except on assistant replies)."""
    if not getattr(tokenizer, "chat_template", None):
        raise InputError("the model's tokenizer has no chat template; modifications train on chat-formatted data")
    text = tokenizer.apply_chat_template(chat, tokenize=False)
    spans = []
    for i, m in enumerate(chat):
        if m["role"] != "assistant":
            continue
        start = tokenizer.apply_chat_template(chat[:i], tokenize=False, add_generation_prompt=True)
        end = tokenizer.apply_chat_template(chat[: i + 1], tokenize=False)
        if not (text.startswith(start) and text.startswith(end)):
            raise InputError("the chat template does not render a conversation as a prefix of its continuation; "
                             "cannot tell which tokens are the reply")
        spans.append((len(start), len(end)))
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = enc["input_ids"][:max_length]
    labels = [
        tok if any(a <= s < b for a, b in spans) else IGNORE
        for tok, (s, _) in zip(ids, enc["offset_mapping"][: len(ids)], strict=True)
    ]
    if all(x == IGNORE for x in labels):
        raise InputError(f"a training chat has no reply tokens within {max_length} tokens")
    return ids, labels


def batches(n: int, schedule: Schedule, seed: int) -> list[list[int]]:
    """Example indices of every step: a fresh seeded shuffle each epoch."""
    rng = random.Random(f"evalrun-modify-{seed}")
    out = []
    for _ in range(schedule.epochs):
        order = list(range(n))
        rng.shuffle(order)
        out += [order[i : i + schedule.batch_size] for i in range(0, n, schedule.batch_size)]
    return out


def _collate(examples: list[tuple[list[int], list[int]]], pad_id: int, device: str):
    import torch

    width = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (ids, lab) in enumerate(examples):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(lab)] = torch.tensor(lab)
        mask[row, : len(ids)] = 1
    return input_ids.to(device), mask.to(device), labels.to(device)


def train(
    model: Any,
    tokenizer: Any,
    chats: list[list[dict[str, str]]],
    schedule: Schedule,
    seed: int,
    save_at: set[int],
    on_checkpoint: Callable[[Checkpoint], None],
    desc: str,
    progress: bool,
) -> Checkpoint:
    """Train `model`'s trainable parameters; call `on_checkpoint` after each step in `save_at` and the last one.

    Returns the final checkpoint's figures; raises Diverged on a non-finite loss.
    """
    import torch
    from tqdm import tqdm

    torch.manual_seed(seed)
    device = next(model.parameters()).device.type
    encoded = [encode_chat(tokenizer, c, schedule.max_length) for c in chats]
    steps = batches(len(encoded), schedule, seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=schedule.lr, weight_decay=schedule.weight_decay)
    model.train()
    t0, saving_s, seen, last = time.perf_counter(), 0.0, 0, None
    bar = tqdm(total=len(steps), desc=desc, unit="step", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    try:
        for step, idx in enumerate(steps, 1):
            input_ids, mask, labels = _collate([encoded[i] for i in idx], tokenizer.pad_token_id, device)
            loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
            value = loss.item()
            if not math.isfinite(value):
                raise Diverged(step, value)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, schedule.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            seen += len(idx)
            bar.set_postfix_str(f"loss {value:.3f}", refresh=False)
            bar.update(1)
            last = Checkpoint(step, seen, value, round(time.perf_counter() - t0 - saving_s, 3))
            if step in save_at or step == len(steps):
                if not all(bool(torch.isfinite(p).all()) for p in params):
                    raise Diverged(step, float("nan"))
                t_save = time.perf_counter()
                model.eval()
                on_checkpoint(last)
                model.train()
                saving_s += time.perf_counter() - t_save
    finally:
        bar.close()
        model.eval()
    assert last is not None
    return last
