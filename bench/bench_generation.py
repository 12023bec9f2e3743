"""evalrun vs raw `vllm.LLM` on the same requests, end to end, on the demo model (CPU).

Workload (the field comparison in DEVELOPERS.md): 500 multiple-choice items (CTIBench MCQ) and the
313 StrongREJECT prompts generated greedily up to 128 tokens. Both sides run as fresh processes and
are timed as wall clock from process start to exit, engine load included:

- raw: one `LLM`, prompts rendered with the chat template, one `generate` call for everything
  (multiple choice as max_tokens=1 with `logprob_token_ids` of the labels);
- evalrun: the real CLI path (plan, journal, worker process, scoring, results, report).

    .venv/bin/python bench/bench_generation.py [--data-dir ../shared/datasets] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from cli_run import timed_command  # bench/cli_run.py, beside this script

HERE = Path(__file__).resolve()
DEFAULT_DATA = HERE.parents[2] / "shared" / "datasets"
N_MCQ, MAX_TOKENS = 500, 128


def register_bench_evals() -> None:
    """Two evals with exactly the benchmark's workload."""
    from evalrun.evals import Eval, accuracy, choice_scorer, rate, refusal_scorer, register
    from evalrun.evals.loaders import load_ctibench_mcq, load_strongreject

    @register("bench_mcq", category="bench")
    def bench_mcq(data):
        return Eval(samples=load_ctibench_mcq(data)[:N_MCQ], scorer=choice_scorer(), metrics=[accuracy()])

    @register("bench_gen", category="bench")
    def bench_gen(data):
        return Eval(samples=load_strongreject(data), scorer=refusal_scorer(), metrics=[rate("refused")],
                    max_tokens=MAX_TOKENS)


def evalrun_side(data_dir: str, out: str) -> None:
    from evalrun.cli.main import main

    register_bench_evals()
    suite = Path(out).parent / "bench.yaml"
    suite.write_text("name: bench\nevals: [bench_mcq, bench_gen]\n")
    sys.exit(main(["--model", "demo", "--suite", str(suite), "--data-dir", data_dir, "--out", out, "--no-progress"]))


def raw_side(data_dir: str, model: str) -> None:
    import os

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    from evalrun.evals import DataSource
    from evalrun.evals.loaders import load_ctibench_mcq, load_strongreject
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    data = DataSource([data_dir])
    mcq, gen = load_ctibench_mcq(data)[:N_MCQ], load_strongreject(data)
    llm = LLM(model=model, dtype="float32", enforce_eager=True, seed=0)
    t_loaded = time.perf_counter()
    tok = llm.get_tokenizer()

    def ids(messages):
        return tok.encode(tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False),
                          add_special_tokens=False)

    label_ids = [tok.encode(x, add_special_tokens=False)[0] for x in "ABCD"]
    prompts = [TokensPrompt(prompt_token_ids=ids(s.messages)) for s in mcq + gen]
    params = [SamplingParams(max_tokens=1, temperature=0, logprob_token_ids=label_ids[: len(s.choices)])
              for s in mcq] + [SamplingParams(max_tokens=MAX_TOKENS, temperature=0) for _ in gen]
    t_rendered = time.perf_counter()
    outs = llm.generate(prompts, params, use_tqdm=False)
    t_done = time.perf_counter()
    tokens = sum(len(o.outputs[0].token_ids) for o in outs)
    print("BENCH " + json.dumps({"render_s": t_rendered - t_loaded, "generate_s": t_done - t_rendered,
                                 "output_tokens": tokens}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--side", choices=["raw", "evalrun"], help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side == "raw":
        return raw_side(args.data_dir, args.model)
    if args.side == "evalrun":
        return evalrun_side(args.data_dir, args.out)

    from evalrun.models.demo import demo_model_path

    model = str(demo_model_path())
    rows = []
    for rep in range(args.repeats):
        raw_wall, raw_out = timed_command([sys.executable, str(HERE), "--side", "raw", "--data-dir", args.data_dir,
                                           "--model", model])
        with tempfile.TemporaryDirectory() as tmp:
            out = str(Path(tmp) / "run")
            ev_wall, _ = timed_command([sys.executable, str(HERE), "--side", "evalrun", "--data-dir", args.data_dir,
                                        "--out", out])
            manifest = json.loads((Path(out) / "manifest.json").read_text())
        raw = json.loads(next(line[6:] for line in raw_out.splitlines() if line.startswith("BENCH ")))
        ev = {k: manifest["timings"][k] for k in ("render_s", "generate_s")}
        ev["output_tokens"] = sum(e.get("output_tokens", 0) for e in manifest["engines"])
        rows.append((raw_wall, ev_wall, raw["generate_s"], ev["generate_s"]))
        print(f"repeat {rep + 1}: {N_MCQ} MCQ + 313 generations (max {MAX_TOKENS} tokens)")
        for name, wall, side in (("raw vllm.LLM", raw_wall, raw), ("evalrun", ev_wall, ev)):
            print(f"  {name:14} wall {wall:7.2f} s   render {side['render_s']:5.2f} s   "
                  f"generate {side['generate_s']:6.2f} s   {side['output_tokens']} output tokens")
        print(f"  ratio evalrun/raw: wall {ev_wall / raw_wall:.3f}x   "
              f"generate {ev['generate_s'] / raw['generate_s']:.3f}x")
    if len(rows) > 1:  # the first repeat pays for cold file caches on both sides; the median is the figure to quote
        walls = sorted(ev / raw for raw, ev, _, _ in rows)
        gens = sorted(ev / raw for _, _, raw, ev in rows)
        print(f"median over {len(rows)} repeats: wall {walls[len(rows) // 2]:.3f}x   "
              f"generate {gens[len(rows) // 2]:.3f}x")


if __name__ == "__main__":
    main()
