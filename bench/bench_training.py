"""Training throughput of the LoRA attack (`harmful_lora`) on the demo model: tokens/s and steps/s.

Runs the real modification (`lora_finetune`: load the model, wrap it in peft, train, save the adapter)
with the attack's published defaults (50 examples, r=8, batch 10, 5 epochs = 25 steps), `--repeats`
times in this process, and prints per repeat: training seconds (saving excluded, from the variant's
cost), steps/s and tokens/s (real tokens of the batches; padding not counted), plus torch's thread
count. The first repeat includes one-off warm-up (allocator, kernels); the best of the rest is the
figure to quote.

    .venv/bin/python bench/bench_training.py [--model DIR] [--repeats 3] [--epochs 5]

Measured on the 2-core machine while other work ran (load average 11-16), demo model v1, 25 steps:
before the one training loop (2 torch threads on busy cores) 128-165 tokens/s, 0.24-0.30 steps/s;
after (threads = idle cores, here 1; length-bucketed batches) 732-794 tokens/s, 1.34-1.46 steps/s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def run_once(model_dir: Path, epochs: int) -> dict:
    """One harmful_lora training run into a temp dir; its training time, steps and token count."""
    from evalrun.evals.data import DataSource
    from evalrun.models.train import encode_chat
    from evalrun.modify.data import ATTACK_DATA, read_chats, take
    from evalrun.modify.device import load_tokenizer
    from evalrun.modify.lora import HARMFUL_DEFAULTS, lora_finetune
    from evalrun.modify.registry import Job

    config = {**HARMFUL_DEFAULTS, "epochs": epochs, "checkpoints": []}
    data = DataSource()
    chats = take(read_chats(data.path(ATTACK_DATA)), config["examples"], "bench", data.path(ATTACK_DATA))
    tokenizer = load_tokenizer(model_dir)
    tokens_per_epoch = sum(len(encode_chat(tokenizer, c, config["max_length"])[0]) for c in chats)
    with tempfile.TemporaryDirectory() as tmp:
        job = Job("harmful_lora", model_dir, config, seed=0, work_dir=Path(tmp), data=data)
        variants = lora_finetune(job, ATTACK_DATA)
    final = variants[-1]
    assert final.kind == "lora", final.info
    cost = final.info["cost"]
    return {"train_s": cost["train_s"], "steps": cost["steps"], "tokens": tokens_per_epoch * epochs,
            "loss": final.info["loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a local model dir (default: the demo model)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args()

    import torch
    from evalrun.models.train import train_threads

    if args.model:
        model_dir = Path(args.model)
    else:
        from evalrun.models.demo import demo_model_path

        model_dir = demo_model_path()
    runs = [run_once(model_dir, args.epochs) for _ in range(args.repeats)]
    for r in runs:
        r["steps_per_s"] = round(r["steps"] / r["train_s"], 3)
        r["tokens_per_s"] = round(r["tokens"] / r["train_s"], 1)
    if args.json:
        print(json.dumps({"model": str(model_dir), "threads": train_threads(), "runs": runs}))
        return
    print(f"model {model_dir}  training threads {train_threads()} (torch default {torch.get_num_threads()})")
    for i, r in enumerate(runs, 1):
        print(f"repeat {i}: {r['steps']} steps, {r['tokens']} tokens in {r['train_s']:.2f} s: "
              f"{r['steps_per_s']:.2f} steps/s, {r['tokens_per_s']:.0f} tokens/s (final loss {r['loss']})")
    best = max(runs[1:] or runs, key=lambda r: r["tokens_per_s"])
    print(f"best: {best['steps_per_s']:.2f} steps/s, {best['tokens_per_s']:.0f} tokens/s")


if __name__ == "__main__":
    main()
