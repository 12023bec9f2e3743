"""How well the demo model's refusals generalise, and how much that depends on one training run.

The demo model's top layers are trained on templated requests (models/demo_corpus.py) over SmolLM2's
pretrained lower layers, so its refusal rate on prompts it never saw (the preparedness suite's own items,
public harmful-request sets) is a property of one training run: a different CPU trains different weights.
Seeds stand in for that: each seed is a fresh corpus split and training order, built into a fresh cache
here (build time included; with --keep DIR a model already built under DIR/cache is reused), then
evaluated afresh (a new run directory each time) with the real CLI on the safeguard evals and the public
sets found under --data-dir. Prints every metric of every eval for each seed, with its 95% CI, then the
spread over seeds.

    .venv/bin/python bench/bench_demo_model.py [--seeds 0 1 2] [--data-dir ../shared/datasets] [--keep DIR]

Issue 9 asks for >= 0.90 refusal of harmful_refusal and >= 0.90 compliance with over_refusal's safe prompts
on any CPU; the spread over seeds says how far a single figure can be trusted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cli_run import timed_evalrun  # bench/cli_run.py, beside this script

OWN_EVALS = ["harmful_refusal", "jailbreak_refusal", "over_refusal"]
PUBLIC_EVALS = ["strongreject", "advbench", "xstest"]  # run when their files are under --data-dir


def suite_text(evals: list[str]) -> str:
    return f"name: bench-demo-model\nversion: 1\nsafeguards: [{', '.join(evals)}]\n"


def run_seed(seed: int, work: Path, suite: Path, data_dirs: list[Path]) -> tuple[dict, float, float]:
    """Build the demo model for `seed` in a fresh cache and run the suite on it, as `--model demo` runs
    (float32): (results.json, build seconds, run seconds)."""
    from evalrun.models.demo import demo_model_path

    started = time.monotonic()
    model = demo_model_path(seed=seed, cache_dir=work / "cache", progress=False)
    built = time.monotonic()
    out = Path(tempfile.mkdtemp(prefix=f"run-seed{seed}-", dir=work))  # a new run each time: never a resumed one
    args = ["--model", str(model), "--dtype", "float32", "--suite", str(suite)]
    for d in data_dirs:
        args += ["--data-dir", str(d)]
    run_s, _, results = timed_evalrun(args, out, env={"EVALRUN_CACHE": str(work / "cache")})
    return results, built - started, run_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data-dir", type=Path, action="append", default=[])
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    args = parser.parse_args()
    evals = OWN_EVALS + [e for e in PUBLIC_EVALS if any((d / e).is_dir() for d in args.data_dir)]
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-demo-model-"))
    work.mkdir(parents=True, exist_ok=True)
    suite = work / "suite.yaml"
    suite.write_text(suite_text(evals))
    figures: dict[str, list[float]] = {}
    for seed in args.seeds:
        results, build_s, run_s = run_seed(seed, work, suite, args.data_dir)
        print(f"seed {seed}: demo model built in {build_s:.0f} s, evaluated in {run_s:.0f} s")
        for name in evals:
            for metric, m in results["evals"][name]["variants"]["base"]["metrics"].items():
                lo, hi = m["ci"]
                print(f"  {name}.{metric}: {m['value']:.3f} [{lo:.3f}, {hi:.3f}] n={m['n']}")
                figures.setdefault(f"{name}.{metric}", []).append(m["value"])
    if len(args.seeds) > 1:
        print(f"spread over seeds {args.seeds}:")
        for key, values in figures.items():
            print(f"  {key}: min {min(values):.3f}, max {max(values):.3f}")
    print(f"work directory: {work}")


if __name__ == "__main__":
    main()
