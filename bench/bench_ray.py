"""One local engine vs Ray replicas on the same suite and model, and a projection of the full suite's wall time.

Three fresh CLI runs of the same suite on the demo model (CPU): the local engine, `--ray --replicas 1`
and `--ray --replicas 2` on a local Ray cluster. Printed per run: wall time (process start to exit,
cluster start and engine load included), the generate phase (first replica ready to last result), and
for the 1-replica run the driver's overhead per request (driver-side generate wall minus the time the
replica spent inside generation, divided by the requests). On a 2-core machine two replicas share the
same two cores, so the 2-replica figure shows Ray's overhead, not a speed-up.

The projection table is ARITHMETIC, NOT A MEASUREMENT: the request count of the preparedness suite with
the public benchmarks found in --data-dir (token upper bounds: each eval's max_tokens), divided by a
per-replica throughput (measured here on the 1-replica run unless --tokens-per-s gives one) times the
replica count, assuming perfect scaling and one replica per GPU.

    .venv/bin/python bench/bench_ray.py [--suite smoke] [--limit N] [--data-dir ../shared/datasets]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from cli_run import timed_evalrun  # bench/cli_run.py, beside this script

HERE = Path(__file__).resolve()
DEFAULT_DATA = HERE.parents[2] / "shared" / "datasets"
PUBLIC = ["strongreject", "harmbench", "advbench", "jailbreakbench", "xstest", "wmdp_bio", "wmdp_chem", "wmdp_cyber",
          "cybermetric", "ctibench_mcq"]
GPUS = (1, 8, 64)


def timed_run(args: list[str], out: Path) -> dict:
    wall, manifest, _ = timed_evalrun(args, out)
    info = manifest["engines"][0]
    return {"wall_s": wall, "generate_s": info["generate_s"], "requests": manifest["counts"]["generated_now"],
            "tokens": info["output_tokens"], "cluster": info.get("cluster")}


def suite_workload(data_dir: Path) -> tuple[int, int, list[str]]:
    """Requests and output-token upper bound per variant of the preparedness suite plus the public benchmarks here."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # count what is here; never download
    from evalrun.evals.data import DataSource
    from evalrun.evals.errors import EvalrunError
    from evalrun.evals.registry import load_eval
    from evalrun.runner.suite import load_suite

    data = DataSource([data_dir])
    names, missing = list(load_suite("preparedness").eval_names), []
    requests = tokens = 0
    for name in names + PUBLIC:
        try:
            ev = load_eval(name, data)
        except EvalrunError:
            missing.append(name)
            continue
        n = len(ev.samples) * ev.epochs
        requests += n
        tokens += n * (1 if ev.is_multiple_choice else ev.max_tokens)
    return requests, tokens, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="smoke")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--variants", type=int, default=7,
                        help="variants the projection counts (preparedness: base, 5 harmful_lora checkpoints, "
                             "refusal_ablation)")
    parser.add_argument("--tokens-per-s", type=float, help="per-replica throughput for the projection")
    args = parser.parse_args()
    common = ["--model", "demo", "--suite", args.suite, "--kv-cache-gb", "1"]
    if args.limit:
        common += ["--limit", str(args.limit)]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in (("1 local engine", []), ("1 Ray replica", ["--ray", "--replicas", "1"]),
                             ("2 Ray replicas", ["--ray", "--replicas", "2"])):
            runs[label] = timed_run(common + extra, Path(tmp) / label.replace(" ", "-"))
            print(f"  ran {label}", file=sys.stderr)
    print(f"suite {args.suite} on the demo model (CPU), {runs['1 local engine']['requests']} requests")
    print(f"{'run':<16} {'wall s':>8} {'generate s':>11} {'output tok':>10} {'tok/s (gen)':>12}")
    for label, r in runs.items():
        print(f"{label:<16} {r['wall_s']:>8.1f} {r['generate_s']:>11.2f} {r['tokens']:>10} "
              f"{r['tokens'] / max(r['generate_s'], 1e-9):>12.1f}")
    one = runs["1 Ray replica"]
    replica = one["cluster"]["replicas"][0]
    overhead = (one["generate_s"] - replica["generate_s"]) / max(1, one["requests"])
    print(f"driver overhead per request (1 replica): {overhead * 1000:.2f} ms "
          f"(driver generate wall {one['generate_s']:.2f} s - replica time in generation {replica['generate_s']:.2f} s,"
          f" over {one['requests']} requests, {replica['units']} work units)")
    print("note: 2 replicas on this machine share its cores, so that row shows Ray's overhead, not a speed-up")

    tps = args.tokens_per_s or one["tokens"] / max(one["generate_s"], 1e-9)
    requests, tokens, missing = suite_workload(args.data_dir)
    print()
    print("PROJECTION (arithmetic, not a measurement): preparedness suite + public benchmarks found in "
          f"{args.data_dir}")
    print(f"  {requests} requests and at most {tokens} output tokens per variant, x{args.variants} variants; "
          f"{tps:,.0f} tok/s per replica ({'given' if args.tokens_per_s else 'measured above, 1 Ray replica'}); "
          "perfect scaling, one replica per GPU, engine load excluded")
    if missing:
        print(f"  not counted (no data here): {', '.join(missing)}")
    print(f"  {'GPUs':>5} {'hours':>10}")
    for n in GPUS:
        print(f"  {n:>5} {tokens * args.variants / (tps * n) / 3600:>10.2f}")


if __name__ == "__main__":
    main()
