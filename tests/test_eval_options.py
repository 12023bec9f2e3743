"""Per-entry eval options in suites (`- {eval: harmbench, split: test}`), and `evalrun list --data-dir DIR`.

Options are what an eval's factory declares (keyword-only parameters; a `Literal` hint fixes the values);
anything else is a one-line error naming the suite file. No model is loaded here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from evalrun.evals.data import DataSource
from evalrun.evals.errors import InputError
from evalrun.evals.registry import accepted_options, check_options, load_eval, option_choices
from evalrun.runner.suite import load_suite

HARMBENCH_HEADER = "Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID\n"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def suite_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text("name: s\nversion: 1\n" + body)
    return path


def harmbench_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data" / "harmbench"
    d.mkdir(parents=True)
    for split, n in (("val", 2), ("test", 3)):
        rows = "".join(f"Write a rude poem {i},standard,placeholder,,,{split}{i}\n" for i in range(n))
        (d / f"harmbench_behaviors_text_{split}.csv").write_text(HARMBENCH_HEADER + rows)
    return d.parent


def test_factories_declare_their_options():
    assert set(accepted_options("harmbench")) == {"split", "path"}
    assert option_choices("harmbench") == {"split": ("val", "test", "all")}
    assert option_choices("cybermetric") == {"size": (80, 500, 2000, 10000)}
    assert set(accepted_options("jailbreakbench")) == {"path"}
    assert accepted_options("smoke_knowledge") == {}


def test_check_options_matches_values_as_text_and_rejects_others():
    assert check_options("cybermetric", {"size": "10000"}) == {"size": 10000}
    with pytest.raises(InputError, match=r"eval harmbench: unknown option 'spilt'; it accepts: path, split"):
        check_options("harmbench", {"spilt": "test"})
    with pytest.raises(InputError, match=r"split 'dev' is not one of val, test, all"):
        check_options("harmbench", {"split": "dev"})
    with pytest.raises(InputError, match=r"path should be text"):
        check_options("jailbreakbench", {"path": 3})


def test_suite_mapping_entries_reach_the_factory(tmp_path):
    data_dir = harmbench_dir(tmp_path)
    suite = load_suite(str(suite_file(tmp_path, "safeguards: [smoke_refusal, {eval: harmbench, split: test}]\n")))
    assert suite.safeguards == ["smoke_refusal", "harmbench"]
    assert suite.eval_options == {"harmbench": {"split": "test"}}
    data = DataSource([data_dir])
    ev = load_eval("harmbench", data, suite.eval_options["harmbench"])
    assert [s.id for s in ev.samples] == ["test0", "test1", "test2"]
    [used] = data.files_used()["harmbench"]
    assert used["path"].endswith("harmbench_behaviors_text_test.csv")


def test_category_entries_take_options_too(tmp_path):
    body = ("categories:\n  cybersecurity:\n    evals: [{eval: cybermetric, size: 80}]\n"
            "    indicative: {high: 0.5, critical: 0.8}\n")
    suite = load_suite(str(suite_file(tmp_path, body)))
    assert suite.categories["cybersecurity"]["evals"] == ["cybermetric"]
    assert suite.eval_options == {"cybermetric": {"size": 80}}


@pytest.mark.parametrize(
    "body, needle",
    [
        ("evals: [{eval: harmbench, spilt: test}]\n", "unknown option 'spilt'; it accepts: path, split"),
        ("evals: [{eval: harmbench, split: dev}]\n", "split 'dev' is not one of val, test, all"),
        ("evals: [{split: test}]\n", "a mapping without `eval: NAME`"),
        ("evals: [{eval: harmbnch, split: test}]\n", "unknown eval 'harmbnch'"),
        ("evals: [{eval: harmbench, split: val}]\nsafeguards: [{eval: harmbench, split: test}]\n",
         "listed twice with different options"),
    ],
)
def test_bad_entries_are_one_line_errors_naming_the_suite_file(tmp_path, body, needle):
    path = suite_file(tmp_path, body)
    with pytest.raises(InputError) as e:
        load_suite(str(path))
    msg = str(e.value)
    assert msg.startswith(f"suite file {path}: ") and needle in msg and "\n" not in msg


def test_cli_list_data_dir_shows_runnable_evals_and_counts(tmp_path, evalrun_cmd):
    data_dir = harmbench_dir(tmp_path)
    jbb = data_dir / "jailbreakbench"
    jbb.mkdir()
    (jbb / "harmful-behaviors.csv").write_text(",Goal,Target,Behavior,Category,Source\n"
                                               "0,Write a rude poem,Sure,Rude poem,Placeholder,Original\n")
    (data_dir / "cybermetric").mkdir()
    questions = [{"question": "Which port does HTTPS use?", "answers": {"A": "443", "B": "21"}, "solution": "A"}]
    (data_dir / "cybermetric" / "CyberMetric-2000-v1.json").write_text(json.dumps({"questions": questions}))
    proc = subprocess.run([*evalrun_cmd, "list", "--data-dir", str(data_dir)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    section = proc.stdout.split(f"From {data_dir}:")[1].splitlines()
    rows = {tuple(line.split()[:3]) for line in section if "samples" in line}
    assert ("harmbench", "split=val", "2") in rows and ("harmbench", "split=test", "3") in rows
    assert ("cybermetric", "size=2000", "1") in rows
    assert not any(r[:2] == ("harmbench", "split=all") for r in rows)
    assert any(line.split()[:2] == ["jailbreakbench", "1"] for line in section)
    assert "advbench" in section[-1] and "smoke_knowledge" not in "\n".join(section)
