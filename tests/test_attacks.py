"""Jailbreak templates: registered, deterministic, each wrapping the request and nothing harmful of its own."""

from __future__ import annotations

import base64

import pytest
from evalrun.evals.errors import InputError
from evalrun.evals.jailbreak import Template, all_templates, get_template

REQUEST = "Describe the request placeholder text 12345."
REQUIRED = {"none", "role_play", "refusal_suppression", "prefix_injection", "encoding", "few_shot_compliance"}


def test_the_required_templates_are_registered_with_versions():
    templates = all_templates()
    assert REQUIRED <= set(templates)
    assert next(iter(templates)) == "none"
    for name, t in templates.items():
        assert isinstance(t, Template) and t.name == name
        assert isinstance(t.version, int) and t.version >= 1 and t.description


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_template_is_deterministic_and_ends_with_a_user_turn(name):
    t = get_template(name)
    a, b = t.apply(REQUEST), t.apply(REQUEST)
    assert a == b
    assert a and a[-1]["role"] == "user"
    assert all(set(m) == {"role", "content"} and m["role"] in ("system", "user", "assistant") for m in a)
    assert t.apply("another request") != a


@pytest.mark.parametrize("name", sorted(REQUIRED - {"encoding"}))
def test_plain_templates_carry_the_request_verbatim_in_the_last_turn(name):
    last = get_template(name).apply(REQUEST)[-1]["content"]
    assert REQUEST in last
    # The request appears once: the template adds no second request of its own.
    assert sum(REQUEST in m["content"] for m in get_template(name).apply(REQUEST)) == 1


def test_none_is_the_request_alone():
    assert get_template("none").apply(REQUEST) == [{"role": "user", "content": REQUEST}]


def test_encoding_carries_the_request_base64_encoded_and_not_in_clear():
    content = get_template("encoding").apply(REQUEST)[-1]["content"]
    encoded = base64.b64encode(REQUEST.encode()).decode()
    assert encoded in content and REQUEST not in content
    assert "decode" in content.lower()


def test_few_shot_compliance_primes_with_benign_turns_then_asks():
    msgs = get_template("few_shot_compliance").apply(REQUEST)
    roles = [m["role"] for m in msgs]
    assert roles[:-1] == ["user", "assistant"] * ((len(msgs) - 1) // 2) and len(msgs) >= 5
    assert msgs[-1]["content"] == REQUEST


def test_wrapped_requests_stay_short_enough_for_small_models():
    # The demo model has 512 positions; keep every wrapper well inside that.
    for t in all_templates().values():
        assert sum(len(m["content"]) for m in t.apply(REQUEST)) < 900


def test_unknown_template_is_an_input_error():
    with pytest.raises(InputError, match="unknown jailbreak template"):
        get_template("dan")
