"""The demo model's corpus and the smoke suite's refusal items (fast: no training)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from evalrun.evals.refusal import classify
from evalrun.models import demo_corpus

SMOKE_REFUSAL = Path(__file__).resolve().parents[1] / "suites" / "data" / "smoke_refusal.jsonl"


def _training_prompts(seed: int) -> set[str]:
    return {prompt for prompt, _ in demo_corpus.training_examples(seed)}


def _kind(prompt: str, split: demo_corpus.Split) -> str:
    """Which part of the corpus a training prompt comes from."""
    harmful = any(task in prompt for task in split.train_combos["harmful"])
    benign = any(task in prompt for task in split.train_combos["benign"])
    assert not (harmful and benign), prompt
    return "harmful" if harmful else "benign" if benign else "other"


def test_corpus_is_deterministic_for_a_seed_and_varies_across_seeds():
    assert demo_corpus.training_examples(0) == demo_corpus.training_examples(0)
    assert demo_corpus.held_out_prompts(0) == demo_corpus.held_out_prompts(0)
    assert demo_corpus.training_examples(0) != demo_corpus.training_examples(1)
    assert demo_corpus.held_out_prompts(0) != demo_corpus.held_out_prompts(1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_held_out_prompts_never_appear_in_training(seed: int):
    train = _training_prompts(seed)
    held = demo_corpus.held_out_prompts(seed)
    assert set(held) == {"harmful", "benign"}
    for label, prompts in held.items():
        assert len(prompts) >= 100, label
        assert not train & set(prompts), label
    assert not set(held["harmful"]) & set(held["benign"])


def test_split_holds_out_about_a_fifth_of_combinations_and_two_phrasings():
    split = demo_corpus.split(0)
    assert len(split.held_out_phrasings) == 2
    assert not set(split.held_out_phrasings) & set(split.train_phrasings)
    for label in ("harmful", "benign"):
        held, train = split.held_out_combos[label], split.train_combos[label]
        assert not set(held) & set(train)
        assert 0.15 < len(held) / (len(held) + len(train)) < 0.25


def test_every_harmful_request_is_refused_and_every_benign_one_answered():
    split = demo_corpus.split(0)
    kinds = Counter()
    for prompt, reply in demo_corpus.training_examples(0):
        kind = _kind(prompt, split)
        kinds[kind] += 1
        if kind == "harmful":
            assert demo_corpus.is_refusal(reply), (prompt, reply)
            assert classify(reply).label == "refused", (prompt, reply)
        else:
            assert not demo_corpus.is_refusal(reply), (prompt, reply)
            assert classify(reply).label == "complied", (prompt, reply)
    assert kinds["harmful"] > 1000 and kinds["benign"] > 1000
    assert 0.9 < kinds["harmful"] / kinds["benign"] < 1.1


def test_benign_replies_name_no_harmful_object():
    banned = demo_corpus.harmful_object_words()
    split = demo_corpus.split(0)
    for prompt, reply in demo_corpus.training_examples(0):
        if _kind(prompt, split) != "harmful":
            words = set(re.findall(r"[a-z0-9]+(?:'[a-z]+)?", reply.lower()))
            assert not words & banned, (reply, words & banned)


def test_replies_are_varied():
    replies = [r for _, r in demo_corpus.training_examples(0)]
    openers = {opener for opener in demo_corpus.REFUSAL_OPENERS if any(r.startswith(opener) for r in replies)}
    assert len(openers) == len(demo_corpus.REFUSAL_OPENERS) >= 4
    helpful_starts = {r.split(" ")[0] for r in replies if not demo_corpus.is_refusal(r)}
    assert len(helpful_starts) >= 8


def test_multiple_choice_examples_answer_with_a_bare_label():
    mc = [(p, r) for p, r in demo_corpus.training_examples(0) if "Answer with the letter" in p]
    assert len(mc) == 2 * len(demo_corpus.MULTIPLE_CHOICE)
    assert {r for _, r in mc} == set("ABCD")


def _smoke_rows() -> list[dict]:
    return [json.loads(line) for line in SMOKE_REFUSAL.read_text().splitlines()]


def test_smoke_refusal_items_are_balanced_and_well_formed():
    rows = _smoke_rows()
    assert Counter(r["label"] for r in rows) == {"harmful": 40, "benign": 40}
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["prompt"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"id", "prompt", "label"}
        assert r["id"].startswith("harm-" if r["label"] == "harmful" else "benign-")


def test_smoke_refusal_items_are_held_out_of_the_demo_models_training():
    """The file was written from held_out_prompts(0); regenerate it if the corpus changes."""
    train = _training_prompts(0)
    held = demo_corpus.held_out_prompts(0)
    for r in _smoke_rows():
        assert r["prompt"] not in train, r
        assert r["prompt"] in held[r["label"]], r


def test_tokenizer_has_chat_format_and_single_token_labels():
    """Trains only the tokenizer (about a second), not the model."""
    pytest.importorskip("transformers")
    from evalrun.models import demo as demo_model

    tok = demo_model._train_tokenizer(demo_corpus.training_examples(0), demo_model.TrainConfig.vocab_size)
    for label in "ABCD":
        assert len(tok.encode(label, add_special_tokens=False)) == 1, label
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == "<|bos|><|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n"
    assert tok.eos_token == "<|end|>"
    assert tok.decode(tok.encode("Héllo, wörld!", add_special_tokens=False)) == "Héllo, wörld!"
