"""The `evalrun` command line.

    evalrun --model PATH --suite NAME [options]   run a suite (exit 0 passed, 1 failed run, 2 bad input, 3 gate failed)
    evalrun list                                  suites and evals
    evalrun demo-model [--out DIR]                build the built-in demo model

Only click and the standard library are imported at start-up: torch and vLLM
load when a run needs them, so `--help` and `list` stay fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

EXIT_PASSED, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_GATE_FAILED = 0, 1, 2, 3


def _debug() -> bool:
    return "--debug" in sys.argv or os.environ.get("EVALRUN_DEBUG") == "1"


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", help="Model directory, hub id (org/name), or `demo` for the built-in demo model.")
@click.option("--suite", help="Suite name (see `evalrun list`) or path to a suite .yaml file.")
@click.option("--out", type=click.Path(path_type=Path), help="Run directory; rerunning with the same --out resumes.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N samples per eval (a stable subset).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for sampling and modifications.")
@click.option("--data-dir", "data_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Directory holding public benchmark files; searched before the built-in items. Repeatable.")
@click.option("--engine", type=click.Choice(["vllm", "openai"]), default="vllm", show_default=True,
              help="vllm: load the model here; openai: use an OpenAI-compatible server (--base-url).")
@click.option("--base-url", default="", help="Server URL for --engine openai, e.g. http://127.0.0.1:8000/v1.")
@click.option("--dtype", default="auto", show_default=True, help="Weights dtype for vLLM.")
@click.option("--max-model-len", type=click.IntRange(min=1), help="Context length for vLLM.")
@click.option("--tensor-parallel-size", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--pipeline-parallel-size", type=int, default=1, show_default=True,
              help="Pipeline stages of one engine (with --distributed-executor-backend ray: across nodes).")
@click.option("--distributed-executor-backend", type=click.Choice(["ray", "mp", "uni"]),
              help="vLLM's own executor for one engine over several GPUs/nodes (ray needs GPUs; not on CPU).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", metavar="[ADDRESS]",
              help="Run engine replicas on Ray: no address starts a local cluster, `auto` joins the running "
                   "one, HOST:PORT a remote head (needs the cluster extra).")
@click.option("--replicas", type=int, help="Engine replicas on the Ray cluster (with --ray; default 1).")
@click.option("--enforce-eager/--no-enforce-eager", default=None, help="Skip graph compilation (default: on CPU).")
@click.option("--kv-cache-gb", type=click.FloatRange(min=0, min_open=True),
              help="KV cache size in GiB (default 2 on CPU).")
@click.option("--concurrency", type=click.IntRange(1, 4096), default=16, show_default=True,
              help="Parallel requests for --engine openai.")
@click.option("--variant", "variants", multiple=True, metavar="NAME=PATH",
              help="Also evaluate a ready-made variant: a LoRA adapter dir or a full checkpoint dir. Repeatable.")
@click.option("--judge", help="Judge model (a model dir, or demo) for evals graded by a rubric judge.")
@click.option("--judge-format", help="Judge prompt format: strongreject (default), wildguard, harmbench, "
              "llama_guard3, llama_guard4.")
@click.option("--gate", is_flag=True, help="Judge the run against the suite's gate policy: exit 3 if it fails.")
@click.option("--policy", type=click.Path(path_type=Path), help="Gate policy YAML (overrides the suite's gate:).")
@click.option("--baseline", type=click.Path(path_type=Path), help="Run dir of the last release, for non-regression.")
@click.option("--redact", is_flag=True, help="Hide completions of hazardous evals in the report.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--debug", is_flag=True, help="Show tracebacks and engine logs.")
@click.version_option(package_name="evalrun")
@click.pass_context
def cli(ctx: click.Context, **opts) -> None:
    """Evaluate an open-weight model's dangerous capabilities and safeguards, and gate its release."""
    if ctx.invoked_subcommand is not None:
        return
    if not opts["model"] or not opts["suite"]:
        raise click.UsageError("give --model and --suite (e.g. `evalrun --model demo --suite smoke`), or a command")
    from evalrun.runner.engine import EngineOptions
    from evalrun.runner.run import RunConfig, run

    if opts["engine"] == "openai" and not opts["base_url"]:
        raise click.UsageError("--engine openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
    from evalrun.cli.checks import check_before_run, previously_redacted

    check_before_run(opts)  # gate policy, baseline, judge, parallel layout: before anything loads
    redact = opts["redact"] or previously_redacted(opts["out"])
    ray_opts = _ray_options(opts)
    options = EngineOptions(
        dtype=opts["dtype"], max_model_len=opts["max_model_len"], tensor_parallel_size=opts["tensor_parallel_size"],
        pipeline_parallel_size=opts["pipeline_parallel_size"],
        distributed_executor_backend=opts["distributed_executor_backend"], enforce_eager=opts["enforce_eager"],
        kv_cache_gb=opts["kv_cache_gb"], seed=opts["seed"],
        base_url=opts["base_url"], api_key=os.environ.get("OPENAI_API_KEY", ""), concurrency=opts["concurrency"],
        debug=opts["debug"],
    )
    config = RunConfig(
        model=opts["model"], suite=opts["suite"], out=opts["out"], limit=opts["limit"], seed=opts["seed"],
        data_dirs=list(opts["data_dirs"]), engine=opts["engine"], options=options,
        progress=not opts["no_progress"], variants=list(opts["variants"]), judge=opts["judge"],
        judge_format=opts["judge_format"],
        argv=sys.argv[1:], ray=ray_opts,
    )
    outcome = run(config)
    _print_summary(outcome)
    for variant, reason in outcome.failed.items():
        click.echo(f"evalrun: error: variant {variant} failed: {reason} (the other results are kept)", err=True)
    code = EXIT_RUN_FAILED if outcome.failed else EXIT_PASSED
    if redact:  # a property of the run: hazardous completions leave samples.jsonl and the journal too
        from evalrun.runner.redact import redact_run

        redact_run(outcome.run_dir)
    if opts["gate"]:
        from evalrun.reports.gate import format_table, run_gate

        verdict = run_gate(outcome.run_dir, opts["policy"], opts["baseline"], render_report=False)
        click.echo(format_table(verdict))
        if not verdict["passed"] and code == EXIT_PASSED:
            code = EXIT_GATE_FAILED
    from evalrun.reports.html import write_report

    write_report(outcome.run_dir, redact=redact)  # once, after the verdict it shows
    from evalrun.rundir.files import finish_run

    finish_run(outcome.run_dir)  # evalrun #14: `complete` only now that the report and verdict exist
    ctx.exit(code)


def _ray_options(opts: dict):
    """--ray/--replicas as RayOptions (None without --ray); bad combinations are input errors."""
    from evalrun.evals.errors import InputError

    if opts["ray_address"] is None:
        if opts["replicas"] is not None:
            raise InputError("--replicas needs --ray (e.g. `--ray --replicas 2` for a local cluster)")
        return None
    if opts["engine"] != "vllm":
        raise InputError("--ray runs vLLM engine replicas: it needs --engine vllm")
    from evalrun.runner.ray_cluster import LOCAL, RayOptions, check_options

    address = LOCAL if opts["ray_address"] in ("local", "") else opts["ray_address"]
    ray_opts = RayOptions(address=address, replicas=1 if opts["replicas"] is None else opts["replicas"])
    check_options(ray_opts)
    return ray_opts


def _print_summary(outcome) -> None:
    for name, ev in outcome.results["evals"].items():
        for variant, v in ev["variants"].items():
            figures = ", ".join(
                f"{m}={val['value']:.3f} [{val['ci'][0]:.3f}, {val['ci'][1]:.3f}] (n={val['n']})"
                for m, val in v["metrics"].items() if val["value"] is not None
            )
            errors = f" ({v['errors']} requests could not run: see outcomes)" if v.get("errors") else ""
            click.echo(f"{name} [{variant}]: {figures or 'no scored samples'}{errors}")
    for category, c in (outcome.results.get("categories") or {}).items():  # the worst case decides (evalrun #9)
        released = (c.get("as_released") or {}).get("level")
        over = f"worst case over {len(c.get('by_variant') or {})} variants, decided by {c.get('deciding_variant')}"
        click.echo(f"risk level [{category}]: {c.get('level')} ({over}; as released: {released})")
    click.echo(f"generated {outcome.generated}, resumed {outcome.resumed} from the journal")
    click.echo(f"run dir: {outcome.run_dir}")
    click.echo(f"report: {outcome.run_dir / 'report.html'}")


@cli.command("list")
@click.option("--data-dir", "data_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Also show which evals can run from the benchmark files in DIR, with how many samples.")
def list_cmd(data_dirs: tuple[Path, ...]) -> None:
    """List suites and evals (name, category, version, samples)."""
    from evalrun.evals.data import DataSource
    from evalrun.evals.errors import EvalrunError
    from evalrun.evals.registry import all_specs
    from evalrun.runner.suite import builtin_suites, load_suite

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # listing never downloads: hub-only evals show "needs --data-dir"
    click.echo("Suites:")
    for name, path in builtin_suites().items():
        suite = load_suite(str(path))
        click.echo(f"  {name:<20} v{suite.version}  {len(suite.eval_names)} evals  {suite.description}")
    click.echo("Evals:")
    data = DataSource()
    for name, spec in all_specs().items():
        try:
            n = f"{len(spec.factory(data).samples)} samples"
        except EvalrunError:
            n = "--data-dir"
        click.echo(f"  {name:<24} {spec.category:<22} v{spec.version}  {n:>12}  {spec.description}")
    if data_dirs:
        from evalrun.cli.listing import echo_runnable

        echo_runnable(list(data_dirs))


@cli.command("demo-model")
@click.option("--out", type=click.Path(path_type=Path), help="Where to write it (default: the user cache dir).")
@click.option("--seed", type=int, default=0, show_default=True)
def demo_model_cmd(out: Path | None, seed: int) -> None:
    """Build the built-in demo model (SmolLM2-135M's first layers, safety-tuned here in minutes)."""
    from evalrun.models.demo import build_demo_model, demo_model_path

    path = build_demo_model(out, seed=seed) if out else demo_model_path(seed=seed)
    click.echo(str(path))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map errors to one line and an exit code."""
    from click.exceptions import Abort, ClickException, Exit
    from evalrun.rundir.files import disk_full, end_held_runs  # evalrun #14: status and disk-full handling
    from evalrun.runner.interrupts import sigterm_as_interrupt

    sigterm_as_interrupt()  # a terminated run ends as an interrupted one (status recorded, engine ended)
    try:
        code = cli.main(args=argv, prog_name="evalrun", standalone_mode=False)
        if isinstance(code, int):  # ctx.exit(code) is returned, not raised, without standalone mode
            return code
    except Exit as e:
        return e.exit_code
    except ClickException as e:  # one line, as every other error (click's own usage text is four)
        hint = " (see evalrun --help)" if isinstance(e, click.UsageError) else ""
        click.echo(f"evalrun: error: {' '.join(e.format_message().split())}{hint}", err=True)
        return EXIT_USAGE if e.exit_code == 2 else e.exit_code
    except (Abort, KeyboardInterrupt):
        end_held_runs("interrupted")
        click.echo("evalrun: interrupted; finished results are kept, rerun the same command to resume", err=True)
        return 130
    except Exception as e:  # noqa: BLE001 - the one place errors become exit codes
        from evalrun.evals.errors import EvalrunError

        e = disk_full(e) or e
        end_held_runs("failed")
        if _debug():
            traceback.print_exc()
        if isinstance(e, EvalrunError):
            click.echo(f"evalrun: error: {e}", err=True)
            return e.exit_code
        click.echo(f"evalrun: internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback)", err=True)
        return EXIT_RUN_FAILED
    return EXIT_PASSED


from evalrun.cli.agreement import agreement_cmd  # noqa: E402
from evalrun.cli.export import export_cmd  # noqa: E402
from evalrun.cli.reports import compare_cmd, gate_cmd, index_cmd, report_cmd, view_cmd  # noqa: E402

cli.add_command(report_cmd)
cli.add_command(view_cmd)
cli.add_command(index_cmd)
cli.add_command(compare_cmd)
cli.add_command(gate_cmd)
cli.add_command(export_cmd)
cli.add_command(agreement_cmd)


if __name__ == "__main__":
    sys.exit(main())
