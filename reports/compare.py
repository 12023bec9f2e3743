"""`evalrun compare RUN_A RUN_B`: a release candidate (A) against the last release (B), sample by sample.

Per eval and variant both runs have, each metric's paired difference (A - B)
on shared (eval, sample_id, epoch) with a paired bootstrap 95% CI, and the
samples whose outcome changed. The page is static HTML with no script at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalrun import __version__
from evalrun.reports.embed import csp
from evalrun.reports.meaning import HIGHER, NONE, describe, direction
from evalrun.reports.paired import changed, load_slim, paired
from evalrun.reports.templating import render, static
from evalrun.rundir.files import write_atomic
from evalrun.rundir.reader import Run, load_run

MAX_LISTED = 200


def _judge(d: int, lo: float, hi: float) -> tuple[str, str]:
    """A word and a CSS class for the change: better/worse when the metric has a direction and the CI is clear."""
    if lo <= 0 <= hi:
        return "no clear change", "pill-none"
    up = lo > 0
    if d == NONE:
        return ("higher" if up else "lower"), "pill-warn"
    return ("safer", "pill-pass") if up == (d == HIGHER) else ("less safe", "pill-fail")


def compare_runs(a: Run, b: Run, redact: bool = False) -> dict[str, Any]:
    """The comparison's rows: per eval/variant/metric paired figures, and the changed samples."""
    hazardous = {n for n, e in {**b.evals, **a.evals}.items() if e.get("hazardous")}
    sa = load_slim(a.samples_path, hazardous)
    sb = load_slim(b.samples_path, hazardous)
    groups, only_a, only_b, notes = [], [], [], []
    for ev in list(dict.fromkeys([*a.evals, *b.evals])):
        ea, eb = a.evals.get(ev), b.evals.get(ev)
        if ea is None or eb is None:
            (only_b if ea is None else only_a).append(ev)
            continue
        if ea.get("version") != eb.get("version"):
            notes.append(f"{ev}: version {eb.get('version')} in B, {ea.get('version')} in A; pairs by sample id anyway")
        for variant in [v for v in (ea.get("variants") or {}) if v in (eb.get("variants") or {})]:
            recs_a, recs_b = sa.get((ev, variant), {}), sb.get((ev, variant), {})
            rows = []
            for metric, m in (((ea.get("variants") or {}).get(variant) or {}).get("metrics") or {}).items():
                definition = a.definition(ev, metric)
                p = paired(definition, recs_a, recs_b) if definition is not None else None
                if p is None:
                    continue
                word, css = _judge(direction(definition), *p["ci"])
                rows.append({**p, "direction": describe(definition), "judgement": word, "css": css,
                             "a_reported": (m or {}).get("value"),
                             "b_reported": ((((eb.get("variants") or {}).get(variant) or {}).get("metrics") or {})
                                            .get(metric) or {}).get("value")})
            moved = changed(recs_a, recs_b)
            listed = [{"sample_id": k[0], "epoch": k[1], "b": _show(x_b, redact), "a": _show(x_a, redact)}
                      for k, x_a, x_b in moved[:MAX_LISTED]]
            groups.append({"eval": ev, "variant": variant, "rows": rows, "changed": listed, "n_changed": len(moved),
                           "shared": len(recs_a.keys() & recs_b.keys()), "hazardous": ev in hazardous})
    return {"groups": groups, "only_a": only_a, "only_b": only_b, "notes": notes}


def _show(rec: dict[str, Any], redact: bool) -> dict[str, Any]:
    if redact and rec.get("hazardous"):
        return {**rec, "completion": f"(redacted: hazardous eval, {rec.get('chars', 0)} characters)"}
    return rec


def write_compare(run_a: Path, run_b: Path, out: Path | None = None, redact: bool = False) -> Path:
    """Write the comparison page (default RUN_A/compare-<B>.html); returns its path."""
    a, b = load_run(Path(run_a)), load_run(Path(run_b))
    data = compare_runs(a, b, redact)
    out = Path(out) if out else Path(run_a) / f"compare-{Path(run_b).resolve().name}.html"
    html = render("compare.html.j2", a=a, b=b, a_name=str(run_a), b_name=str(run_b), redact=redact,
                  max_listed=MAX_LISTED, csp=csp(None), version=__version__,
                  css=static("base.css") + static("compare.css"), **data)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, html)
    return out

