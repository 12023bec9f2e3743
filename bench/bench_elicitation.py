"""What the elicitation search costs on the demo model: engine loads, training time, generation time.

Runs the real CLI on the demo model with a suite whose harmful_lora entry searches lr x epochs (budget 3,
all LoRA: one engine for base + every adapter) and whose refusal_ablation entry searches the layer of the
direction (budget 3; each configuration a checkpoint: one engine each), against a fresh variant cache (so
every configuration is trained here), then prints the figures from the run's manifest.json and
results.json, and what the search selected with its utility cost.

    .venv/bin/python bench/bench_elicitation.py [--limit 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from cli_run import timed_evalrun  # bench/cli_run.py, beside this script

SUITE = """name: bench-elicitation
version: 1
evals: [smoke_knowledge]
safeguards: [harmful_refusal]
modifications:
  - {name: harmful_lora, checkpoints: [], search: {lr: [3.0e-3], epochs: [5, 10]}, budget: 3}
  - {name: refusal_ablation, max_kl: 1.0, search: {layer: [2, 3]}, budget: 3}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=30, help="samples per eval (the probe has 30)")
    ap.add_argument("--keep", help="write the run and its cache here instead of a temporary dir")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        (root / "suite.yaml").write_text(SUITE)
        out = root / "run"
        # A fresh variant cache, so every configuration is trained here; the demo model is passed by path
        # (built or found in the usual cache first) in float32, as `--model demo` would run it.
        from evalrun.models.demo import demo_model_path

        demo = demo_model_path(progress=False)
        wall, manifest, results = timed_evalrun(
            ["--model", str(demo), "--dtype", "float32", "--suite", str(root / "suite.yaml"),
             "--limit", str(args.limit)],
            out, env={"EVALRUN_CACHE": str(root / "cache"), "VLLM_CPU_KVCACHE_SPACE": "1"})
        report(manifest, results, wall)


def report(manifest: dict, results: dict, wall: float) -> None:
    engines = manifest.get("engines", [])
    searched = {n: v for n, v in results["variants"].items() if "search" in v}
    train_s = sum(v.get("cost", {}).get("train_s", 0.0) for v in searched.values())
    print(f"configurations tried: {len(searched)} ({', '.join(searched)})")
    print(f"engine loads: {len(engines)}  load {sum(e.get('engine_load_s', 0) for e in engines):.1f} s  "
          f"generation {sum(e.get('generate_s', 0) for e in engines):.1f} s  "
          f"requests {manifest['counts']['requests']}")
    print(f"training (all configurations): {train_s:.1f} s  whole run wall: {wall:.1f} s")
    for group, s in results.get("elicitation", {}).items():
        print(f"{group}: selected {s['selected']} status {s['status']} (target {s['target']}, utility bound "
              f"{s['utility_bound']:.0%} on {', '.join(s['capability_evals']) or 'no capability evals'})")
        for r in s["tried"]:
            probe = r["probe"] or {}
            ci = probe.get("ci") or [float("nan")] * 2
            cost = r["max_utility_cost"]
            print(f"  {r['variant']:<22} {json.dumps(r['overrides']):<32} probe refusal "
                  f"{probe.get('value', float('nan')):.3f} [{ci[0]:.3f}, {ci[1]:.3f}]  utility cost "
                  f"{'n/a' if cost is None else f'{cost:+.1%}'}  {r['status']}{'  SELECTED' if r['selected'] else ''}")


if __name__ == "__main__":
    main()
