"""What the free attacks cost: generation time of prefill + best-of-N sampling against the plain pass, demo model.

The harmful requests of `harmful_refusal` (60 on the demo suite) are generated three ways, each as one
submission to the real vLLM engine (a fresh worker each, so no prefix cache is shared between them):

    plain     the requests as they are, greedy                      (1 generation per prompt)
    prefill   every prefill prefix (family `prefill`), greedy        (3 per prompt)
    sampling  best-of-N at temperature (`sampling`, n=8, T=1.0)      (8 per prompt, per-request seeds)

and prints each submission's generation time (the worker's own clock around generate, engine load
excluded), its output tokens, and the ratios to the plain pass: per submission, per generation, and
of prefill + sampling together (what adding `open_weights_refusal`'s two costly attacks adds to a run).

    .venv/bin/python bench/bench_attacks.py [--model DIR] [--repeats 1] [--n 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import os

PASSES = {"plain": ["none"], "prefill": ["prefill"], "sampling": ["sampling"]}


def requests_for(model_dir: str, transforms: list, fingerprint: str) -> list:
    from evalrun.evals import DataSource, load_eval
    from evalrun.evals.transforms import apply_transforms
    from evalrun.models.variant import BASE
    from evalrun.runner.plan import build_requests

    ev = apply_transforms(load_eval("harmful_refusal", DataSource()), transforms)
    return build_requests([ev], [BASE], fingerprint, seed=0)


def timed_pass(model_dir: str, name: str, transforms: list) -> dict:
    from evalrun.runner.engine import EngineOptions
    from evalrun.runner.vllm_engine import VllmEngine

    requests = requests_for(model_dir, transforms, "bench")
    engine = VllmEngine(model_dir, EngineOptions(dtype="float32", kv_cache_gb=1, max_model_len=512))
    done: list = []
    info = engine.generate(requests, lambda batch: done.extend(batch))
    assert len(done) == len(requests), (name, len(done), len(requests))
    return {"pass": name, "generations": len(requests), "generate_s": info["generate_s"],
            "output_tokens": info["output_tokens"], "engine_load_s": info["engine_load_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="", help="a model dir (default: the demo model, built on first use)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--n", type=int, default=8, help="best-of-N samples per prompt")
    ap.add_argument("--json", action="store_true", help="print one JSON object per pass")
    args = ap.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    if args.model:
        model_dir = args.model
    else:
        from evalrun.models.demo import demo_model_path

        model_dir = str(demo_model_path(progress=True))
    passes = {**PASSES, "sampling": [{"name": "sampling", "n": args.n}]}
    for rep in range(args.repeats):
        rows = {}
        for name, t in passes.items():
            row = rows[name] = timed_pass(model_dir, name, t)
            if args.json:
                print(json.dumps({"repeat": rep, **row}), flush=True)
                continue
            plain = rows["plain"]
            per_gen = (row["generate_s"] / row["generations"]) / (plain["generate_s"] / plain["generations"])
            print(f"repeat {rep} {row['pass']:>8}: {row['generations']:4d} generations, "
                  f"{row['output_tokens']:6d} tokens, generate {row['generate_s']:7.2f} s "
                  f"(x{row['generate_s'] / plain['generate_s']:.2f} of plain; x{per_gen:.2f} per generation), "
                  f"engine load {row['engine_load_s']:.1f} s", flush=True)
        plain = rows["plain"]
        both = rows["prefill"]["generate_s"] + rows["sampling"]["generate_s"]
        print(f"repeat {rep} prefill + sampling / plain generation time: {both / plain['generate_s']:.2f}x "
              f"({both:.2f} s / {plain['generate_s']:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
