"""The reporting commands: report, view, index, compare, gate.

Only click and the standard library load at import; jinja2, matplotlib and
numpy load inside each command, so `evalrun --help` stays fast. Bad input
raises InputError, which the CLI turns into one line and exit 2.
"""

from __future__ import annotations

from pathlib import Path

import click
from evalrun.rundir.files import DEFAULT_RUNS_DIR

EXIT_GATE_FAILED = 3
_dir = click.Path(path_type=Path, file_okay=False)


def _need_dir(path: Path, what: str) -> None:
    from evalrun.evals.errors import InputError

    if not path.is_dir():
        raise InputError(f"{what} {path} not found")


def _redaction(runs: list[Path], asked: bool | None) -> bool:
    """--redact / --no-redact as given; by default redacted when any run is (its manifest or its last report)."""
    if asked is not None:
        return asked
    from evalrun.reports.html import previous_redaction
    from evalrun.rundir.files import MANIFEST, read_json

    def redacted(run: Path) -> bool:
        manifest = read_json(run / MANIFEST) if (run / MANIFEST).is_file() else {}
        return (isinstance(manifest, dict) and manifest.get("redact") is True) or previous_redaction(run)

    return any(redacted(r) for r in runs)


def _writable(run_dir: Path, hint: str = "") -> None:
    """An InputError unless new files can be written into run_dir (a read-only artifact, a mounted share)."""
    import os

    from evalrun.evals.errors import InputError

    if not os.access(run_dir, os.W_OK | os.X_OK):
        raise InputError(f"run directory {run_dir} is read-only; {hint or 'copy it somewhere writable first'}")


_REDACT = click.option("--redact/--no-redact", default=None,
                       help="Hide completions of hazardous evals (default: as the run was, e.g. a --redact run).")


@click.command("report")
@click.argument("run_dir", type=_dir)
@_REDACT
def report_cmd(run_dir: Path, redact: bool | None) -> None:
    """Re-render RUN_DIR/report.html from the run's files."""
    from evalrun.reports.html import write_report

    _need_dir(run_dir, "run directory")
    _writable(run_dir, "copy it somewhere writable to re-render its report")
    click.echo(str(write_report(run_dir, redact=_redaction([run_dir], redact))))


@click.command("index")
@click.argument("runs_dir", type=_dir, default=DEFAULT_RUNS_DIR, required=False)
def index_cmd(runs_dir: Path) -> None:
    """Write RUNS_DIR/index.html: a sortable table of every run under RUNS_DIR (default evalrun-runs)."""
    from evalrun.reports.index import write_index

    _need_dir(runs_dir, "runs directory")
    click.echo(str(write_index(runs_dir)))


@click.command("view")
@click.argument("runs_dir", type=_dir, default=DEFAULT_RUNS_DIR, required=False)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
def view_cmd(runs_dir: Path, port: int) -> None:
    """Browse the runs under RUNS_DIR (default evalrun-runs) at http://127.0.0.1:PORT/ until Ctrl-C."""
    from evalrun.evals.errors import InputError
    from evalrun.reports.server import make_server, url

    _need_dir(runs_dir, "runs directory")
    try:
        server = make_server(runs_dir, port)
    except OSError as e:
        raise InputError(f"cannot listen on 127.0.0.1:{port}: {e.strerror}; pick another --port") from None
    click.echo(f"serving {runs_dir} at {url(server)} (127.0.0.1 only; Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@click.command("compare")
@click.argument("run_a", type=_dir)
@click.argument("run_b", type=_dir)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the page (default RUN_A/compare-<RUN_B name>.html).")
@_REDACT
def compare_cmd(run_a: Path, run_b: Path, out: Path | None, redact: bool | None) -> None:
    """Compare RUN_A (candidate) with RUN_B (baseline) on their shared samples: paired deltas and changed outcomes."""
    from evalrun.reports.compare import write_compare

    _need_dir(run_a, "run directory")
    _need_dir(run_b, "run directory")
    if out is None:
        _writable(run_a, "pass --out FILE to write the comparison elsewhere")
    click.echo(str(write_compare(run_a, run_b, out, _redaction([run_a, run_b], redact))))


@click.command("gate")
@click.argument("run_dir", type=_dir)
@click.option("--policy", "policy_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Policy YAML (default: the `gate:` section of the run's suite file).")
@click.option("--baseline", type=_dir, help="Run dir of the last release: fail on regressions against it.")
def gate_cmd(run_dir: Path, policy_file: Path | None, baseline: Path | None) -> None:
    """Check RUN_DIR against the release policy; write verdict.json and junit.xml (exit 0 passed, 3 failed)."""
    from evalrun.reports.gate import format_table, run_gate

    _need_dir(run_dir, "run directory")
    _writable(run_dir, "the gate writes verdict.json and junit.xml into it: copy it somewhere writable first")
    verdict = run_gate(run_dir, policy_file, baseline)
    click.echo(format_table(verdict))
    click.echo(f"wrote {run_dir / 'verdict.json'} and {run_dir / 'junit.xml'}")
    if not verdict["passed"]:
        raise click.exceptions.Exit(EXIT_GATE_FAILED)


COMMANDS = [report_cmd, index_cmd, view_cmd, compare_cmd, gate_cmd]
