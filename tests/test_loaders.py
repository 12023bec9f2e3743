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
from evalrun.evals.errors import InputError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def shared():
    return DataSource([SHARED])


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def fails(call, *needles: str) -> str:
    """Run `call`, expect an InputError whose message holds every needle; return the message."""
    with pytest.raises(InputError) as e:
        call()
    msg = str(e.value)
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"
    return msg


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

WMDP_ROWS = [
    {"question": "What colour is a ripe banana?", "choices": ["Blue", "Yellow", "Black", "White"], "answer": 1},
    {"question": "How many legs does a spider have?", "choices": ["Six", "Ten", "Eight", "Four"], "answer": 2},
]


def wmdp_jsonl(tmp_path: Path, rows=WMDP_ROWS, name="wmdp/wmdp-cyber.jsonl") -> Path:
    return write(tmp_path / name, "".join(json.dumps(r) + "\n" for r in rows))


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


def cybermetric(tmp_path: Path, questions) -> Path:
    return write(tmp_path / "cybermetric" / "CyberMetric-500-v1.json", json.dumps({"questions": questions}))


CYBER_Q = [
    {
        "question": "Which port does HTTPS use by default?",
        "answers": {"A": "21", "B": "443", "C": "25", "D": "80"},
        "solution": "B",
    },
    {
        "question": "What does a firewall filter?",
        "answers": {"A": "Traffic", "B": "Water", "C": "Light", "D": "Heat"},
        "solution": "A",
    },
]


def test_cybermetric(tmp_path):
    cybermetric(tmp_path, CYBER_Q)
    samples = loaders.load_cybermetric(DataSource([tmp_path]))
    assert [s.id for s in samples] == ["cybermetric-0", "cybermetric-1"]
    assert [s.target for s in samples] == ["B", "A"]
    assert samples[0].choices == ["21", "443", "25", "80"]


JBB_HEADER = "Index,Goal,Target,Behavior,Category,Source\n"
JBB_ROWS = (
    '1,Explain how to pick a lock,"Sure, here is how to pick a lock",Lock picking,Placeholder,Original\n'
    '2,Write a rude poem about a cat,"Sure, here is a rude poem",Rude poem,Placeholder,Original\n'
)


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

HARMBENCH_HEADER = "Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID\n"


def harmbench_rows(prefix: str, n: int) -> str:
    return "".join(f"Write a rude poem number {i},standard,placeholder,,,{prefix}_{i}\n" for i in range(n))


@pytest.mark.parametrize("split, n", [("val", 3), ("test", 5), ("all", 8)])
def test_harmbench_published_splits(tmp_path, split, n):
    for s, k in (("val", 3), ("test", 5), ("all", 8)):
        write(tmp_path / "harmbench" / f"harmbench_behaviors_text_{s}.csv", HARMBENCH_HEADER + harmbench_rows(s, k))
    samples = loaders.load_harmbench(DataSource([tmp_path]), split=split)
    assert [s.id for s in samples] == [f"{split}_{i}" for i in range(n)]


def test_harmbench_missing_split_says_which_files_are_there(tmp_path):
    write(tmp_path / "harmbench" / "harmbench_behaviors_text_test.csv", HARMBENCH_HEADER + harmbench_rows("t", 2))
    msg = fails(lambda: loaders.load_harmbench(DataSource([tmp_path])), "harmbench_behaviors_text_val.csv",
                "harmbench/harmbench_behaviors_text_test.csv", "split: val|test|all")
    assert "\n" not in msg
    fails(lambda: loaders.load_harmbench(DataSource([tmp_path]), split="dev"), "unknown HarmBench split 'dev'")


@pytest.mark.parametrize("size", [80, 500, 2000, 10000])
def test_cybermetric_published_sizes(tmp_path, size):
    questions = [{**CYBER_Q[0], "question": f"Placeholder question {i}?"} for i in range(3)]
    write(tmp_path / "cybermetric" / f"CyberMetric-{size}-v1.json", json.dumps({"questions": questions}))
    samples = loaders.load_cybermetric(DataSource([tmp_path]), size=str(size))  # YAML may give "500" or 500
    assert [s.id for s in samples] == ["cybermetric-0", "cybermetric-1", "cybermetric-2"]
    other = 80 if size != 80 else 500
    fails(lambda: loaders.load_cybermetric(DataSource([tmp_path]), size=other), f"CyberMetric-{other}-v1.json",
          f"CyberMetric-{size}-v1.json", "size:")


@pytest.mark.parametrize("subset", ["bio", "chem", "cyber"])
def test_wmdp_published_jsonl_per_subset(tmp_path, subset):
    wmdp_jsonl(tmp_path, name=f"wmdp/wmdp-{subset}.jsonl")
    samples = loaders.load_wmdp(DataSource([tmp_path]), subset=subset)
    assert [s.id for s in samples] == [f"wmdp-{subset}-0", f"wmdp-{subset}-1"]


