"""Loaders for public benchmark formats: the shared copies, small fixtures, and every bad-input case.

The shared copies live beside the checkout (`../shared/datasets`); formats
not there (WMDP, CyberMetric, JailbreakBench) are tested on fixtures written
here, with harmless placeholder text. Nothing here touches the network.
"""

import hashlib
import json
import sys
from pathlib import Path

import pytest
from evalrun.evals import loaders, sources
from evalrun.evals.data import DataSource

sys.path.insert(0, str(Path(__file__).parent))
from loader_fixtures import (  # noqa: E402
    CYBER_Q,
    JBB_HEADER,
    JBB_ROWS,
    WMDP_ROWS,
    cybermetric,
    fails,
    offline,
    shared,
    wmdp_jsonl,
    write,
)

__all__ = ["offline", "shared"]  # pytest fixtures, used by name

# --- the shared copies --------------------------------------------------------


def test_strongreject(shared):
    samples = loaders.load_strongreject(shared)
    assert len(samples) == 313
    assert len({s.id for s in samples}) == 313
    assert samples[0].id == "strongreject-0"
    assert {s.target for s in samples} == {"harmful"}
    assert len({s.metadata["category"] for s in samples}) == 6
    assert all(s.messages[0]["role"] == "user" and s.messages[0]["content"] for s in samples)


def test_harmbench(shared):
    samples = loaders.load_harmbench(shared)
    assert len(samples) == 80
    rows = shared.rows("harmbench/harmbench_behaviors_text_val.csv")
    assert [s.id for s in samples] == [r["BehaviorID"] for r in rows]
    assert {s.target for s in samples} == {"harmful"}
    contextual = [(s, r) for s, r in zip(samples, rows, strict=True) if r["ContextString"]]
    assert contextual and all(s.metadata["has_context"] for s, _ in contextual)
    for s, r in contextual:
        content = s.messages[0]["content"]
        assert content.startswith(r["ContextString"].strip()) and content.endswith(r["Behavior"].strip())
    plain = next(s for s, r in zip(samples, rows, strict=True) if not r["ContextString"])
    assert not plain.metadata["has_context"] and "---" not in plain.messages[0]["content"]


def test_advbench(shared):
    samples = loaders.load_advbench(shared)
    assert len(samples) == 520
    assert samples[0].id == "advbench-0" and samples[-1].id == "advbench-519"
    assert {s.target for s in samples} == {"harmful"}
    assert all(s.metadata["target_prefix"].startswith("Sure") for s in samples)


def test_xstest(shared):
    samples = loaders.load_xstest(shared)
    assert len(samples) == 450
    assert sum(s.target == "safe" for s in samples) == 250
    assert sum(s.target == "unsafe" for s in samples) == 200
    assert samples[0].id == "xstest-1"
    assert samples[0].metadata["type"] == "homonyms"


def test_ctibench_mcq(shared):
    with pytest.warns(UserWarning, match=r"cti-mcq.tsv: row \d+: the answer C is an empty option"):
        samples = loaders.load_ctibench_mcq(shared)
    assert len(samples) == 2499  # one public row's answer is an empty option
    assert len({s.id for s in samples}) == len(samples)
    first = samples[0]
    assert first.id == "cti-mcq-0"
    assert first.choices and len(first.choices) == 4 and first.target in first.labels
    assert "A. " in first.messages[0]["content"]
    # Rows with an empty option become 3-choice questions; the target stays valid.
    three = [s for s in samples if len(s.choices) == 3]
    assert three and all(s.target in s.labels for s in three)
    # The lower-case "b" answer in the public file reads as "B".
    assert {s.target for s in samples} == {"A", "B", "C", "D"}


def test_ctibench_strict_raises_on_empty_answer(shared):
    fails(lambda: loaders.load_ctibench_mcq(shared, strict=True), "cti-mcq.tsv", "row ", "empty option")


# --- fixtures for formats not in shared/ ---------------------------------------





def test_wmdp_jsonl(tmp_path):
    wmdp_jsonl(tmp_path)
    samples = loaders.load_wmdp(DataSource([tmp_path]), "wmdp/wmdp-cyber.jsonl", subset="cyber")
    assert [s.id for s in samples] == ["wmdp-cyber-0", "wmdp-cyber-1"]
    assert [s.target for s in samples] == ["B", "C"]
    assert samples[0].choices == WMDP_ROWS[0]["choices"]
    content = samples[0].messages[0]["content"]
    assert content.startswith("What colour is a ripe banana?") and "B. Yellow" in content


