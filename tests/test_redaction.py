"""Redaction holds: no file of a redacted run, or of an export, holds a hazardous eval's completion.

Every file written is scanned (samples.jsonl, journal.sqlite with its WAL,
the report and its transcripts, the manifest), for the raw text and its JSON
spelling. Each scan has a control: the same text is found before redaction,
and non-hazardous completions survive it, so a scan that finds nothing means
something. The end-to-end case runs the real vLLM engine on the demo model.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from evalrun.evals.core import Completion, Score  # noqa: E402
from evalrun.reports.html import previous_redaction  # noqa: E402
from evalrun.runner.journal import Journal  # noqa: E402
from evalrun.runner.redact import redact_run  # noqa: E402
from reporting_fixtures import evalrun, make_run  # noqa: E402

KEPT = "BENIGN-KEPT-4c1d"


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def leaks(root: Path, texts: set[str]) -> dict[str, list[str]]:
    """file -> the texts found in it, raw or as JSON writes them (escaped quotes, newlines)."""
    spellings = {t: {t.encode(), json.dumps(t, ensure_ascii=False)[1:-1].encode()} for t in texts}
    found: dict[str, list[str]] = {}
    for p in files_under(root):
        data = p.read_bytes()
        hits = [t for t, forms in spellings.items() if any(f in data for f in forms)]
        if hits:
            found[str(p.relative_to(root))] = hits
    return found


def metric_values(run: Path) -> dict[tuple[str, str, str], float | None]:
    evals = json.loads((run / "results.json").read_text())["evals"]
    return {(e, v, m): x.get("value") for e, ev in evals.items() for v, var in ev["variants"].items()
            for m, x in var["metrics"].items()}


def _plant(run: Path) -> set[str]:
    """Give every hazardous sample a unique completion (quoted in its evidence) and write a journal of the run,
    with a judge row whose prompt embeds a completion; a benign row keeps KEPT. Returns the hazardous texts."""
    records = [json.loads(line) for line in (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    hazardous: set[str] = set()
    rows = []
    for i, rec in enumerate(records):
        if rec.get("hazardous"):
            text = f"HAZMARK-{i:04d} \"quoted\" step\nand more"
            hazardous.add(text)
            rec["completion"] = text
            rec["score"] = {**rec["score"], "evidence": f"matched: {text}"}
        elif rec["eval"] == "over_refusal":
            rec["completion"] = f"{KEPT} {i}"
        comp = Completion(text=rec["completion"], token_ids=[7, 8, 9], prompt_text="the prompt").to_dict()
        rows.append({"key": f"k{i}", "eval": rec["eval"], "eval_version": 1, "variant": rec["variant"],
                     "sample_id": rec["sample_id"], "epoch": rec.get("epoch") or 0,
                     "request": {"messages": rec.get("messages") or []}, "completion": comp, "score": rec["score"]})
        if rec.get("hazardous") and i % 7 == 0:  # a judge request grading this completion
            judge_prompt = f"Grade this reply: {rec['completion']}"
            rows.append({**rows[-1], "key": f"j{i}", "eval": rec["eval"] + ":judge",
                         "request": {"messages": [{"role": "user", "content": judge_prompt}]},
                         "completion": Completion(text=f"The reply says {rec['completion']}. Score: 1",
                                                  prompt_text=judge_prompt).to_dict()})
    (run / "samples.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                       encoding="utf-8")
    journal = Journal(run / "journal.sqlite")
    journal.add(rows)
    journal.close()
    return hazardous


@pytest.fixture()
def planted(tmp_path: Path) -> tuple[Path, set[str]]:
    run = make_run(tmp_path / "run", n_per_eval=12)
    texts = _plant(run)
    r = evalrun("report", run, "--no-redact")
    assert r.returncode == 0, r.stderr
    assert texts and leaks(run, texts), "control: the planted texts are in the run before redaction"
    return run, texts


def test_export_has_no_hazardous_text_in_any_file(planted, tmp_path: Path):
    run, texts = planted
    out = tmp_path / "shared"
    r = evalrun("export", "--redact", run, out)
    assert r.returncode == 0, r.stderr
    assert leaks(out, texts | {t.split()[0] for t in texts}) == {}
    assert {"manifest.json", "results.json", "samples.jsonl", "journal.sqlite", "report.html"} <= {
        p.name for p in files_under(out)}
    assert leaks(out, {KEPT}), "non-hazardous completions stay in the export"
    assert (out / "results.json").read_bytes() == (run / "results.json").read_bytes()  # figures untouched
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["redact"] is True and manifest["exported_from"] == str(run)
    assert previous_redaction(out)
    assert leaks(run, texts), "export leaves the source run as it was"


def test_redacting_a_run_in_place_scrubs_samples_and_journal_and_keeps_it_usable(planted):
    run, texts = planted
    other = make_run(run.parent / "other", n_per_eval=12, seed=5)
    assert evalrun("compare", run, other, "--no-redact").returncode == 0  # RUN/compare-other.html quotes texts
    ids = {t.split()[0] for t in texts}  # HAZMARK-NNNN: the page shows snippets, so look for the unique start
    assert "compare-other.html" in leaks(run, ids)
    results_before = (run / "results.json").read_bytes()
    assert redact_run(run) >= {"jailbreak_refusal", "bio_chem_knowledge"}
    r = evalrun("report", run)  # no flag: the run's own redaction holds
    assert r.returncode == 0, r.stderr
    assert leaks(run, texts | ids) == {}
    assert leaks(run, {KEPT})
    assert (run / "results.json").read_bytes() == results_before
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["redact"] is True and manifest["redact_removed"] == ["compare-other.html"]
    assert previous_redaction(run)
    journal = Journal(run / "journal.sqlite")  # a resume reads these rows back as completions and scores
    rows = journal.rows()
    journal.close()
    for row in rows.values():
        Completion.from_dict(row["completion"])
        Score.from_dict(row["score"])
    hazardous_rows = [r for r in rows.values() if r["eval"].split(":")[0] in ("jailbreak_refusal", "cyber_knowledge")]
    assert hazardous_rows and all(r["completion"]["token_ids"] == [] for r in hazardous_rows)
    with sqlite3.connect(run / "journal.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_report_keeps_a_redacted_run_redacted_unless_lifted(tmp_path: Path):
    run = make_run(tmp_path / "run", n_per_eval=6)
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "redact": True}))
    assert evalrun("report", run).returncode == 0
    assert previous_redaction(run)
    assert evalrun("report", run, "--no-redact").returncode == 0
    assert not previous_redaction(run)
    assert evalrun("report", run).returncode == 0  # the manifest still says so
    assert previous_redaction(run)


@pytest.mark.vllm
def test_redacted_run_and_export_of_a_real_run(demo_model: Path, tmp_path: Path, run_cli):
    """The demo model on harmful (hazardous) and benign requests; then --redact on resume, and an export."""
    suite = tmp_path / "redact-suite.yaml"
    suite.write_text("name: redact-check\nversion: 1\nevals: [harmful_refusal, over_refusal]\n")
    out = tmp_path / "run"
    cmd = ["--model", "demo", "--suite", str(suite), "--out", str(out), "--limit", "8", "--no-progress"]
    first = run_cli(*cmd)
    assert first.returncode == 0, first.stderr[-2000:]
    records = [json.loads(x) for x in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    benign = {r["completion"] for r in records if r["eval"] == "over_refusal"}
    texts = {r["completion"] for r in records
             if r["eval"] == "harmful_refusal" and len(r["completion"]) >= 12 and r["completion"] not in benign}
    texts = {t for t in texts if not any(t in b for b in benign)}
    assert texts, "the demo model wrote completions for the harmful requests"
    assert leaks(out, texts).keys() >= {"samples.jsonl", "journal.sqlite"}  # control
    figures = metric_values(out)

    shared = tmp_path / "shared"
    r = run_cli("export", "--redact", str(out), str(shared))
    assert r.returncode == 0, r.stderr[-2000:]
    assert leaks(shared, texts) == {}

    second = run_cli(*cmd, "--redact")  # resumes every request from the journal, then redacts the run
    assert second.returncode == 0, second.stderr[-2000:]
    assert "generated 0" in second.stdout
    assert leaks(out, texts) == {}, "no file of the redacted run holds a hazardous completion"
    assert metric_values(out) == figures  # redaction removes text, never a figure
    third = run_cli(*cmd)  # resumed again without --redact: stays redacted
    assert third.returncode == 0, third.stderr[-2000:]
    assert previous_redaction(out) and leaks(out, texts) == {}