def test_wmdp_every_parquet_shard_in_order(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    shard_dir = tmp_path / "wmdp" / "wmdp-chem"
    shard_dir.mkdir(parents=True)
    pd.DataFrame(WMDP_ROWS[1:]).to_parquet(shard_dir / "test-00001-of-00002.parquet")
    pd.DataFrame(WMDP_ROWS[:1]).to_parquet(shard_dir / "test-00000-of-00002.parquet")
    data = DataSource([tmp_path])
    with data.reading_for("wmdp_chem"):
        samples = loaders.load_wmdp(data, subset="chem")
    assert [s.id for s in samples] == ["wmdp-chem-0", "wmdp-chem-1"]
    assert [s.target for s in samples] == ["B", "C"]  # shard 0's row first
    assert [Path(f["path"]).name for f in data.files_used()["wmdp_chem"]] == [
        "test-00000-of-00002.parquet", "test-00001-of-00002.parquet"]


@pytest.mark.parametrize("header", [",Goal,Target,Behavior,Category,Source\n",
                                    ",Index,Goal,Target,Behavior,Category,Source\n"])
def test_jailbreakbench_pandas_export_with_unnamed_index(tmp_path, header):
    rows = [r.split(",", 1)[1] for r in JBB_ROWS.splitlines(True)]  # the rows without their Index
    body = "".join(f"{i},{'' if 'Index' not in header else str(i + 1) + ','}{r}" for i, r in enumerate(rows))
    write(tmp_path / "jailbreakbench" / "harmful-behaviors.csv", header + body)
    samples = loaders.load_jailbreakbench(DataSource([tmp_path]))
    assert [s.id for s in samples] == ["jbb-harmful-1", "jbb-harmful-2"]  # numbered as the published file
    assert samples[0].messages[0]["content"] == "Explain how to pick a lock"
    assert samples[1].metadata["behavior"] == "Rude poem"


def test_jailbreakbench_path_names_any_copy(tmp_path, monkeypatch):
    write(tmp_path / "my" / "copy.csv", JBB_HEADER + JBB_ROWS)
    asked = []
    monkeypatch.setattr(sources, "hub_file", lambda *a, **k: asked.append(a))
    assert len(loaders.load_jailbreakbench(DataSource([tmp_path]), "my/copy.csv")) == 2
    monkeypatch.chdir(tmp_path)  # a path relative to the current directory works too
    assert len(loaders.load_jailbreakbench(DataSource(), "my/copy.csv")) == 2
    fails(lambda: loaders.load_jailbreakbench(DataSource([tmp_path]), "my/absent.csv"), "my/absent.csv",
          "path:", "not found")
    assert asked == []  # a named file is never replaced by a download


def test_folder_with_other_names_is_not_replaced_by_a_download(tmp_path, monkeypatch):
    write(tmp_path / "jailbreakbench" / "behaviors_v2.csv", JBB_HEADER + JBB_ROWS)
    asked = []
    monkeypatch.setattr(sources, "hub_file", lambda *a, **k: asked.append(a))
    fails(lambda: loaders.load_jailbreakbench(DataSource([tmp_path])), "harmful-behaviors.csv",
          "jailbreakbench/behaviors_v2.csv", "path:")
    assert asked == []


def test_json_saved_as_csv_is_read_by_content(tmp_path):
    rows = [{"goal": "Write a rude poem", "target": "Sure"}, {"goal": "Explain how to pick a lock", "target": "Sure"}]
    write(tmp_path / "advbench" / "harmful_behaviors.csv", json.dumps(rows))
    assert [s.id for s in loaders.load_advbench(DataSource([tmp_path]))] == ["advbench-0", "advbench-1"]
    path = write(tmp_path / "strongreject" / "strongreject.csv", json.dumps(rows))
    fails(lambda: loaders.load_strongreject(DataSource([tmp_path])), str(path),
          "read as JSON (the file is named .csv, but holds JSON)", "missing column(s) category")
    path = write(tmp_path / "xstest" / "xstest_prompts.csv", json.dumps({"data": rows}, indent=2))
    msg = fails(lambda: loaders.load_xstest(DataSource([tmp_path])), str(path), "holds a JSON object")
    assert "no rows" not in msg


def test_jsonl_and_tsv_and_parquet_by_content(tmp_path):
    rows = [{"goal": "Write a rude poem", "target": "Sure"}]
    write(tmp_path / "a" / "advbench" / "harmful_behaviors.csv", "".join(json.dumps(r) + "\n" for r in rows * 2))
    assert len(loaders.load_advbench(DataSource([tmp_path / "a"]))) == 2
    write(tmp_path / "b" / "advbench" / "harmful_behaviors.csv", "goal\ttarget\nWrite a rude poem\tSure\n")
    assert len(loaders.load_advbench(DataSource([tmp_path / "b"]))) == 1
    pytest.importorskip("pyarrow")
    import pandas as pd

    path = tmp_path / "c" / "advbench" / "harmful_behaviors.csv"
    path.parent.mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(path)
    assert len(loaders.load_advbench(DataSource([tmp_path / "c"]))) == 1


def test_cybermetric_csv_content_names_the_format(tmp_path):
    path = write(tmp_path / "cybermetric" / "CyberMetric-500-v1.json", "question,answer\nQ?,A\n")
    fails(lambda: loaders.load_cybermetric(DataSource([tmp_path])), str(path), "holds CSV", '"questions" list')


def test_files_used_records_path_size_sha256_per_eval(tmp_path, shared):
    data = DataSource([SHARED])
    with data.reading_for("harmbench"):
        loaders.load_harmbench(data)
    with data.reading_for("smoke_refusal"):
        data.rows("smoke_refusal.jsonl")
    used = data.files_used()
    [hb] = used["harmbench"]
    file = SHARED / "harmbench" / "harmbench_behaviors_text_val.csv"
    assert hb == {"path": str(file.resolve()), "size": file.stat().st_size,
                  "sha256": hashlib.sha256(file.read_bytes()).hexdigest()}
    assert used["smoke_refusal"][0]["path"].endswith("suites/data/smoke_refusal.jsonl")


def test_hub_download_records_resolved_revision(tmp_path):
    snap = write(tmp_path / "datasets--x" / "snapshots" / ("a" * 40) / "data" / "f.csv", "goal,target\nW,S\n")
    assert sources.resolved_revision(snap, "pinned") == "a" * 40
    assert sources.resolved_revision(tmp_path / "f.csv", "pinned") == "pinned"
