"""Search spaces as data: one per registered model, each checked against the model's own settings."""

from __future__ import annotations

import json

import pytest
from torch import nn

from benchmarks import spaces
from benchmarks.spaces import Choice, Float, Int, LogFloat
from benchmarks.spec import RunSpec
from benchmarks.tune import TuneSpec, plan


class Tiny(nn.Module):
    """A model of one's own that brings its own space."""

    search_space = {"hidden": {"choice": [4, 8]}, "lr": {"log": [1e-3, 1e-2]}}

    def __init__(self, spec, hidden: int = 8):
        super().__init__()
        self.lin = nn.Linear(spec.text_dim, spec.num_genres)

    def forward(self, batch):
        return self.lin(batch["text"])


def _plan(model: str, space=None, trials: int = 30, **run):
    spec = RunSpec(models=(model,), **run)
    return plan(spec, spec.variants()[0], TuneSpec(trials=trials, spaces={model: space} if space is not None else {}))


def test_every_registered_model_has_a_space_that_its_model_takes():
    from benchmarks.registry import available_models

    for model in available_models():
        p = _plan(model)  # every name is a setting of the model, every bound and choice a value it takes
        assert p.space and not p.notes, model
        assert p.grid is None or p.grid[0] == {n: spaces.default_of(n, p.default) for n in p.space}
    assert set(spaces.SPACES.names()) == set(available_models())


def test_a_space_naming_a_setting_the_model_lacks_fails_in_one_line():
    with pytest.raises(ValueError, match=r"^search space of 'idkg': 'lrr' is not a setting of the model; its settings are: .*\blr\b"):
        _plan("idkg", {"lrr": {"log": [1e-4, 1e-2]}})
    with pytest.raises(ValueError, match=r"^search space of 'probe-text': 'lr' is not a setting"):  # an estimator has no lr
        _plan("probe-text", {"lr": {"log": [1e-4, 1e-2]}})
    with pytest.raises(ValueError, match=r"^search space of 'idkg': 'dropout' = 1.5: The 'dropout' parameter of IDKGConfig must be in \[0, 1\)"):
        _plan("idkg", {"dropout": {"float": [0.0, 1.5]}})
    with pytest.raises(ValueError, match=r"search space of 'idkg': 'kg_dropout' defaults to 'auto', which a Float domain cannot hold"):
        _plan("idkg", {"kg_dropout": {"float": [0.0, 0.3]}})


def test_kg_settings_are_named_with_their_prefix_and_go_to_the_kg():
    p = _plan("idkg", {"kg_dim": {"choice": [16, 32]}, "lr": {"log": [1e-4, 1e-2]}})
    s = spaces.split_settings({"kg_dim": 16, "lr": 1e-3}, p.default.config, p.default.train)
    assert s.kg == {"dim": 16} and s.train == {"lr": 1e-3} and s.model == {}
    assert spaces.default_of("kg_dim", p.default) == 200


def test_a_small_space_is_enumerated_once_with_the_default_first():
    p = _plan("people-vote")
    assert p.grid == [{"threshold": "global"}, {"threshold": "per-genre"}]
    p = _plan("probe-text", {"threshold": {"choice": ["per-genre", "global"]}, "block_weights": {"choice": [False, True]}}, trials=4)
    assert len(p.grid) == 4 and p.grid[0] == {"threshold": "global", "block_weights": True}
    assert len({json.dumps(g, sort_keys=True) for g in p.grid}) == 4  # no setting twice
    assert _plan("probe-text", {"threshold": {"choice": ["per-genre", "global"]}, "block_weights": {"choice": [False, True]}}, trials=3).grid is None


def test_a_default_the_space_does_not_hold_widens_it_so_the_default_is_always_a_trial():
    p = _plan("probe-text", recipe="paper")  # the paper's fixed threshold is not among the searched policies
    assert p.space["threshold"].contains("fixed") and "'threshold' widened to hold the default 'fixed'" in p.notes
    p = _plan("idkg", train={"lr": 0.05})
    assert p.space["lr"] == LogFloat(1e-4, 0.05)


def test_json_form_round_trips_and_bad_forms_are_one_line(tmp_path):
    space = {"lr": LogFloat(1e-4, 1e-2), "dropout": Float(0.0, 0.5, 0.1), "depth": Int(1, 3), "c_grid": Choice(((0.1, 1.0), (3.0,)))}
    assert spaces.space_from_json(json.loads(json.dumps(spaces.space_to_json(space)))) == space
    assert Float(0.0, 0.5, 0.1).values() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5] and Int(2, 8, 2).values() == [2, 4, 6, 8]
    assert Choice(((0.1, 1.0), (3.0,))).decode("[3.0]") == (3.0,)
    for bad, message in [({"lr": {"log": [1e-2, 1e-4]}}, "LogFloat needs 0 < low < high"), ({"lr": {"uniform": [0, 1]}}, "expected one of"),
                         ({"depth": {"int": [1.5, 3]}}, "'int' takes whole numbers"), ({"a": {"choice": [1, 1]}}, "distinct values")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            spaces.space_from_json(bad)
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"hidden": {"int": [4, 16], "step": 4}}))
    assert spaces.load_space(str(path)) == {"hidden": Int(4, 16, 4)}
    path.write_text("{oops")
    with pytest.raises(ValueError, match=r"--space .*space.json: not JSON"):
        spaces.load_space(str(path))


def test_a_model_of_ones_own_brings_its_space_by_attribute_file_or_function():
    assert _plan("test_spaces:Tiny").space == {"hidden": Choice((4, 8)), "lr": LogFloat(1e-3, 1e-2)}
    p = _plan("test_spaces:Tiny", {"hidden": {"int": [2, 16]}})
    assert p.space == {"hidden": Int(2, 16)}
    assert spaces.load_space("test_spaces:own_space") == {"hidden": Choice((2, 4))}
    with pytest.raises(ValueError, match=r"search space of 'test_spaces:Tiny': 'width' is not a setting of the model"):
        _plan("test_spaces:Tiny", {"width": {"choice": [1, 2]}})


def own_space():
    return {"hidden": Choice((2, 4))}
