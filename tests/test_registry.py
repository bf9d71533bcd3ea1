"""The model registry: names, presets, errors, and a battery run on every registered model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.registry import (
    CONTRASTIVE_REGISTRY,
    MODEL_REGISTRY,
    UnknownNameError,
    build_model,
    get_contrastive,
    model_config,
)
from benchmarks.spec import RunSpec, TrainSpec
from benchmarks.trainer import TensorSet, predict_proba, train
from idkg.gcacl import GCACL
from idkg.inputs import InputSpec
from leaderboard.experiments import Variant
from mmimdb2.registry import Registry

#: The names the harness and the paper's tables rely on (never rename one: add an alias).
REQUIRED = [
    "idkg", "idkg-no-at", "idkg-no-gcacl", "idkg-no-kg", "idkg-random-anchors", "idkg-gmu",
    "idkg-gmu-no-gcacl", "idkg-gmu-no-kg", "gmu", "gmu-3", "centralnet", "late-fusion", "concat",
    "idkg-mulcon", "idkg-mcl", "idkg-mltc", "idkg-cgmvae", "idkg-as-released",
]  # fmt: skip

C = 23


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_required_names_are_registered_and_listed():
    assert set(REQUIRED) <= set(MODEL_REGISTRY.names()) | set(MODEL_REGISTRY.aliases())
    assert set(CONTRASTIVE_REGISTRY.names()) == {"gcacl", "mulcon", "mcl", "mltc", "cgmvae"}
    assert get_contrastive("jaccard-supcon") is get_contrastive("mcl")  # the descriptive name of the same loss
    assert get_contrastive("gcacl") is GCACL


def test_an_alias_is_one_model_recorded_under_its_canonical_name():
    assert MODEL_REGISTRY.canonical("idkg-gmu-no-gcacl") == "gmu-3"
    assert model_config("idkg-gmu-no-gcacl") == model_config("gmu-3")
    assert model_config("idkg-jaccard-supcon") == model_config("idkg-mcl")
    assert model_config("idkg-mcl", {"contrastive": "jaccard-supcon"})["contrastive"] == "mcl"


def test_model_config_reads_the_config_dataclass_without_building_a_model():
    cfg = model_config("idkg-no-at", {"temperature": 0.3})
    assert cfg["use_teacher"] is False and cfg["temperature"] == 0.3 and "seed" not in cfg
    assert cfg["proj_dim"] == 512  # a default of IDKGConfig, recorded explicitly
    with pytest.raises(ValueError, match="unknown option"):
        model_config("gmu", {"no_such_option": 1})


@pytest.mark.parametrize(
    ("model", "key", "value", "says"),
    [
        ("gmu", "use_kg", "maybe", "must be a bool. Got 'maybe' instead."),
        ("gmu", "use_kg", 1, "must be a bool. Got 1 instead."),
        ("idkg", "dropout", "abc", "must be a finite number. Got 'abc' instead."),
        ("idkg", "dropout", float("nan"), "must be a finite number. Got nan instead."),
        ("idkg", "proj_dim", float("inf"), "must be an int. Got inf instead."),  # --set proj_dim=1e400
        ("idkg", "proj_dim", 512.0, "must be an int. Got 512.0 instead."),
        ("idkg", "proj_dim", True, "must be an int. Got True instead."),
        ("idkg", "kg_dropout", True, "must be a finite number or a string. Got True instead."),
        ("idkg", "anchor_dim", "wide", "must be an int or None. Got 'wide' instead."),
        ("idkg", "attention_width", 3, "must be a string. Got 3 instead."),
        ("idkg", "contrastive_kwargs", 3, "must be a mapping with string keys. Got 3 instead."),
        ("concat", "modalities", "text", "must be a list of strings. Got 'text' instead."),
        ("concat", "modalities", ["text", 1], "must be a list of strings. Got ['text', 1] instead."),
        ("probe-text", "c_grid", [0.1, "x"], "must be a list of finite numbers. Got [0.1, 'x'] instead."),
        ("idkg-as-released", "hidden_dim", "big", "must be an int. Got 'big' instead."),
        ("idkg-as-released", "scale_by_temperature", "yes", "must be a bool. Got 'yes' instead."),
    ],
)  # fmt: skip
def test_a_setting_of_the_wrong_type_is_one_line_naming_it(model, key, value, says):
    with pytest.raises(ValueError) as err:
        model_config(model, {key: value})
    assert str(err.value) == f"The {key!r} setting of model {model!r} {says}"


def test_settings_of_the_right_type_pass_as_given():
    cfg = model_config("idkg", {"dropout": 0, "kg_dropout": 0.2, "anchor_dim": None, "contrastive_kwargs": {"scale": 2}})
    assert cfg["dropout"] == 0 and cfg["kg_dropout"] == 0.2 and cfg["anchor_dim"] is None
    assert model_config("idkg", {"kg_dropout": "auto", "anchor_dim": 16})["anchor_dim"] == 16
    assert model_config("concat", {"modalities": ["text", "image"]})["modalities"] in (["text", "image"], ("text", "image"))
    assert model_config("idkg-as-released", {"anchor_order": None, "temperature": 1})["temperature"] == 1


def test_unknown_name_suggests_and_lists():
    with pytest.raises(UnknownNameError) as err:
        build_model("idkg-no-kgg", None)
    msg = str(err.value)
    assert msg.startswith("unknown model 'idkg-no-kgg'. Did you mean 'idkg-no-kg'")
    assert "Available: centralnet, concat," in msg
    with pytest.raises(KeyError, match="unknown contrastive loss 'simclr'"):
        get_contrastive("simclr")


def test_registering_twice_or_a_bad_target_raises():
    r = Registry("model")
    r.add("x", "a.b:c")
    with pytest.raises(ValueError, match="'x' is already registered"):
        r.add("x", "a.b:d")
    with pytest.raises(ValueError, match="package.module:attr"):
        r.add("y", "a.b.c")
    r.add("z", "no_such_module_here:f")
    with pytest.raises(ImportError, match="model 'z' needs no_such_module_here:f"):
        r.load("z")


def test_presets_make_variants_and_overrides_win():
    spec = _spec()
    assert dict(MODEL_REGISTRY.entry("idkg-no-at").presets) == {"use_teacher": False}
    assert build_model("idkg-no-at", spec, proj_dim=8).config.use_teacher is False
    assert build_model("idkg-no-at", spec, proj_dim=8, use_teacher=True).config.use_teacher is True
    assert build_model("idkg-no-kg", spec, proj_dim=8).modalities == ("text", "image")
    assert build_model("idkg-gmu", spec, proj_dim=8).contrastive is not None
    assert type(build_model("idkg", spec, proj_dim=8).contrastive) is GCACL
    assert type(build_model("idkg", spec, proj_dim=8, contrastive="gcacl").contrastive) is GCACL


def test_registry_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, benchmarks.registry as r; r.available_models(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


# ---------------------------------------------------------------- battery over the whole registry


def _spec() -> InputSpec:
    g = torch.Generator().manual_seed(0)
    return InputSpec(16, 12, 8, genre_embeddings=torch.randn(C, 8, generator=g), mean_kg_count=2.0, mean_kg_degree=6.0)


def _data(n: int, seed: int) -> TensorSet:
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, C, generator=g) < 0.2).float()
    y[:, 0] = 1.0 - y[:, 1]  # every movie has a genre
    feats = {
        "text": y @ torch.randn(C, 16, generator=g) + 0.5 * torch.randn(n, 16, generator=g),
        "image": y @ torch.randn(C, 12, generator=g) + 0.5 * torch.randn(n, 12, generator=g),
        "kg": y @ torch.randn(C, 8, generator=g) + 0.5 * torch.randn(n, 8, generator=g),
        "kg_count": torch.randint(0, 5, (n,), generator=g).float(),
        "kg_degree": torch.randint(0, 30, (n,), generator=g).float(),
    }
    return TensorSet(feats, y, [f"tt{i:07d}" for i in range(n)])


#: Small widths so the battery stays fast; each factory accepts the options its config defines.
_SMALL = {"proj_dim": 16, "classifier_hidden": 16}
_SMALL_BY_TARGET = {"baselines.centralnet:build_centralnet": {"hidden": 16}}


def _small_overrides(name: str) -> dict:
    target = MODEL_REGISTRY.entry(name).target
    if target in _SMALL_BY_TARGET:
        return _SMALL_BY_TARGET[target]
    if target.startswith(("idkg.model:", "baselines.gmu:")):
        return _SMALL
    return {}


#: Torch models; the scikit-learn estimators (baselines.probes) are tested in test_probes.py.
TORCH_MODELS = sorted(n for n in MODEL_REGISTRY.names() if not MODEL_REGISTRY.entry(n).extra.get("estimator"))


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_every_model_trains_infers_label_free_and_round_trips(name, tmp_path):
    spec, train_set, dev = _spec(), _data(70, 1), _data(30, 2)
    model = build_model(name, spec, **_small_overrides(name))
    recipe = RunSpec(train={"epochs": 2, "batch_size": 32}).cell_spec(Variant(name)).train  # the model's own recipe
    result = train(model, train_set, dev, TrainSpec(**recipe), seed=0, progress=False, name=name)
    assert len(result.history) == 2 and all(np.isfinite(v) for h in result.history for v in h.values())
    assert "total" in result.history[0]

    features_only = TensorSet(dev.features, torch.full_like(dev.labels, float("nan")), dev.ids)
    proba = predict_proba(model, features_only)  # labels are NaN: any use of them would show
    assert proba.shape == (30, C) and np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()

    dropped = dict(dev.features, image=torch.zeros_like(dev.features["image"]))
    assert np.isfinite(predict_proba(model, TensorSet(dropped, dev.labels, dev.ids))).all()

    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    fresh = build_model(name, spec, **_small_overrides(name))
    with torch.no_grad():
        for t in fresh.state_dict().values():
            if t.is_floating_point():
                t.add_(1.0)  # so only the load can make the two models agree
    fresh.load_state_dict(torch.load(path, weights_only=True))
    fresh.eval()
    batch = {k: v[:7] for k, v in dev.features.items()}
    with torch.no_grad():
        assert torch.equal(model.eval()(batch), fresh(batch))

