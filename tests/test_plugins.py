"""The one plugin registry: lazy loading, suggestions, and no silent replacement of a built-in."""

from __future__ import annotations

import pytest
from evalrun.evals import InputError
from evalrun.evals.core import Eval
from evalrun.evals.plugins import Registry
from evalrun.evals.registry import EVALS, get_spec, register


def test_a_plugin_cannot_replace_a_built_in_eval():
    """Before: a plugin registering `harmful_refusal` silently replaced the eval the gate relies on."""
    original = get_spec("harmful_refusal")
    with pytest.raises(InputError, match="'harmful_refusal' is registered twice"):
        @register("harmful_refusal", category="safeguards")
        def impostor(data) -> Eval:  # pragma: no cover - never called
            raise AssertionError
    assert get_spec("harmful_refusal") is original


def test_reimporting_the_same_definition_is_not_a_collision():
    loads = []
    reg: Registry[object] = Registry("widget", "evalrun.no-such-group", lambda: loads.append(1), "none here")

    def make():
        def widget():
            return 1
        return widget

    first, again = make(), make()  # the same module and qualified name: a re-import
    reg.add("gadget", first)
    reg.add("gadget", again)
    assert reg.get("gadget") is again and loads == [1]
    with pytest.raises(InputError, match="unknown widget 'gadgets'; did you mean gadget"):
        reg.get("gadgets")
    with pytest.raises(InputError, match="unknown widget 'zzz'; none here"):
        reg.get("zzz")
    reg.remove("gadget")
    assert "gadget" not in reg


def test_the_three_plugin_kinds_share_the_registry():
    from evalrun.evals.transforms import TRANSFORMS
    from evalrun.modify.registry import MODIFICATIONS

    assert {type(r) for r in (EVALS, MODIFICATIONS, TRANSFORMS)} == {Registry}
    assert "harmful_lora" in MODIFICATIONS and "none" in TRANSFORMS and "smoke_refusal" in EVALS
