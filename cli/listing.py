"""`evalrun list --data-dir DIR`: which evals can run from the files in DIR, with how many samples.

Each eval is built as a run would build it (published names, every value of a fixed-choice option such
as HarmBench's `split` or CyberMetric's `size`), offline, so a user sees what their download holds
before starting a model; an eval that reads nothing from DIR (built-in items only) is left to the table
above.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

BUILTIN = "built-in items only"


def _variants(name: str) -> list[dict[str, Any]]:
    """The option sets to try: each value of each fixed-choice option, or no options at all."""
    from evalrun.evals.registry import option_choices

    combos = [{key: value} for key, values in option_choices(name).items() for value in values]
    return combos or [{}]


def _from_dirs(name: str, options: dict[str, Any], dirs: list[Path]) -> tuple[int, list[str]] | str:
    """(samples, files read under `dirs`) when the eval builds from them, else why not (first clause)."""
    from evalrun.evals.data import DataSource
    from evalrun.evals.errors import EvalrunError
    from evalrun.evals.registry import load_eval

    data = DataSource(dirs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # row-level warnings belong to runs, not to a listing
            ev = load_eval(name, data, options)
    except EvalrunError as e:
        return str(e).split("; ")[0]
    files = [f["path"] for f in data.files_used().get(name, [])]
    roots = [d.resolve() for d in dirs]
    mine = [str(Path(f).relative_to(r)) for f in files for r in roots if Path(f).is_relative_to(r)]
    return (len(ev.samples), mine) if mine else BUILTIN


def echo_runnable(dirs: list[Path]) -> None:
    """Print the evals that can run from `dirs`, one line per option set, then those that cannot."""
    from evalrun.evals.data import DataSource
    from evalrun.evals.registry import all_specs

    DataSource(dirs)  # a missing dir is an input error, not a list of evals that cannot run
    click.echo(f"From {', '.join(map(str, dirs))}:")
    missing = []
    for name in all_specs():
        outcomes = [(options, _from_dirs(name, options, dirs)) for options in _variants(name)]
        if any(got == BUILTIN for _, got in outcomes):
            continue  # the table above has it
        found = False
        for options, got in outcomes:
            if isinstance(got, str):
                continue
            found = True
            opts = " ".join(f"{k}={v}" for k, v in options.items())
            click.echo(f"  {name:<24} {opts:<12} {got[0]:>7} samples  {', '.join(got[1])}")
        if not found:
            missing.append(name)
    click.echo(f"  not runnable from there (no published file found): {', '.join(missing) or 'none'}")