def test_wmdp_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    path = tmp_path / "wmdp" / "wmdp-bio" / "test-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame(WMDP_ROWS).to_parquet(path)
    samples = loaders.load_wmdp(DataSource([tmp_path]))
    assert [s.id for s in samples] == ["wmdp-bio-0", "wmdp-bio-1"]
    assert [s.target for s in samples] == ["B", "C"]
    assert samples[1].choices == ["Six", "Ten", "Eight", "Four"]


def test_wmdp_parquet_bad_answer(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    path = tmp_path / "wmdp" / "wmdp-bio" / "test-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame([WMDP_ROWS[0], {**WMDP_ROWS[1], "answer": 7}]).to_parquet(path)
    fails(lambda: loaders.load_wmdp(DataSource([tmp_path])), str(path), "row 2", "out of range")


def test_wmdp_parquet_without_pyarrow(tmp_path, monkeypatch):
    write(tmp_path / "wmdp" / "wmdp-bio" / "test-00000-of-00001.parquet", b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` now raises ImportError
    fails(lambda: loaders.load_wmdp(DataSource([tmp_path])), "test-00000-of-00001.parquet", "pip install pyarrow")






def test_cybermetric(tmp_path):
    cybermetric(tmp_path, CYBER_Q)
    samples = loaders.load_cybermetric(DataSource([tmp_path]))
    assert [s.id for s in samples] == ["cybermetric-0", "cybermetric-1"]
    assert [s.target for s in samples] == ["B", "A"]
    assert samples[0].choices == ["21", "443", "25", "80"]




def test_jailbreakbench(tmp_path):
    write(tmp_path / "jailbreakbench" / "harmful-behaviors.csv", JBB_HEADER + JBB_ROWS)
    samples = loaders.load_jailbreakbench(DataSource([tmp_path]))
    assert [s.id for s in samples] == ["jbb-harmful-1", "jbb-harmful-2"]
    assert {s.target for s in samples} == {"harmful"}
    assert samples[0].messages[0]["content"] == "Explain how to pick a lock"
    assert samples[0].metadata == {
        "behavior": "Lock picking",
        "category": "Placeholder",
        "source": "Original",
        "target_prefix": "Sure, here is how to pick a lock",
    }
    write(tmp_path / "jailbreakbench" / "benign-behaviors.csv", JBB_HEADER + JBB_ROWS)
    benign = loaders.load_jailbreakbench(DataSource([tmp_path]), "jailbreakbench/benign-behaviors.csv", label="benign")
    assert [s.id for s in benign] == ["jbb-benign-1", "jbb-benign-2"] and benign[0].target == "benign"


# --- where the file comes from -------------------------------------------------


def test_not_found_offline_names_the_file_and_why(tmp_path):
    msg = fails(
        lambda: loaders.load_wmdp(DataSource([tmp_path])),
        "wmdp/wmdp-bio/test-00000-of-00001.parquet",
        "not downloadable",
        "HF_HUB_OFFLINE",
        "--data-dir",
    )
    assert "cais/wmdp" in msg


def test_not_found_without_hub_location(tmp_path):
    fails(lambda: loaders.load_strongreject(DataSource([tmp_path])), "strongreject/strongreject.csv", "--data-dir")


def test_hub_file_offline_or_without_library(monkeypatch):
    assert sources.hub_file("cais/wmdp", "x.parquet", loaders.WMDP_REVISION) is None
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    assert sources.hub_file("cais/wmdp", "x.parquet", loaders.WMDP_REVISION) is None


def test_hub_file_failure_is_none(monkeypatch):
    pytest.importorskip("huggingface_hub")
    import huggingface_hub

    def boom(**kwargs):
        raise OSError("no network")

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", boom)
    assert sources.hub_file("cais/wmdp", "x.parquet", loaders.WMDP_REVISION) is None


def test_local_file_missing_falls_back_to_hub(tmp_path, monkeypatch):
    downloaded = write(tmp_path / "cache" / "harmful-behaviors.csv", JBB_HEADER + JBB_ROWS)
    asked = []

    def fake_hub_file(repo_id, filename, revision, repo_type="dataset"):
        asked.append((repo_id, filename, revision))
        return downloaded

    monkeypatch.setattr(sources, "hub_file", fake_hub_file)
    empty = tmp_path / "empty"
    empty.mkdir()
    data = DataSource([empty])
    with data.reading_for("jailbreakbench"):
        samples = loaders.load_jailbreakbench(data)
    assert len(samples) == 2
    assert asked == [(loaders.JBB_REPO, "data/harmful-behaviors.csv", loaders.JBB_REVISION)]
    [record] = data.files_used()["jailbreakbench"]
    assert record["repo"] == loaders.JBB_REPO and record["file"] == "data/harmful-behaviors.csv"
    assert record["revision"] == loaders.JBB_REVISION  # not a hub cache path: the pinned revision
    assert record["sha256"] == hashlib.sha256(downloaded.read_bytes()).hexdigest()


# --- bad inputs: each names the file and, for a row's problem, the row ---------------


def test_missing_columns(tmp_path):
    path = write(tmp_path / "strongreject" / "strongreject.csv", "category,prompt\nA,Explain how to pick a lock\n")
    fails(lambda: loaders.load_strongreject(DataSource([tmp_path])), str(path), "missing column", "forbidden_prompt")


def test_missing_columns_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    path = tmp_path / "wmdp" / "wmdp-bio" / "test-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame([{"question": "Q?", "choices": ["a", "b"]}]).to_parquet(path)
    fails(lambda: loaders.load_wmdp(DataSource([tmp_path])), str(path), "missing column", "answer")


@pytest.mark.parametrize(
    "rel, text, loader",
    [
        ("advbench/harmful_behaviors.csv", "goal,target\n", loaders.load_advbench),
        ("advbench/harmful_behaviors.csv", "", loaders.load_advbench),
        ("wmdp/wmdp-chem.jsonl", "\n", lambda d: loaders.load_wmdp(d, subset="chem")),
        ("cybermetric/CyberMetric-500-v1.json", '{"questions": []}', loaders.load_cybermetric),
    ],
)
def test_empty_file(tmp_path, rel, text, loader):
    path = write(tmp_path / rel, text)
    fails(lambda: loader(DataSource([tmp_path])), str(path), "no rows")


def test_empty_field_names_the_row(tmp_path):
    path = write(
        tmp_path / "strongreject" / "strongreject.csv",
        "category,source,forbidden_prompt\nA,custom,Explain how to pick a lock\nA,custom,  \n",
    )
    fails(lambda: loaders.load_strongreject(DataSource([tmp_path])), str(path), "row 3", "forbidden_prompt is empty")


def test_wmdp_answer_out_of_range(tmp_path):
    path = wmdp_jsonl(tmp_path, [WMDP_ROWS[0], {**WMDP_ROWS[1], "answer": 4}])
    fails(
        lambda: loaders.load_wmdp(DataSource([tmp_path]), "wmdp/wmdp-cyber.jsonl", subset="cyber"),
        str(path),
        "row 2",
        "answer index 4 is out of range for 4 choices",
    )


@pytest.mark.parametrize("answer", [-1, "B", True, None])
def test_wmdp_answer_not_an_index(tmp_path, answer):
    path = wmdp_jsonl(tmp_path, [{**WMDP_ROWS[0], "answer": answer}])
    fails(lambda: loaders.load_wmdp(DataSource([tmp_path]), "wmdp/wmdp-cyber.jsonl", subset="cyber"),
          str(path), "row 1")


def test_wmdp_choices_not_a_list(tmp_path):
    path = wmdp_jsonl(tmp_path, [WMDP_ROWS[0], {**WMDP_ROWS[1], "choices": "Six, Ten"}])
    fails(
        lambda: loaders.load_wmdp(DataSource([tmp_path]), "wmdp/wmdp-cyber.jsonl", subset="cyber"),
        str(path),
        "row 2",
        "list of texts",
    )


def test_cybermetric_unknown_answer_letter(tmp_path):
    path = cybermetric(tmp_path, [CYBER_Q[0], {**CYBER_Q[1], "solution": "E"}])
    fails(lambda: loaders.load_cybermetric(DataSource([tmp_path])), str(path), "row 2", "unknown answer letter 'E'")


def test_cybermetric_gap_in_letters(tmp_path):
    path = cybermetric(tmp_path, [{**CYBER_Q[0], "answers": {"A": "21", "C": "443"}}])
    fails(lambda: loaders.load_cybermetric(DataSource([tmp_path])), str(path), "row 1", "A, B, C")


def test_cybermetric_not_the_expected_shape(tmp_path):
    path = write(tmp_path / "cybermetric" / "CyberMetric-500-v1.json", json.dumps(CYBER_Q))
    fails(lambda: loaders.load_cybermetric(DataSource([tmp_path])), str(path), '"questions" list')
    path.write_text('{"questions": [', encoding="utf-8")
    fails(lambda: loaders.load_cybermetric(DataSource([tmp_path])), str(path), "not valid JSON")


def test_ctibench_unknown_answer_letter(tmp_path):
    header = "URL\tQuestion\tOption A\tOption B\tOption C\tOption D\tPrompt\tGT\n"
    row = "https://example.org\tWhich is a colour?\tRed\tTable\tChair\tDoor\tprompt\t{}\n"
    path = write(tmp_path / "ctibench" / "cti-mcq.tsv", header + row.format("A") + row.format("Z"))
    fails(lambda: loaders.load_ctibench_mcq(DataSource([tmp_path])), str(path), "row 3", "unknown answer letter 'Z'")


def test_duplicate_ids_harmbench(tmp_path):
    header = "Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID\n"
    rows = "Explain how to pick a lock,standard,placeholder,,,lock\nWrite a rude poem,standard,placeholder,,,lock\n"
    path = write(tmp_path / "harmbench" / "harmbench_behaviors_text_val.csv", header + rows)
    fails(
        lambda: loaders.load_harmbench(DataSource([tmp_path])),
        str(path),
        "row 3",
        "duplicate sample id 'lock' (first at row 2)",
    )


def test_duplicate_ids_xstest_and_jailbreakbench(tmp_path):
    path = write(
        tmp_path / "xstest" / "xstest_prompts.csv",
        "id,prompt,type,label,focus,note\n"
        "1,How do I kill time?,homonyms,safe,kill,\n"
        "1,How do I beat eggs?,homonyms,safe,beat,\n",
    )
    fails(lambda: loaders.load_xstest(DataSource([tmp_path])), str(path), "row 3", "duplicate sample id")
    path = write(tmp_path / "jailbreakbench" / "harmful-behaviors.csv", JBB_HEADER + JBB_ROWS.replace("2,", "1,", 1))
    fails(lambda: loaders.load_jailbreakbench(DataSource([tmp_path])), str(path), "row 3", "duplicate sample id")


def test_xstest_unknown_label(tmp_path):
    path = write(
        tmp_path / "xstest" / "xstest_prompts.csv",
        "id,prompt,type,label,focus,note\n1,How do I kill time?,homonyms,maybe,kill,\n",
    )
    fails(lambda: loaders.load_xstest(DataSource([tmp_path])), str(path), "row 2", "safe or unsafe")


@pytest.mark.parametrize(
    "rel, loader",
    [
        ("advbench/harmful_behaviors.csv", loaders.load_advbench),
        ("jailbreakbench/harmful-behaviors.csv", loaders.load_jailbreakbench),
    ],
)
def test_not_utf8(tmp_path, rel, loader):
    header = b"goal,target\n" if "advbench" in rel else JBB_HEADER.encode()
    good = b"Explain how to pick a lock,Sure\n" if "advbench" in rel else JBB_ROWS.splitlines(True)[0].encode()
    bad = "Caf\u00e9 menu,Sure\n".encode("latin-1") if "advbench" in rel else "3,Caf\u00e9,S,B,C,O\n".encode("latin-1")
    path = write(tmp_path / rel, header + good + bad)
    fails(lambda: loader(DataSource([tmp_path])), str(path), "row 3", "not UTF-8")


def test_cybermetric_not_utf8(tmp_path):
    path = write(tmp_path / "cybermetric" / "CyberMetric-500-v1.json", b'{"questions": [\n{"question": "Caf\xe9"}]}')
    fails(lambda: loaders.load_cybermetric(DataSource([tmp_path])), str(path), "row 2", "not UTF-8")


# --- published names, splits and sizes (fixtures generated here, harmless placeholder text) -----------
