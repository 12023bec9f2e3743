"""`evalrun agreement LABELS.csv ...`: how well a judgement of completions agrees with human labels.

Scores every completion of one or more human-labelled files (`evals/agreement.py` for the formats)
with a scorer that needs no model (`--scorer default`: the default refusal judgement; `strmatch`: the
file's own string-match column) or with a judge model (`--judge MODEL --judge-format NAME`, all
files' completions in one engine submission), and prints per-file agreement with a 95% CI, Cohen's
kappa, sensitivity / specificity, the confusion matrix and a breakdown by `type`, plus a pooled row.
`--json` prints one JSON object instead. Judge replies that break the format are counted as parse
failures, judge prompts too long for the judge's context as errors; neither enters any figure.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click


@click.command("agreement")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--scorer", default="default", show_default=True, help="default (the refusal judgement) or strmatch.")
@click.option("--judge", help="Judge model (a model dir, demo, or with --engine openai a served name) instead.")
@click.option("--judge-format", default="strongreject", show_default=True,
              help="Judge prompt format that judges refusal: strongreject or wildguard.")
@click.option("--format", "fmt", type=click.Choice(["xstest", "generic"]), help="File format (default: by header).")
@click.option("--split", type=click.Choice(["all", "dev", "heldout"]), default="all", show_default=True,
              help="Only the rows of this half of the fixed hash split.")
@click.option("--limit", type=int, help="At most N rows per file (the first N).")
@click.option("--engine", type=click.Choice(["vllm", "openai"]), default="vllm", show_default=True)
@click.option("--base-url", default="", help="Server URL for --engine openai.")
@click.option("--dtype", default="auto", show_default=True)
@click.option("--max-model-len", type=int)
@click.option("--kv-cache-gb", type=float)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--write-calibration", type=click.Path(path_type=Path),
              help="Also write the pooled counts as a calibration JSON (evals/calibration.py reads it).")
def agreement_cmd(files: tuple[Path, ...], scorer: str, judge: str | None, judge_format: str, fmt: str | None,
                  split: str, limit: int | None, engine: str, base_url: str, dtype: str, max_model_len: int | None,
                  kv_cache_gb: float | None, as_json: bool, write_calibration: Path | None) -> None:
    """Agreement of a refusal judgement with human labels (XSTest completion files or a generic CSV)."""
    from evalrun.evals.agreement import Agreement, load_labelled, measure, score_rows
    from evalrun.evals.errors import InputError

    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    if engine == "openai" and not base_url:
        raise InputError("--engine openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
    per_file = []
    for path in files:
        rows = [r for r in load_labelled(path, fmt) if split == "all" or r.split == split][:limit]
        if not rows:
            raise InputError(f"{path}: no rows in the {split} split")
        per_file.append((path, rows))
    if judge:
        from evalrun.runner.engine import EngineOptions

        options = EngineOptions(dtype=dtype, max_model_len=max_model_len, kv_cache_gb=kv_cache_gb, base_url=base_url,
                                api_key=os.environ.get("OPENAI_API_KEY", ""))
        calls, errors = _judge_calls(judge, judge_format, engine, options, [rows for _, rows in per_file])
        name = f"judge {judge} ({judge_format})"
    else:
        calls = [score_rows(rows, scorer) for _, rows in per_file]
        errors = [[False] * len(rows) for _, rows in per_file]
        name = f"scorer {scorer}"
    pooled = Agreement()
    out_files = []
    for (path, rows), file_calls, file_errors in zip(per_file, calls, errors, strict=True):
        kept = [(r, c) for r, c, e in zip(rows, file_calls, file_errors, strict=True) if not e]
        result = measure([r for r, _ in kept], [c for _, c in kept])
        pooled.merge(result)
        out_files.append({"file": str(path), **result.to_dict(), "errors": sum(file_errors)})
    report = {"judgement": name, "split": split, "files": out_files,
              "pooled": {**pooled.to_dict(), "errors": sum(f["errors"] for f in out_files)}}
    if write_calibration:
        from evalrun.rundir.files import write_json

        write_json(write_calibration, {
            "judgement": name, "counts": report["pooled"]["confusion"],
            "sensitivity": report["pooled"]["sensitivity"], "specificity": report["pooled"]["specificity"],
            "source": "evalrun agreement --split " + split + " " + " ".join(Path(f).name for f in files),
        })
    click.echo(json.dumps(report, indent=2) if as_json else _table(report))


def _judge_calls(judge: str, format_name: str, engine: str, options, files: list[list]):
    """Each row's refusal call by the judge model (None: reply not parsed), and whether it could not run."""
    from evalrun.evals.errors import InputError
    from evalrun.evals.judge_formats import get_format
    from evalrun.runner.context import RunConfig
    from evalrun.runner.generate import engine_options, make_engine
    from evalrun.runner.judging import judge_request
    from evalrun.runner.prepare import resolve

    fmt = get_format(format_name)
    if not fmt.judges_refusal:
        raise InputError(f"judge format {fmt.name} judges harm, not refusal; agreement with refusal labels needs "
                         "strongreject or wildguard")
    config = RunConfig(model=judge, suite="", engine=engine, options=options, progress=False)
    ref = resolve(config, judge)
    flat = [r for rows in files for r in rows]
    requests = [judge_request(ref, fmt, f"agreement:{r.source}:{r.id}:{i}", "agreement", r.prompt, r.completion,
                              eval_version=1, variant="base", sample_id=r.id, epoch=0) for i, r in enumerate(flat)]
    replies: dict[int, object] = {}
    with tempfile.TemporaryDirectory(prefix="evalrun-agreement-") as tmp:
        log = Path(tmp) / "engine.log"
        eng = make_engine(config, ref.path, engine_options(config, ref), log)
        # The engine's processes inherit stdout: point it at the log while they run, so --json stays JSON.
        saved, fd = os.dup(1), os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.dup2(fd, 1)
            eng.generate(requests, lambda batch: replies.update(batch))
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(fd)
    calls, errors, i = [], [], 0
    for rows in files:
        calls.append([]), errors.append([])
        for _ in rows:
            completion = replies[i]
            verdict = fmt.parse(completion.text)
            calls[-1].append(None if verdict is None else verdict.refused)
            errors[-1].append(completion.finish_reason == "prompt_too_long")
            i += 1
    return calls, errors


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


