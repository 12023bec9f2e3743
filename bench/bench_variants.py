"""What evaluating LoRA variants costs beside the base model: base only vs k = 1 and 3 adapters, on the demo model.

Each configuration is the real CLI (`evalrun --model demo --suite S --out DIR`) on a suite with the tamper
suite's safeguard evals (harmful_refusal, over_refusal) and:

    k=0  no modifications
    k=1  harmful_lora, final adapter only
    k=3  harmful_lora with checkpoints at steps 1 and 2 (three adapters from one training run)

The adapters are trained (and cached) before the timed runs, so the figures are evaluation only; the
training time is printed separately. Reported per run: wall time, the manifest's timings and
`counts.engine_loads` (base and its adapters share one engine, so it should stay 1).

    .venv/bin/python bench/bench_variants.py [--repeats 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from cli_run import timed_evalrun  # bench/cli_run.py, beside this script

EVALS = "[harmful_refusal, over_refusal]"
CONFIGS = {
    0: [],
    1: [{"name": "harmful_lora", "checkpoints": []}],
    3: [{"name": "harmful_lora", "checkpoints": [1, 2]}],
}


def suite_text(mods: list) -> str:
    return f"name: bench_variants\nversion: 1\nsafeguards: {EVALS}\nmodifications: {json.dumps(mods)}\n"


def warm_cache() -> dict[int, float]:
    """Train every configuration's adapters once (cached by content hash); seconds of training per config."""
    from evalrun.models.ref import resolve_model
    from evalrun.modify import build_variants

    model = resolve_model("demo", progress=True)
    train_s = {}
    for k, mods in CONFIGS.items():
        variants = build_variants(mods, model, seed=0, progress=True)
        assert len(variants) == k and all(v.runs for v in variants), [v.info for v in variants]
        train_s[k] = max((v.info["cost"]["train_s"] for v in variants), default=0.0)
    return train_s


def timed_run(k: int, workdir: Path) -> dict:
    suite = workdir / f"bench-k{k}.yaml"
    suite.write_text(suite_text(CONFIGS[k]))
    out = workdir / f"run-k{k}-{time.monotonic_ns()}"
    wall, manifest, _ = timed_evalrun(["--model", "demo", "--suite", str(suite)], out)
    return {"k": k, "wall_s": round(wall, 1), "requests": manifest["counts"]["requests"],
            "engine_loads": manifest["counts"]["engine_loads"], **manifest["timings"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON object per run instead of a table")
    args = ap.parse_args()
    train_s = warm_cache()
    print(f"training (cached for the timed runs): k=1 {train_s[1]:.1f} s, k=3 {train_s[3]:.1f} s", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-variants-") as tmp:
        for _ in range(args.repeats):
            for k in CONFIGS:
                rows.append(timed_run(k, Path(tmp)))
                if args.json:
                    print(json.dumps(rows[-1]), flush=True)
    if not args.json:
        cols = ["k", "requests", "engine_loads", "wall_s", "total_s", "engine_load_s", "generate_s"]
        print("  ".join(f"{c:>13}" for c in cols))
        for r in rows:
            print("  ".join(f"{r.get(c, ''):>13}" for c in cols))


if __name__ == "__main__":
    main()
