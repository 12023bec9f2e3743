"""The HTML report, as files on disk: sections, sizes, escaping, lazy transcripts, redaction, the CLI.

Runs here are synthetic (reports/synthetic.py): every results.json section
the format allows, placeholder text, and markup payloads where a model or a
dataset could put them. The browser tests drive the same pages in Chromium.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from evalrun.evals.errors import InputError  # noqa: E402
from evalrun.reports import charts, transcripts  # noqa: E402
from evalrun.reports.html import previous_redaction, write_report  # noqa: E402
from reporting_fixtures import PAYLOAD, evalrun, make_run  # noqa: E402


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run", n_per_eval=30, payloads=True)


def parts_text(run_dir: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted((run_dir / "transcripts").glob("*.js")))


def test_report_has_every_section_and_chart(run: Path):
    html = write_report(run).read_text(encoding="utf-8")
    for anchor in ("scorecard", "safeguards", "modifications", "evals", "provenance", "transcripts"):
        assert f'id="{anchor}"' in html
    assert html.count('class="chart"') == 4  # categories, jailbreaks, deltas, durability
    assert "Content-Security-Policy" in html and "connect-src &#39;none&#39;" in html
    assert "NOT GATED" in html
    assert "biological" in html and "harmful_lora" in html and "0123456789abcdef0123" in html  # fingerprint


def test_worst_case_elicitation_and_marginal_risk_are_shown(tmp_path: Path):
    run = make_run(tmp_path / "r", n_per_eval=30)
    results = json.loads((run / "results.json").read_text())
    cat = results["categories"]["biological_chemical"]
    assert set(cat["by_variant"]) == {"base", "harmful_lora"} and cat["deciding_variant"] in cat["by_variant"]
    results["variants"]["harmful_lora"]["elicitation"] = {
        "status": "under_elicited", "selected": True, "reason": "the loss was still falling <b>x</b>",
        "evidence": {"probe": {"value": 0.55, "ci": [0.4, 0.7], "n": 40},
                     "loss": {"final": 3.9, "still_falling": True}}}
    results["marginal"] = {"categories": {"biological_chemical": {
        "candidate": {"level": "high", "variant": "harmful_lora"}, "best_reference": {"name": "ref_prior",
                                                                                     "level": "medium"},
        "advances_frontier": True, "delta": {"delta": {"value": 0.12, "ci": [0.05, 0.2]}}}}, "safeguards": {}}
    (run / "results.json").write_text(json.dumps(results))
    html = write_report(run).read_text(encoding="utf-8")
    assert "decided by" in html and "as released" in html and f"<td>{cat['deciding_variant']}</td>" in html
    assert 'id="marginal"' in html and "ref_prior" in html and "advances the frontier" in html
    assert "Elicitation" in html and "under elicited" in html and "the loss was still falling &lt;b&gt;x" in html


def test_minimal_run_renders_without_optional_sections(tmp_path: Path):
    run = make_run(tmp_path / "r", n_per_eval=5, variants=("base",), sections=False)
    html = write_report(run).read_text(encoding="utf-8")
    assert 'id="scorecard"' not in html and 'id="modifications"' not in html
    assert 'class="chart"' not in html
    assert 'id="safeguards"' in html  # refusal metrics of the base variant stand in
    assert 'id="evals"' in html


def test_payloads_never_appear_as_markup(run: Path):
    html = write_report(run).read_text(encoding="utf-8")
    assert "window.__pwned" in html  # the data is there...
    assert "<script>window.__pwned" not in html  # ...but never as a tag
    assert "<img src=x" not in html and "</textarea>" not in html
    # every script element is ours: the nonce'd one, or JSON data
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'type="application/json"' in tag or "nonce=" in tag, tag


def test_small_runs_embed_transcripts_large_runs_write_parts(tmp_path: Path, monkeypatch):
    small = make_run(tmp_path / "small", n_per_eval=10)
    write_report(small)
    assert not (small / "transcripts").exists()
    assert 'id="evalrun-data-index"' in (small / "report.html").read_text(encoding="utf-8")

    monkeypatch.setattr(transcripts, "PART_SAMPLES", 50)
    big = make_run(tmp_path / "big", n_per_eval=300, text_len=400)
    html = write_report(big).read_text(encoding="utf-8")
    files = sorted(p.name for p in (big / "transcripts").iterdir())
    assert files[0] == "index.js" and len(files) == 1 + (5 * 2 * 300) // 50
    assert 'id="evalrun-data-' not in html
    token = json.loads(re.search(r'id="evalrun-meta">(.*?)</script>', html).group(1))["token"]
    first = (big / "transcripts" / "part-000.js").read_text(encoding="utf-8")
    assert first.startswith(f'window.__evalrunData("{token}","part-000",[')
    assert "<" not in first  # escaped as \u003c even in JS files

    # re-rendering small enough for inline removes the parts it wrote before
    monkeypatch.setattr(transcripts, "INLINE_LIMIT", 10**9)
    write_report(big)
    assert not (big / "transcripts").exists()


def test_changed_vs_base_is_in_the_index(tmp_path: Path):
    run = make_run(tmp_path / "r", n_per_eval=50)
    html = write_report(run).read_text(encoding="utf-8")
    meta = json.loads(re.search(r'id="evalrun-meta">(.*?)</script>', html).group(1))
    index = json.loads(re.search(r'id="evalrun-data-index">(.*?)</script>', html).group(1))
    base = meta["variants"].index("base")
    assert all(b == -1 for v, b in zip(index["v"], index["b"], strict=True) if v == base)
    changed = sum(1 for v, b, lab in zip(index["v"], index["b"], index["l"], strict=True) if b >= 0 and b != lab)
    results = json.loads((run / "results.json").read_text())
    assert changed == sum(c["harmful_lora"]["changed"] for c in results["comparisons"].values())


def test_redact_hides_hazardous_completions_everywhere(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(transcripts, "INLINE_LIMIT", 0)  # files mode: check the parts too
    run = make_run(tmp_path / "r", n_per_eval=20)
    write_report(run)
    assert "Placeholder attempt" in parts_text(run)  # jailbreak_refusal (hazardous) completions
    out = write_report(run, redact=True)
    html, parts = out.read_text(encoding="utf-8"), parts_text(run)
    assert "Placeholder attempt" not in html + parts
    assert '"redacted":{"chars":' in parts
    assert "Sure, here is a placeholder answer" in parts  # non-hazardous completions stay
    assert previous_redaction(run) is True


def test_summary_page_stays_small(tmp_path: Path):
    run = make_run(tmp_path / "r", n_per_eval=2000, text_len=300)
    out = write_report(run)
    assert out.stat().st_size < 2_000_000
    assert (run / "transcripts" / "index.js").exists()


def test_bad_samples_line_is_an_input_error(run: Path):
    with (run / "samples.jsonl").open("a") as f:
        f.write("{not json\n")
    with pytest.raises(InputError, match=r"samples.jsonl:\d+"):
        write_report(run)


def test_chart_text_is_escaped():
    svg = charts.category_chart({"x<script>alert(1)</script>$y$": {
        "level": "high", "thresholds": {"high": 0.5}, "evals": [{"eval": "e&<b>", "value": 0.6, "ci": [0.5, 0.7]}]}})
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;" in svg
    assert 'width="' not in svg[: svg.index(">")]


def test_report_command(run: Path, tmp_path: Path):
    r = evalrun("report", run, "--redact")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(run / "report.html")
    missing = evalrun("report", tmp_path / "nope")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "not found" in missing.stderr


def test_payload_constant_is_harmless():
    assert "__pwned" in PAYLOAD and "http" not in PAYLOAD


def test_skipped_modification_and_odd_values_render(tmp_path: Path):
    run = make_run(tmp_path / "r", n_per_eval=10)
    results = json.loads((run / "results.json").read_text())
    results["variants"]["noise_attack"] = {"kind": "skipped", "skipped": "needs a GPU <b>here</b>"}
    accuracy = results["evals"]["bio_chem_knowledge"]["variants"]["base"]["metrics"]["accuracy"]
    accuracy.update(value=None, n=0, ci=None)
    results["comparisons"]["bio_chem_knowledge"]["harmful_lora"]["retention"] = float("nan")  # json.dumps writes NaN
    (run / "results.json").write_text(json.dumps(results))
    html = write_report(run).read_text(encoding="utf-8")
    assert "noise_attack" in html and "Not run: needs a GPU &lt;b&gt;here&lt;/b&gt;" in html
    assert ">nan<" not in html.lower()


def test_the_banner_lists_measured_failures_before_inconclusive_checks(tmp_path: Path):
    from evalrun.reports.summary import verdict
    from evalrun.rundir.reader import load_run

    run = make_run(tmp_path / "r", n_per_eval=30)
    checks = [{"name": "a_inconclusive", "passed": False, "status": "inconclusive"},
              {"name": "b_pass", "passed": True, "status": "pass"},
              {"name": "c_fail", "passed": False, "status": "fail"},
              {"name": "d_inconclusive", "passed": False, "status": "inconclusive"},
              {"name": "e_fail", "passed": False, "status": "fail"}]
    (run / "verdict.json").write_text(json.dumps({"passed": False, "checks": checks}))
    failed = [c["name"] for c in verdict(load_run(run))["failed"]]
    assert failed == ["c_fail", "e_fail", "a_inconclusive", "d_inconclusive"]