def _table(report: dict) -> str:
    lines = [f"agreement with human labels: {report['judgement']}, split {report['split']}",
             f"{'file':<44} {'n':>5} {'agreement':>10} {'95% CI':>17} {'kappa':>6} {'sens':>6} {'spec':>6} "
             f"{'unparsed':>8} {'errors':>6}"]
    for row in [*report["files"], {"file": "pooled", **report["pooled"]}]:
        ci = "-" if row["ci"] is None else f"[{row['ci'][0]:.3f}, {row['ci'][1]:.3f}]"
        kappa = "-" if row["kappa"] is None else f"{row['kappa']:.3f}"
        lines.append(f"{Path(row['file']).name if row['file'] != 'pooled' else 'pooled':<44} {row['n']:>5} "
                     f"{_pct(row['agreement']):>10} {ci:>17} {kappa:>6} {_pct(row['sensitivity']):>6} "
                     f"{_pct(row['specificity']):>6} {row['parse_failures']:>8} {row['errors']:>6}")
    c = report["pooled"]["confusion"]
    lines += ["", "pooled confusion (refusal = positive): human refusal judged refusal "
              f"{c['tp']}, judged compliance {c['fn']}; human compliance judged refusal {c['fp']}, "
              f"judged compliance {c['tn']}", "", "pooled by type:"]
    lines += [f"  {t:<32} {b['n']:>5} {_pct(b['agreement']):>7}" for t, b in report["pooled"]["by_type"].items()]
    return "\n".join(lines)
