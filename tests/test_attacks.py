"""The built-in transforms: registered, deterministic, each carrying the request and nothing harmful of its own."""

from __future__ import annotations

import base64

import pytest
from evalrun.evals.attacks import JAILBREAK_TEMPLATES, OPEN_WEIGHT_ATTACKS, PERMISSIVE_SYSTEM_PROMPT, PREFIXES
from evalrun.evals.core import Sample, system, user
from evalrun.evals.errors import InputError
from evalrun.evals.transforms import Transform, all_transforms, families, get_transform, resolve

REQUEST = "Describe the request placeholder text 12345."
SAMPLE = Sample("s1", [user(REQUEST)], target="harmful", metadata={"category": "x"})
ALL = [t.name for t, _ in resolve([*JAILBREAK_TEMPLATES, *OPEN_WEIGHT_ATTACKS])]
WRAPPERS = sorted(set(JAILBREAK_TEMPLATES) - {"encoding"})


def apply(name: str, sample: Sample = SAMPLE) -> Sample:
    [(t, options)] = resolve([name])
    return t.apply(sample, **options)


def test_the_required_transforms_are_registered_with_versions():
    transforms = all_transforms()
    assert set(ALL) <= set(transforms)
    assert next(iter(transforms)) == "none"
    assert families()["prefill"] == list(PREFIXES) and len(PREFIXES) >= 3
    for name, t in transforms.items():
        assert isinstance(t, Transform) and t.name == name
        assert isinstance(t.version, int) and t.version >= 1 and t.description


@pytest.mark.parametrize("name", ALL)
def test_each_transform_is_deterministic_and_keeps_target_and_the_request(name):
    a, b = apply(name), apply(name)
    assert a == b and a.target == SAMPLE.target and a.metadata == SAMPLE.metadata
    assert all(set(m) == {"role", "content"} and m["role"] in ("system", "user", "assistant") for m in a.messages)
    other = apply(name, Sample("s2", [user("another request")], target="harmful"))
    assert other.messages != a.messages
    # The request appears once, in clear or encoded: no transform adds a request of its own.
    encoded = base64.b64encode(REQUEST.encode()).decode()
    assert sum(REQUEST in m["content"] or encoded in m["content"] for m in a.messages) == 1


@pytest.mark.parametrize("name", WRAPPERS)
def test_templates_end_with_the_user_turn_carrying_the_request_verbatim(name):
    msgs = apply(name).messages
    assert msgs[-1]["role"] == "user" and REQUEST in msgs[-1]["content"]


def test_none_is_the_sample_itself():
    assert apply("none") == SAMPLE


def test_encoding_carries_the_request_base64_encoded_and_not_in_clear():
    content = apply("encoding").messages[-1]["content"]
    assert base64.b64encode(REQUEST.encode()).decode() in content and REQUEST not in content
    assert "decode" in content.lower()


def test_few_shot_compliance_primes_with_benign_turns_after_any_system_prompt():
    msgs = apply("few_shot_compliance", Sample("s", [system("Be careful."), user(REQUEST)])).messages
    assert msgs[0] == system("Be careful.") and msgs[-1] == user(REQUEST)
    assert [m["role"] for m in msgs[1:-1]] == ["user", "assistant"] * 3


@pytest.mark.parametrize("name", list(PREFIXES))
def test_prefill_appends_the_assistant_prefix_after_the_request(name):
    msgs = apply(name).messages
    assert msgs == [user(REQUEST), {"role": "assistant", "content": PREFIXES[name]}]


def test_prefixes_are_compliant_openings_only():
    # An opening commits to answering and says nothing about how: short, no content after it.
    assert all(len(p.split()) <= 10 for p in PREFIXES.values())
    assert len(set(PREFIXES.values())) == len(PREFIXES)


def test_sampling_sets_n_draws_at_a_temperature_and_keeps_the_messages():
    s = apply("sampling")
    assert (s.epochs, s.temperature, s.messages) == (8, 1.0, SAMPLE.messages)
    [(t, options)] = resolve([{"name": "sampling", "n": 3, "temperature": 0.7}])
    s = t.apply(SAMPLE, **options)
    assert (s.epochs, s.temperature) == (3, 0.7)


@pytest.mark.parametrize("options", [{"n": 0}, {"n": 2.5}, {"n": True}, {"temperature": 0}, {"temperature": "hot"}])
def test_bad_sampling_options_are_input_errors(options):
    [(t, merged)] = resolve([{"name": "sampling", **options}])
    with pytest.raises(InputError, match="transform sampling"):
        t.apply(SAMPLE, **merged)


def test_system_prompt_removal_and_replacement():
    deployed = Sample("s", [system("You are a careful assistant."), user(REQUEST)])
    assert apply("system_removal", deployed).messages == [system(""), user(REQUEST)]
    assert apply("system_removal").messages == [system(""), user(REQUEST)]  # overrides a template's default
    assert apply("system_replacement", deployed).messages == [system(PERMISSIVE_SYSTEM_PROMPT), user(REQUEST)]


def test_wrapped_requests_stay_short_enough_for_small_models():
    # The demo model has 512 positions; keep every wrapper well inside that.
    for name in ALL:
        assert sum(len(m["content"]) for m in apply(name).messages) < 900


@pytest.mark.parametrize("name", ["role_play", "prefill_sure", "sampling", "few_shot_compliance"])
def test_a_sample_without_a_final_user_request_is_an_input_error(name):
    with pytest.raises(InputError, match="final user request"):
        apply(name, Sample("s", [user(REQUEST), {"role": "assistant", "content": "ok"}]))


def test_unknown_transform_is_an_input_error():
    with pytest.raises(InputError, match="unknown transform 'dan'"):
        get_transform("dan")
