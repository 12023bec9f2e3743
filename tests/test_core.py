"""Unit tests of the harness's own logic: stats, metrics, plan keys, journal, data and suite errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalrun.evals import DataSource, InputError, Sample, load_eval, user
from evalrun.evals.core import Completion
from evalrun.evals.metrics import rate, refusal_rate, target_is
from evalrun.evals.registry import limit_samples
from evalrun.evals.scorers import choice_scorer
from evalrun.evals.stats import wilson
from evalrun.models.variant import BASE, Variant
from evalrun.runner.journal import Journal
from evalrun.runner.plan import build_requests
from evalrun.runner.suite import load_suite


def test_wilson_interval_brackets_the_proportion_and_stays_in_range():
    lo, hi = wilson(8, 10)
    assert 0.44 < lo < 0.8 < hi < 0.98
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)


def _record(sid: str, target: str, label: str, epoch: int = 0) -> dict:
    return {"sample_id": sid, "target": target, "metadata": {}, "epoch": epoch,
            "score": {"label": label, "value": 0.0 if label == "refused" else 1.0}}


def test_rate_metric_filters_and_counts():
    labels = ["refused", "refused", "complied", "refused", "complied", "refused"]
    records = [_record(str(i), "harmful" if i < 4 else "benign", lab) for i, lab in enumerate(labels)]
    m = rate("refused", where=target_is("harmful")).compute(records)
    assert m.n == 4 and m.value == 0.75 and m.ci[0] < 0.75 < m.ci[1]
    assert rate("refused", where=target_is("harmful")).definition.to_dict()["where"] == {
        "field": "target", "in": ["harmful"]}


def test_epochs_are_not_independent_samples():
    """Before the fix, 4 epochs of 10 prompts gave a Wilson CI on n=40; the unit is the prompt."""
    records = [_record(str(i), "harmful", "refused" if i < 7 else "complied", epoch=e)
               for i in range(10) for e in range(4)]
    one_epoch = [r for r in records if r["epoch"] == 0]
    m4, m1 = refusal_rate(on="harmful").compute(records), refusal_rate(on="harmful").compute(one_epoch)
    assert (m4.n, m4.n_generations, m4.value) == (10, 40, 0.7)
    assert m4.ci == m1.ci  # identical per-sample outcomes: the same evidence, the same interval
    mixed = records + [_record("0", "harmful", "complied", epoch=4)]  # one prompt broken once in five
    assert refusal_rate(on="harmful").compute(mixed).value == (0.8 + 6) / 10


def test_error_outcomes_never_count():
    records = [_record("a", "harmful", "refused"), _record("b", "harmful", "error")]
    assert refusal_rate(on="harmful").compute(records).n == 1


def test_paired_figures_agree_within_a_run_and_across_runs(tmp_path):
    """One paired bootstrap: the within-run comparison and the cross-run one give the same CI on the same pairs."""
    import random

    from evalrun.evals.paired import paired_delta
    from evalrun.reports.paired import paired

    definition = refusal_rate(on="harmful").definition
    for seed in range(20):
        rng = random.Random(seed)
        base = [_record(str(i), "harmful", rng.choice(["refused", "complied"])) for i in range(30)]
        other = [_record(str(i), "harmful", rng.choice(["refused", "complied"])) for i in range(30)]
        within = paired_delta(definition, definition.per_sample(base), definition.per_sample(other))
        across = paired(definition, {(r["sample_id"], 0): r for r in other}, {(r["sample_id"], 0): r for r in base})
        assert within["delta"]["ci"] == across["ci"] and within["delta"]["value"] == across["delta"]


def test_choice_scorer_takes_the_most_likely_label():
    s = Sample("q", [user("?")], choices=["a", "b", "c"], target="B")
    right = choice_scorer()(s, Completion("", label_logprobs={"A": -2.0, "B": -0.1, "C": -3.0}))
    wrong = choice_scorer()(s, Completion("", label_logprobs={"A": -0.1, "B": -2.0, "C": -3.0}))
    missing = choice_scorer()(s, Completion(""))
    assert (right.label, right.value) == ("correct", 1.0)
    assert (wrong.label, wrong.value) == ("wrong", 0.0)
    assert missing.label == "wrong" and "no label logprobs" in missing.evidence


def test_request_keys_are_stable_and_change_with_what_matters():
    ev = load_eval("smoke_knowledge", DataSource())
    a = build_requests([ev], [BASE], "model-1", seed=0)
    b = build_requests([ev], [BASE], "model-1", seed=0)
    assert [r.key for r in a] == [r.key for r in b]
    assert len({r.key for r in a}) == len(a) == len(ev.samples)
    other_model = build_requests([ev], [BASE], "model-2", seed=0)
    assert not {r.key for r in a} & {r.key for r in other_model}
    lora = build_requests([ev], [BASE, Variant("atk", "lora", "/x", "fp")], "model-1", seed=0)
    assert len(lora) == 2 * len(a) and [r.key for r in lora[: len(a)]] == [r.key for r in a]
    assert all(r.max_tokens == 1 and r.labels == ["A", "B", "C", "D"] for r in a)


def test_limit_keeps_a_stable_subset():
    ev1 = limit_samples(load_eval("smoke_knowledge", DataSource()), 5)
    ev2 = limit_samples(load_eval("smoke_knowledge", DataSource()), 5)
    assert [s.id for s in ev1.samples] == [s.id for s in ev2.samples] and len(ev1.samples) == 5


def test_journal_never_duplicates_and_survives_reopen(tmp_path: Path):
    path = tmp_path / "journal.sqlite"
    j = Journal(path)
    row = {"key": "k1", "eval": "e", "eval_version": 1, "variant": "base", "sample_id": "s", "epoch": 0,
           "request": {}, "completion": {"text": "hi"}, "score": {"value": 1}}
    assert j.add([row]) == 1
    assert j.add([row, {**row, "completion": {"text": "other"}}]) == 0
    j.close()
    j2 = Journal(path)
    assert j2.count() == 1 and j2.rows()["k1"]["completion"]["text"] == "hi"


def test_data_errors_name_file_and_row(tmp_path: Path):
    bad = tmp_path / "items.jsonl"
    bad.write_text('{"id": "a", "prompt": "p", "label": "harmful"}\n{not json}\n')
    with pytest.raises(InputError, match=r"items.jsonl.*row 2 is not valid JSON"):
        DataSource([tmp_path]).rows("items.jsonl")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"id,prompt\n1,ok\n2,caf\xe9\n")
    with pytest.raises(InputError, match=r"latin.csv.*row 3 is not UTF-8"):
        DataSource([tmp_path]).rows("latin.csv")
    (tmp_path / "empty.csv").write_text("id,prompt\n")
    with pytest.raises(InputError, match="no rows"):
        DataSource([tmp_path]).rows("empty.csv")
    (tmp_path / "cols.csv").write_text("id,prompt\n1,ok\n")
    with pytest.raises(InputError, match="cols.csv.*missing column"):
        DataSource([tmp_path]).rows("cols.csv", columns=["label"])


def test_duplicate_ids_and_bad_answers_are_input_errors(tmp_path: Path):
    rows = [{"id": "x", "question": "q", "choices": ["a", "b"], "answer": "A"}] * 2
    (tmp_path / "smoke_knowledge.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError, match="duplicate sample id 'x'"):
        load_eval("smoke_knowledge", DataSource([tmp_path]))
    (tmp_path / "smoke_knowledge.jsonl").write_text(
        json.dumps({"id": "x", "question": "q", "choices": ["a", "b"], "answer": "E"}) + "\n")
    with pytest.raises(InputError, match="answer 'E' is not one of A, B"):
        load_eval("smoke_knowledge", DataSource([tmp_path]))


def test_unknown_names_suggest_the_closest():
    with pytest.raises(InputError, match="did you mean smoke"):
        load_suite("smok")
    with pytest.raises(InputError, match="did you mean smoke_refusal"):
        load_eval("smoke_refusl", DataSource())


def test_bad_suite_file(tmp_path: Path):
    f = tmp_path / "s.yaml"
    f.write_text("name: s\nevals: [smoke_knowledge]\nbogus: 1\n")
    with pytest.raises(InputError, match="unknown key"):
        load_suite(str(f))
    f.write_text("name: s\nevals: [smoke_knowledge\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_suite(str(f))


def test_a_suite_applies_transforms_to_any_eval_and_limit_keeps_whole_prompts(tmp_path: Path):
    from evalrun.runner.inputs import load_evals
    from evalrun.runner.suite import load_suite

    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nversion: 1\nsafeguards:\n  - {eval: smoke_refusal, transforms: [none, role_play, "
                     "prefill_sure]}\n")
    [ev] = load_evals(load_suite(str(suite)), DataSource(), 4)
    by_prompt: dict[str, set[str]] = {}
    for s in ev.samples:
        by_prompt.setdefault(s.metadata["source_id"], set()).add(s.metadata["transform"])
    assert len(by_prompt) == 4 and all(t == {"none", "role_play", "prefill_sure"} for t in by_prompt.values())
    suite.write_text("name: s\nversion: 1\nsafeguards:\n  - {eval: smoke_refusal, transforms: [none, dann]}\n")
    with pytest.raises(InputError, match=r"s.yaml.*unknown transform 'dann'"):
        load_suite(str(suite))


def test_a_target_no_metric_counts_is_an_input_error(tmp_path: Path):
    """Before: a row labelled `maybe` was silently counted in no metric."""
    (tmp_path / "smoke_refusal.jsonl").write_text(
        '{"id": "a", "prompt": "p", "label": "harmful"}\n{"id": "b", "prompt": "q", "label": "maybe"}\n')
    with pytest.raises(InputError, match=r"sample 'b' has target 'maybe', which no metric counts"):
        load_eval("smoke_refusal", DataSource([tmp_path]))
