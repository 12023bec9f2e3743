"""Render a run's report.html from its results.json, samples.jsonl and manifest.json alone (no model needed).

The page is self-contained and works offline from a CI artifact: styles,
scripts and charts (SVG) are inline, and the transcripts sit in
`transcripts/` beside it (or inside it, for small runs). A strict
Content-Security-Policy allows only the page's own nonce'd script.
"""

from __future__ import annotations

from pathlib import Path

from evalrun import __version__
from evalrun.reports import charts, summary, transcripts
from evalrun.reports.embed import csp, new_token, safe_json
from evalrun.reports.templating import render, static
from evalrun.rundir.files import write_atomic
from evalrun.rundir.reader import REPORT, RESULTS, SAMPLES, file_sha256, load_run


def _mark(svg: str | None):
    from markupsafe import Markup

    return Markup(svg) if svg else None  # matplotlib's own XML output; it escapes every text it writes


def write_report(run_dir: Path, redact: bool = False) -> Path:
    """Write run_dir/report.html (and its transcript files); returns the report's path."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    transcripts.remove_stale_tmp(run_dir)
    token = new_token()
    tx = transcripts.build(run, token, redact)
    results = run.results
    chart_svgs = {
        "categories": _mark(charts.category_chart(results.get("categories") or {})),
        "jailbreaks": _mark(charts.jailbreak_chart(results.get("safeguards") or {})),
        "deltas": _mark(charts.delta_chart(results.get("comparisons") or {}, summary.directions(results))),
        "durability": _mark(charts.durability_chart(results.get("durability") or {})),
    }
    from markupsafe import Markup

    html = render(
        "report.html.j2",
        csp=csp(token), nonce=token, redact=redact, version=__version__, run_name=str(run_dir),
        model=results.get("model") or run.manifest.get("model") or {},
        suite=results.get("suite") or run.manifest.get("suite") or {},
        created=results.get("created") or run.manifest.get("started") or "",
        status=run.manifest.get("status"), variants=run.variant_names(), n_samples=tx.meta["total"],
        verdict=summary.verdict(run), figures=summary.key_figures(results),
        scorecard=summary.scorecard(results), safeguards=summary.safeguards(results),
        modifications=summary.modifications(results), elicitation=summary.elicitation(results),
        marginal=summary.marginal(results), judgement=results.get("judgement"),
        evals=summary.eval_rows(run), prov=summary.provenance(run),
        hashes=[("results.json sha256", file_sha256(run_dir / RESULTS)),
                ("samples.jsonl sha256", file_sha256(run_dir / SAMPLES))],
        charts=chart_svgs, mode=tx.meta["mode"], meta_json=Markup(safe_json(tx.meta)),
        inline={name: Markup(text) for name, text in tx.inline.items()},
        css=static("base.css") + static("report.css"), js=static("report.js"),
    )
    out = run_dir / REPORT
    write_atomic(out, html)
    return out


def previous_redaction(run_dir: Path) -> bool:
    """Whether the report already in run_dir was rendered with --redact (so a re-render keeps it so)."""
    try:
        with (Path(run_dir) / REPORT).open(encoding="utf-8") as f:
            head = f.read(2048)
    except OSError:
        return False
    return '<meta name="evalrun-redacted" content="1">' in head
