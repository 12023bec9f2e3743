"""Checks of a run's options that need no model: done before anything loads, so bad input costs nothing.

A real model pays minutes of engine start-up and generation before the gate,
the judge or the baseline are looked at; every one of them that can be
checked from the files alone is checked here, and a bad one is one line and
exit 2 (InputError). Only click and the standard library load at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def check_before_run(opts: dict[str, Any]) -> None:
    """InputErrors for the gate options, the judge and the model's parallel layout; a note for skipped work."""
    from evalrun.evals.errors import InputError
    from evalrun.runner.suite import load_suite

    suite = load_suite(opts["suite"])
    given = [f"--{k}" for k in ("policy", "baseline") if opts.get(k)]
    if given and not opts["gate"]:
        verb = "takes" if len(given) == 1 else "take"
        raise InputError(f"{' and '.join(given)} {verb} effect only with --gate; add --gate to judge the run")
    if opts["gate"]:
        _check_gate(suite, opts.get("policy"), opts.get("baseline"))
    if opts.get("judge"):
        _check_model_spec(opts["judge"], "judge model")
    if opts["engine"] == "vllm":
        _check_parallel(opts["model"], opts.get("tensor_parallel_size") or 1)
    elif suite.modifications:
        names = ", ".join(str(m.get("name", m.get("kind", "?")) if isinstance(m, dict) else m)
                          for m in suite.modifications)
        click.echo(f"evalrun: note: the suite's modifications ({names}) are skipped: they need the model's "
                   "weights here (--engine vllm with a local model dir)", err=True)


def _check_gate(suite, policy: Path | None, baseline: Path | None) -> None:
    from evalrun.evals.errors import InputError
    from evalrun.reports import policy as policies
    from evalrun.rundir.reader import load_run

    if policy is not None:
        policies.load_file(Path(policy))
    elif not suite.gate:
        raise InputError(f"suite {suite.name} ({suite.path}) has no `gate:` section; add one or pass --policy FILE")
    else:
        policies.parse(suite.gate, f"{suite.path} (gate:)")
    if baseline is not None:
        if not Path(baseline).is_dir():
            raise InputError(f"baseline run directory {baseline} not found; pass the run dir of the last release")
        load_run(Path(baseline))


def _check_model_spec(spec: str, what: str) -> None:
    """`demo`, a hub id, or a local model dir that passes the pre-engine checks."""
    from evalrun.models.ref import HUB_ID, check_model_dir

    path = Path(spec).expanduser()
    if spec != "demo" and (path.exists() or not HUB_ID.match(spec)):
        check_model_dir(path, what)


def _check_parallel(spec: str, tensor_parallel_size: int) -> None:
    from evalrun.models.ref import check_parallel

    path = Path(spec).expanduser()
    if spec != "demo" and (path / "config.json").is_file():
        check_parallel(path, tensor_parallel_size)


def previously_redacted(out: Path | None) -> bool:
    """Whether --out names a run that is already redacted (a resume keeps it so, with or without --redact)."""
    if out is None:
        return False
    from evalrun.runner.redact import is_redacted

    return is_redacted(Path(out))
