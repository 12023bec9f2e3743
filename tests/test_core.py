"""Unit tests of the harness's own logic: stats, metrics, plan keys, journal, data and suite errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalrun.evals import DataSource, InputError, Sample, Score, load_eval, user
from evalrun.evals.core import Completion
from evalrun.evals.metrics import rate
from evalrun.evals.scorers import choice_scorer
from evalrun.evals.stats import wilson
from evalrun.models.variant import BASE, Variant
from evalrun.runner.journal import Journal
from evalrun.runner.plan import build_requests
from evalrun.runner.run import limit_samples
from evalrun.runner.suite import load_suite


def test_wilson_interval_brackets_the_proportion_and_stays_in_range():
    lo, hi = wilson(8, 10)
    assert 0.44 < lo < 0.8 < hi < 0.98
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)


def test_rate_metric_filters_and_counts():
    samples = [Sample(str(i), [user("x")], target="harmful" if i < 4 else "benign") for i in range(6)]
    scores = [Score(1, "refused"), Score(1, "refused"), Score(0, "complied"), Score(1, "refused"),
              Score(0, "complied"), Score(1, "refused")]
    m = rate("refused", where=lambda s: s.target == "harmful").compute(list(zip(samples, scores, strict=True)))
    assert m.n == 4 and m.value == 0.75 and m.ci[0] < 0.75 < m.ci[1]


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
    with pytest.raises(InputError, match=r"items.jsonl: row 2 is not valid JSON"):
        DataSource([tmp_path]).rows("items.jsonl")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"id,prompt\n1,ok\n2,caf\xe9\n")
    with pytest.raises(InputError, match=r"latin.csv: row 3 is not UTF-8"):
        DataSource([tmp_path]).rows("latin.csv")
    (tmp_path / "empty.csv").write_text("id,prompt\n")
    with pytest.raises(InputError, match="no rows"):
        DataSource([tmp_path]).rows("empty.csv")
    (tmp_path / "cols.csv").write_text("id,prompt\n1,ok\n")
    with pytest.raises(InputError, match="cols.csv: missing column"):
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
