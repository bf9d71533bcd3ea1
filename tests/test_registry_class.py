"""The one registry class: aliases resolve to one name, unknown names get one line with suggestions."""

import pytest

from mmimdb2.registry import Registry, UnknownNameError


def _reg() -> Registry:
    r = Registry("model")
    r.add("gmu", "collections:OrderedDict", aliases=("gated",), use_kg=False)
    r.add("gmu-3", "collections:OrderedDict", aliases=("idkg-gmu-no-gcacl",), use_kg=True)
    r.add_prefix("clip:", "builtins:str")
    return r


def test_alias_resolves_to_the_canonical_entry_and_keeps_its_presets():
    r = _reg()
    assert r.canonical("idkg-gmu-no-gcacl") == "gmu-3"
    assert r.entry("idkg-gmu-no-gcacl") is r.entry("gmu-3")
    assert dict(r.build("idkg-gmu-no-gcacl")) == {"use_kg": True}
    assert dict(r.build("gmu", use_kg=True)) == {"use_kg": True}  # a keyword beats a preset
    assert r.names() == ["gmu", "gmu-3"] and "gated" in r and "nope" not in r


def test_unknown_name_is_one_line_with_a_suggestion_and_both_error_kinds():
    with pytest.raises(UnknownNameError) as info:
        _reg().entry("gmv")
    msg = str(info.value)
    assert "\n" not in msg and "Did you mean 'gmu'" in msg and "Available: gmu, gmu-3, clip:<...>" in msg
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_a_name_or_alias_registered_twice_raises():
    r = _reg()
    with pytest.raises(ValueError, match="already registered"):
        r.add("gated", "collections:OrderedDict")
    with pytest.raises(ValueError, match="module:attr"):
        r.add("bad", "no_colon")


def test_prefix_family_passes_the_rest_of_the_name():
    assert _reg().build("clip:ViT-B-32:none") == "ViT-B-32:none"
    assert _reg().canonical("clip:x") == "clip:x"


def test_kind_error_class_is_used():
    class EncoderError(UnknownNameError):
        pass

    r = Registry("encoder", error=EncoderError)
    with pytest.raises(EncoderError, match="unknown encoder 'x'"):
        r.load("x")
