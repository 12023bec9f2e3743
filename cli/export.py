"""`evalrun export --redact RUN OUT`: a copy of a run that is safe to share (a CI artifact, a bug report).

Nothing a model wrote for a hazardous eval reaches OUT, in any file: the
copy's samples.jsonl and journal are scrubbed, its manifest says `redact:
true`, engine.log and rendered pages stay behind, and report.html is
rendered afresh, redacted. The figures (results.json, verdict.json) are
copied byte for byte, so the gate's verdict still matches them.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export")
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--redact", is_flag=True, help="Required: leave out every completion of a hazardous eval.")
def export_cmd(run_dir: Path, out: Path, redact: bool) -> None:
    """Write a shareable copy of RUN_DIR to the new directory OUT, hazardous completions removed."""
    from evalrun.evals.errors import InputError

    if not redact:
        raise InputError("export only writes redacted copies; pass --redact (evalrun export --redact RUN OUT)")
    if not run_dir.is_dir():
        raise InputError(f"run directory {run_dir} not found")
    from evalrun.reports.html import write_report
    from evalrun.runner.redact import export_run

    export_run(run_dir, out)
    write_report(out, redact=True)
    click.echo(str(out))
