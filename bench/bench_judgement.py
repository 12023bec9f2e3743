"""Throughput of the default refusal judgement: completions per second through `refusal_scorer`.

Workload: N completions (default 50,000) cycled from the real completions of XSTest's two labelled
files (900 distinct replies, GPT-4 and Llama-2, from 1 to about 2,000 characters), each scored as
the run pipeline scores it (a `Completion` through `refusal_scorer()`), on one core, in-process.
The classifier has no cache, so repeated texts cost the same as new ones. Prints the figures of
each repeat; nothing is asserted.

    .venv/bin/python bench/bench_judgement.py [--n 50000] [--repeats 3] [--xstest-dir DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

DEFAULT_XSTEST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "xstest"
FILES = ("completions_gpt4_labeled.csv", "completions_llama2new_labeled.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--xstest-dir", type=Path, default=DEFAULT_XSTEST)
    args = parser.parse_args()

    from evalrun.evals.agreement import load_labelled
    from evalrun.evals.core import Completion, Sample, user
    from evalrun.evals.scorers import refusal_scorer

    texts = [r.completion for name in FILES for r in load_labelled(args.xstest_dir / name)]
    completions = [Completion(texts[i % len(texts)]) for i in range(args.n)]
    sample = Sample("bench", [user("q")])
    score = refusal_scorer()
    chars = sum(len(c.text) for c in completions)
    print(f"{args.n} completions ({len(texts)} distinct, mean {chars / args.n:.0f} chars)")
    for rep in range(args.repeats):
        t0 = time.perf_counter()
        labels = [score(sample, c).label for c in completions]
        dt = time.perf_counter() - t0
        refused = sum(x != "complied" for x in labels)
        print(f"repeat {rep + 1}: {dt:.2f} s, {args.n / dt:,.0f} completions/s ({refused} judged refusal)")


if __name__ == "__main__":
    main()
