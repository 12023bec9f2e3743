"""Rendering the report of a large run: time, the summary page's size, and the transcript files.

A synthetic run (tests/synthetic_runs.py) of 5 evals x 2 variants x 5,000 samples = 50,000 samples, with
every results.json section, is rendered with `write_report`; then the gate against a baseline of the
same size and the comparison page, which read the same samples.jsonl files.

    .venv/bin/python bench/bench_report.py [--per-eval 5000] [--text-len 400] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-eval", type=int, default=5000, help="samples per eval and variant (5 evals, 2 variants)")
    parser.add_argument("--text-len", type=int, default=400, help="approximate characters of filler per prompt")
    parser.add_argument("--keep", type=Path, help="write the runs here and keep them (default: a temp dir)")
    args = parser.parse_args()

    from evalrun.reports.compare import write_compare
    from evalrun.reports.gate import run_gate
    from evalrun.reports.html import write_report
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from synthetic_runs import EVALS, make_run

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        t = time.perf_counter()
        run = make_run(root / "candidate", n_per_eval=args.per_eval, text_len=args.text_len, seed=2, shift=-0.05)
        base = make_run(root / "baseline", n_per_eval=args.per_eval, text_len=args.text_len, seed=2)
        n = len(EVALS) * 2 * args.per_eval
        print(f"synthetic runs: 2 x {n:,} samples, samples.jsonl {mb((run / 'samples.jsonl').stat().st_size)} "
              f"each, built in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        report = write_report(run)
        render_s = time.perf_counter() - t
        parts = sorted((run / "transcripts").glob("*.js"))
        sizes = [p.stat().st_size for p in parts]
        print(f"render: {render_s:.2f} s")
        print(f"summary page report.html: {mb(report.stat().st_size)}")
        print(f"transcripts: {len(parts)} files, {mb(sum(sizes))} total; index.js "
              f"{mb((run / 'transcripts' / 'index.js').stat().st_size)}, largest part {mb(max(sizes))}")

        policy = root / "policy.yaml"
        policy.write_text("max_level: high\nmin_refusal: {jailbreak_refusal: 0.7}\nbaseline_tolerance: 0.02\n")
        t = time.perf_counter()
        verdict = run_gate(run, policy, base)  # re-renders the report too
        print(f"gate --baseline (+ re-render): {time.perf_counter() - t:.2f} s, "
              f"{len(verdict['checks'])} checks, passed={verdict['passed']}")
        t = time.perf_counter()
        page = write_compare(run, base)
        print(f"compare: {time.perf_counter() - t:.2f} s, {mb(page.stat().st_size)}")
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
