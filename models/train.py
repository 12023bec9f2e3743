"""The one training loop: supervised training on chats, for the demo model and the fine-tuning attacks.

Chats are rendered with the model's own chat template, exactly as the engine
renders prompts, and the loss covers the assistant replies only (the tokens
the template emits for an assistant turn, end-of-turn included). Training is
seeded (example order, adapter init) and stops at the first non-finite loss,
which the caller reports as a failed build or variant.

Speed on CPU: batches are cut from length-sorted windows of a shuffled epoch
and padded to their longest chat, so little compute goes to padding; and the
loop runs on as many threads as there are idle cores now (`train_threads`),
because OpenMP threads that wait for a busy core make every step many times
slower (measured: 8 s a step on 2 threads vs 0.4 s on 1 on a loaded 2-core machine).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from evalrun.evals.errors import InputError

IGNORE = -100


class Diverged(Exception):
    """The loss became NaN or infinite."""

    def __init__(self, step: int, loss: float) -> None:
        super().__init__(f"loss became {loss} at step {step}")
        self.step, self.loss = step, loss


BUCKET_BATCHES = 8  # batches per length-sorted window


@dataclass(frozen=True)
class Schedule:
    """AdamW's settings and the learning-rate schedule: linear warm-up, then linear decay to `final_lr` x lr."""

    lr: float
    batch_size: int
    epochs: int
    max_length: int = 512
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    warmup_steps: int = 0
    final_lr: float = 1.0  # 1.0: constant after warm-up (the published attacks' recipe)
    betas: tuple[float, float] = (0.9, 0.999)


@dataclass
class Checkpoint:
    step: int
    examples: int  # examples seen so far
    loss: float
    train_s: float
    curve: list[float] = field(default_factory=list)  # the loss of every step so far


def lr_factor(step: int, total: int, schedule: Schedule) -> float:
    """The learning-rate multiplier before step `step + 1` of `total`."""
    if step < schedule.warmup_steps:
        return (step + 1) / schedule.warmup_steps
    remaining = (total - step) / max(1, total - schedule.warmup_steps)
    return schedule.final_lr + (1.0 - schedule.final_lr) * max(0.0, remaining)


def train_threads() -> int:
    """Threads for a training loop on CPU: the cores of this process's affinity that nothing else is using now
    (at least 1), unless OMP_NUM_THREADS says otherwise.

    Busy cores are sampled from /proc/stat while this process waits (`busy_cores`), so its own work just
    before (tokenising, converting a GGUF) and a job that ended a minute ago do not count. The 1-minute load
    average, which this used to read, counted both: a demo-model build started just after `make venv` had
    finished trained on 1 thread of 2, at ~2.4 s a step. The load average stands in only where /proc/stat
    cannot be read.
    """
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    cpus = os.sched_getaffinity(0)
    try:
        busy = busy_cores(cpus)
    except OSError:
        busy = max(0.0, os.getloadavg()[0] - 1.0)  # the load average counts this process too
    idle = len(cpus) - int(busy + 0.75)  # a core more than a quarter busy is a busy core
    return max(1, min(len(cpus), torch.get_num_threads(), idle))


def busy_cores(cpus: set[int], sample_s: float = 0.5) -> float:
    """How many of `cpus` other processes kept busy over the next `sample_s` seconds (0.0 to len(cpus))."""
    before = _cpu_times(cpus)
    time.sleep(sample_s)
    return busy_between(before, _cpu_times(cpus))


def busy_between(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]) -> float:
    """Busy cores between two `_cpu_times` snapshots: per cpu, the share of its ticks not spent idle."""
    busy = 0.0
    for cpu, (total, idle) in after.items():
        total0, idle0 = before.get(cpu, (total, idle))
        if total > total0:
            busy += 1.0 - (idle - idle0) / (total - total0)
    return busy


def _cpu_times(cpus: set[int]) -> dict[int, tuple[int, int]]:
    """(all ticks, idle + iowait ticks) of each cpu in `cpus`, from /proc/stat's `cpuN` lines."""
    times = {}
    with open("/proc/stat") as stat:
        for line in stat:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
                times[int(name[3:])] = (sum(ticks), ticks[3] + ticks[4])
    if not times:
        raise OSError("/proc/stat lists none of this process's cpus")
    return times


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


def batches(n: int, schedule: Schedule, seed: int, lengths: list[int] | None = None) -> list[list[int]]:
    """Example indices of every step: a fresh seeded shuffle each epoch, ceil(n / batch_size) steps an epoch.

    With `lengths`, each window of BUCKET_BATCHES batches of the shuffle is sorted by length before it is
    cut, and the epoch's batches are shuffled again: similar lengths share a batch (little padding) and the
    order stays random.
    """
    rng = random.Random(f"evalrun-train-{seed}")
    size, out = schedule.batch_size, []
    for _ in range(schedule.epochs):
        order = list(range(n))
        rng.shuffle(order)
        epoch = []
        for start in range(0, n, size * BUCKET_BATCHES):
            window = order[start : start + size * BUCKET_BATCHES]
            if lengths is not None:
                window.sort(key=lambda i: lengths[i])
            epoch += [window[i : i + size] for i in range(0, len(window), size)]
        if lengths is not None:
            rng.shuffle(epoch)
        out += epoch
    return out


def _collate(examples: list[tuple[list[int], list[int]]], pad_id: int, device: str) -> tuple[Any, Any, Any]:
    """(input ids, attention mask, labels), right-padded to the longest example of the batch."""
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

    Returns the final checkpoint's figures; raises Diverged on a non-finite loss or weight.
    """
    import torch

    torch.manual_seed(seed)
    device = next(model.parameters()).device.type
    encoded = [encode_chat(tokenizer, c, schedule.max_length) for c in chats]
    steps = batches(len(encoded), schedule, seed, lengths=[len(ids) for ids, _ in encoded])
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=schedule.lr, betas=schedule.betas, weight_decay=schedule.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, len(steps), schedule))
    threads = train_threads() if device == "cpu" else torch.get_num_threads()
    with _threads(threads):
        return _loop(model, encoded, steps, tokenizer.pad_token_id, optimizer, scheduler, params, schedule,
                     save_at, on_checkpoint, f"{desc} [{threads} threads]" if device == "cpu" else desc, progress)


def _loop(model: Any, encoded: list, steps: list[list[int]], pad_id: int, optimizer: Any, scheduler: Any,
          params: list, schedule: Schedule, save_at: set[int], on_checkpoint: Callable[[Checkpoint], None],
          desc: str, progress: bool) -> Checkpoint:
    """The steps themselves: forward, divergence check, backward, clip, step; checkpoints as asked."""
    import torch
    from tqdm import tqdm

    device = next(model.parameters()).device.type
    model.train()
    t0, saving_s, seen, curve, last = time.perf_counter(), 0.0, 0, [], None
    bar = tqdm(total=len(steps), desc=desc, unit="step", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    try:
        for step, idx in enumerate(steps, 1):
            input_ids, mask, labels = _collate([encoded[i] for i in idx], pad_id, device)
            loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
            value = loss.item()
            if not math.isfinite(value):
                raise Diverged(step, value)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, schedule.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            seen += len(idx)
            curve.append(round(value, 4))
            bar.set_postfix_str(f"loss {value:.3f}", refresh=False)
            bar.update(1)
            last = Checkpoint(step, seen, value, round(time.perf_counter() - t0 - saving_s, 3))
            if step in save_at or step == len(steps):
                last.curve = list(curve)
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
