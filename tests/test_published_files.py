"""Benchmark files as their publishers ship them: published names, splits and sizes, formats recognised by
content, paths given in the suite, and the provenance each eval records (fixtures written here)."""

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
    SHARED,
    WMDP_ROWS,
    fails,
    offline,
    shared,
    wmdp_jsonl,
    write,
)

__all__ = ["offline", "shared"]  # pytest fixtures, used by name


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
