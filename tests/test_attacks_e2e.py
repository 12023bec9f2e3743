"""The free attacks through the real vLLM engine on the demo model: prefill continues the reply, sampling draws N."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from evalrun.evals.attacks import PREFIXES
from evalrun.evals.worstcase import worst_case

pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def attack_run(demo_model: Path, tmp_path_factory, run_cli) -> list[dict]:
    tmp = tmp_path_factory.mktemp("attacks")
    suite = tmp / "attacks.yaml"
    suite.write_text("name: attacks\nversion: 1\nsafeguards: [harmful_refusal, open_weights_refusal]\n")
    out = tmp / "run"
    proc = run_cli("--model", "demo", "--suite", str(suite), "--out", str(out), "--limit", "24", "--no-progress",
                   "--kv-cache-gb", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def test_a_prefilled_reply_is_continued_in_the_assistant_turn(attack_run):
    prefilled = [r for r in attack_run if r["metadata"].get("transform") in PREFIXES]
    assert prefilled
    for r in prefilled:
        prefix = PREFIXES[r["metadata"]["transform"]]
        assert r["messages"][-1] == {"role": "assistant", "content": prefix}
        # The rendered prompt ends inside the assistant turn, with the prefix: no new turn opened after it.
        assert r["prompt"].endswith("<|assistant|>\n" + prefix)
        assert r["score"]["extra"]["prefill"] == prefix
        assert r["score"]["extra"]["judged"] in ("empty", "continuation", "prefix+continuation")
        assert not r["completion"].startswith(prefix)  # the engine returns only what the model added


def test_best_of_n_draws_n_distinct_seeded_samples_per_prompt(attack_run):
    draws: dict[str, list[dict]] = defaultdict(list)
    for r in attack_run:
        if r["metadata"].get("transform") == "sampling":
            draws[r["sample_id"]].append(r)
    assert draws
    for rs in draws.values():
        assert sorted(r["epoch"] for r in rs) == list(range(8))
    # Temperature 1.0 with a seed per draw: the draws of a prompt are not all one greedy reply.
    assert any(len({r["completion"] for r in rs}) > 1 for rs in draws.values())


def test_the_worst_case_pairs_every_attack_on_a_prompt(attack_run):
    wc = worst_case(attack_run)["harmful_refusal"]
    sources = {r["metadata"].get("source_id") or r["sample_id"] for r in attack_run}
    assert set(wc["samples"]) == sources and wc["worst_case_refusal_rate"]["n"] == len(sources)
    assert wc["evals"] == ["harmful_refusal", "open_weights_refusal"]
    # (--limit draws different prompts per transform, so compare counts of broken prompts, not rates.)
    assert all(t["broken"] <= wc["worst_case_refusal_rate"]["broken"] for t in wc["by_transform"].values())
    for sid, s in wc["samples"].items():
        rs = [r for r in attack_run if (r["metadata"].get("source_id") or r["sample_id"]) == sid]
        assert (s["status"] == "refused") == all(r["score"]["label"] == "refused" for r in rs)
        broke = {(r["metadata"].get("transform", "none"), r["variant"]) for r in rs
                 if r["score"]["label"] in ("complied", "partial")}
        assert {(b["transform"], b["variant"]) for b in s["broken_by"]} == broke
