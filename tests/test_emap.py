"""EMAP (Hessel & Lee 2020) over the batch dict's modality groups: a hand-computed 3 x 3 case,
additive models projected onto themselves, interactions removed, the seeded sample, and a row's
model fitted as the harness fits it."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.diagnostics.emap import DEFAULT_GROUPS, emap, emap_decisions, interaction_gain, parse_groups

TWO = (("plot",), ("poster",))


def test_hand_computed_3x3():
    # plots t = 1, 2, 3 and posters v = 1, 0, 2; genre 0 scores t * v, genre 1 scores t + v^2.
    # f(t_i, v_j) for genre 0 (rows i, columns j):  [[1, 0, 2], [2, 0, 4], [3, 0, 6]]
    #   row means 1, 2, 3; column means 2, 0, 4; grand mean 18 / 9 = 2
    #   EMAP: 1 + 2 - 2 = 1, 2 + 0 - 2 = 0, 3 + 4 - 2 = 5   (the model itself: 1, 0, 6)
    # genre 1 is additive: f(t_i, v_j) = [[2, 1, 5], [3, 2, 6], [4, 3, 7]]
    #   row means 8/3, 11/3, 14/3; column means 3, 2, 6; grand mean 33 / 9 = 11/3
    #   EMAP: 8/3 + 3 - 11/3 = 2, 11/3 + 2 - 11/3 = 2, 14/3 + 6 - 11/3 = 7 = the model's 2, 2, 7
    arrays = {"text": np.array([[1.0], [2.0], [3.0]]), "image": np.array([[1.0], [0.0], [2.0]])}

    def f(b):
        t, v = b["text"][:, 0], b["image"][:, 0]
        return np.stack([t * v, t + v**2], axis=1)

    result = emap(f, arrays, TWO)
    assert result.exact and result.evaluations == 9 and result.partners is None
    np.testing.assert_allclose(result.logits, [[1, 2], [0, 2], [5, 7]], atol=1e-12)


def _blocks(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "text": rng.standard_normal((n, 5)), "image": rng.standard_normal((n, 7)), "kg": rng.standard_normal((n, 3)),
        "kg_count": rng.integers(0, 4, n).astype(float), "kg_degree": rng.random(n), "people": rng.random((n, 4)),
    }  # fmt: skip


def _additive(b):
    """A nonlinear function of each group, summed: no interaction across groups."""
    plot = np.tanh(b["text"] @ np.arange(10).reshape(5, 2) / 10)
    poster = np.sin(b["image"][:, :2]) ** 2
    people = np.log1p(b["kg_count"])[:, None] * b["people"][:, :2] + b["kg"][:, :2] * b["kg_degree"][:, None]
    return plot + poster + people


def _interaction(b):
    """Plot x poster products only: all of it is cross-modal."""
    return np.stack([b["text"][:, 0] * b["image"][:, 0], b["text"][:, 1] * np.abs(b["image"][:, 2])], axis=1)


@pytest.mark.parametrize("groups", [DEFAULT_GROUPS, (("plot",), ("poster", "people")), (("plot", "people"), ("poster",))])
def test_an_additive_model_is_its_own_emap(groups):
    arrays = _blocks(12)
    result = emap(_additive, arrays, groups)
    assert result.exact
    np.testing.assert_allclose(result.logits, _additive(arrays), atol=1e-12)


def test_an_interaction_is_projected_onto_its_additive_part():
    arrays = _blocks(15)
    result = emap(_interaction, arrays, DEFAULT_GROUPS)
    # f = a_i b_j projects to a_i mean(b) + mean(a) b_i - mean(a) mean(b), which differs from a_i b_i
    a, v = arrays["text"][:, 0], arrays["image"][:, 0]
    np.testing.assert_allclose(result.logits[:, 0], a * v.mean() + a.mean() * v - a.mean() * v.mean(), atol=1e-12)
    assert np.abs(result.logits - _interaction(arrays)).max() > 0.5


def test_a_group_the_model_ignores_changes_nothing():
    arrays = _blocks(10)
    three, two = emap(_interaction, arrays, DEFAULT_GROUPS), emap(_interaction, arrays, (("plot",), ("poster", "people")))
    np.testing.assert_allclose(three.logits, two.logits, atol=1e-12)
    assert three.evaluations == 1000 and two.evaluations == 100


def test_the_sample_is_reproducible_with_its_seed_and_close_to_exact():
    arrays = _blocks(40, seed=3)

    def f(b):
        return _additive(b) + _interaction(b) + np.tanh(b["image"][:, 3:5] * b["kg"][:, :2])

    kw = {"exact_max": 0, "partners": 20}
    one, again, other = (emap(f, arrays, DEFAULT_GROUPS, seed=s, **kw) for s in (7, 7, 8))
    assert not one.exact and one.partners == 20 and one.seed == 7 and one.evaluations == 40 * 3 * 20
    np.testing.assert_array_equal(one.logits, again.logits)
    assert not np.array_equal(one.logits, other.logits)
    np.testing.assert_allclose(emap(f, arrays, DEFAULT_GROUPS, seed=7, batch_rows=7, **kw).logits, one.logits, atol=1e-12)  # batching changes no draw
    exact = emap(f, arrays, DEFAULT_GROUPS).logits
    err = {k: np.mean([np.abs(emap(f, arrays, DEFAULT_GROUPS, exact_max=0, partners=k, seed=s).logits - exact).mean() for s in range(4)])
           for k in (5, 20, 40)}  # fmt: skip
    assert err[5] > err[20] > err[40]  # more partners, closer to exact
    # the partners are shared by every movie and their luck taken out of E[f]: an additive model comes out exact
    few = emap(_additive, arrays, DEFAULT_GROUPS, exact_max=0, partners=5)
    assert not few.exact and few.evaluations == 3 * 40 * 5
    np.testing.assert_allclose(few.logits, _additive(arrays), atol=1e-12)
    # and so does one with every partner of every other group (partners = n)
    full = emap(_additive, arrays, DEFAULT_GROUPS, exact_max=0, partners=40)
    assert not full.exact and full.evaluations == 3 * 40 * 40
    np.testing.assert_allclose(full.logits, _additive(arrays), atol=1e-12)


def test_exact_whenever_it_costs_no_more_than_the_sample():
    arrays = _blocks(9)
    assert emap(_additive, arrays, DEFAULT_GROUPS, exact_max=729).exact  # 9^3 = 729
    assert not emap(_additive, arrays, DEFAULT_GROUPS, exact_max=728, partners=4).exact
    assert not emap(_additive, arrays, DEFAULT_GROUPS, exact_max=0, partners=9).exact  # 9^3 = 729 > 3 * 9 * 9 = 243 sampled rows
    assert emap(_additive, arrays, (("plot",), ("poster", "people")), exact_max=0, partners=9).exact  # 9^2 = 81 <= 2 * 9 * 9


def test_groups_and_inputs_are_checked_in_one_line():
    assert parse_groups(["plot", "poster+people"]) == (("plot",), ("poster", "people"))
    for bad, why in ((["plot", "poster"], "each of plot, poster, people once"), (["plot", "plot", "poster+people"], "once"),
                     (["plot+poster+people"], "at least two groups"), (["plot", "posters", "people"], "unknown modality posters")):  # fmt: skip
        with pytest.raises(ValueError, match=why):
            parse_groups(bad)
    with pytest.raises(ValueError, match="audio belong to no EMAP group"):
        emap(_additive, {**_blocks(3), "audio": np.zeros((3, 1))})
    with pytest.raises(ValueError, match="expected \\(rows, genres\\)"):
        emap(lambda b: b["text"][:, 0], _blocks(3))


def test_the_gain_is_zero_when_the_projection_decides_alike_and_positive_when_it_loses():
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 5)
    same = interaction_gain(labels, labels[None], labels[None])
    assert same.gain.estimate == 0 and same.gain.low == 0 == same.gain.high and same.model.estimate == 1
    worse = labels.copy()
    worse[:6, 0] = 1 - worse[:6, 0]
    lost = interaction_gain(labels, labels[None], worse[None])
    assert lost.gain.estimate == pytest.approx(lost.model.estimate - lost.emap.estimate) and lost.gain.low > 0


# -- on a row the harness trains ------------------------------------------------------------------

FAST = {"epochs": 2}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    import mmimdb2
    from benchmarks.encoders import get_encoder
    from benchmarks.pipeline import prepare_inputs
    from benchmarks.spec import DataSpec, RunSpec
    from mmimdb2.demo import generate

    folder = generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=160, seed=1)
    spec = RunSpec(models=("concat", "probe-all", "late-fusion-probes"), data=DataSpec(dataset=str(folder)), train=FAST,
                   kg={"epochs": 1, "dim": 16})  # fmt: skip
    ds = mmimdb2.load(folder, progress=False)
    cache = tmp_path_factory.mktemp("cache")
    prep = prepare_inputs(ds, encoder=get_encoder("weightfree"), kg=spec.cell_spec(spec.variants()[0]).kg, device="cpu", cache_dir=cache,
                          progress=False)  # fmt: skip
    return spec, prep, folder


@pytest.mark.parametrize("model", ["concat", "probe-all"])
def test_fit_row_fits_what_the_harness_fits(prepared, model, one_torch_thread):
    from benchmarks.diagnostics.fitting import fit_row
    from benchmarks.harness import fit_and_predict
    from leaderboard.experiments import Variant

    spec, prep, _ = prepared
    cs = spec.cell_spec(Variant(model))
    row, harness = fit_row(cs, prep, seed=1), fit_and_predict(cs, prep, seed=1, device="cpu", progress=False)
    np.testing.assert_allclose(row.proba, harness["proba"], atol=1e-6)
    assert np.all(row.threshold == harness["threshold"])
    np.testing.assert_allclose(row.predict_proba({k: v[prep.rows["test"]] for k, v in prep.arrays.items()}), row.proba, atol=1e-6)


def test_a_block_additive_probe_keeps_its_decisions_and_late_fusion_of_probabilities_does_not_quite(prepared, one_torch_thread):
    """probe-all is one logistic regression on the concatenated blocks: additive in the groups, so
    its EMAP decides as it does. late-fusion-probes averages two probes' probabilities: not additive
    in the logits, so its EMAP moves some logits (the gain says whether that costs anything)."""
    from benchmarks.diagnostics.fitting import fit_row, part_arrays
    from leaderboard.experiments import Variant

    spec, prep, _ = prepared
    test = part_arrays(prep, "test")
    for model in ("probe-all", "late-fusion-probes"):
        row = fit_row(spec.cell_spec(Variant(model)), prep, seed=0)
        result = emap(row.logits(), test, exact_max=0, partners=8)  # sampled: exact for an additive model all the same
        own = row.logits()(test)
        if model == "probe-all":
            np.testing.assert_allclose(result.logits, own, atol=1e-3)  # the probabilities are float32
            from mmimdb2.metrics import decisions

            assert np.array_equal(emap_decisions(result, row.threshold), decisions(row.proba, row.threshold))
        else:
            assert np.abs(result.logits - own).max() > 1e-3


def test_the_emap_command_prints_each_row_its_emap_and_the_gain(prepared, tmp_path, capsys):
    import json

    from benchmarks import diagnose

    _, prep, folder = prepared
    args = ["emap", "--dataset", str(folder), "--models", "probe-all", "concat", "--epochs", "2", "--kg-epochs", "1", "--kg-dim", "16",
            "--encoder", "weightfree", "--no-progress", "--cache-dir", str(prep.cache_dir), "--out", str(tmp_path / "out"),
            "--exact-max", "0", "--partners", "8", "--threads", "1"]  # fmt: skip
    assert diagnose.main(args) == 0
    out = capsys.readouterr().out
    assert "EMAP over plot | poster | people" in out and "sampled, 8 partners per movie and group, seed 0" in out
    assert "probe-all" in out and "concat" in out and "gain [95% CI]" in out
    (record_path,) = (tmp_path / "out" / "diagnostics").glob("*__emap__*.json")
    record = json.loads(record_path.read_text())
    assert {r["label"] for r in record["rows"]} == {"probe-all", "concat"} and record["method"] == "sampled"
    probe = next(r for r in record["rows"] if r["label"] == "probe-all")
    assert probe["gain"]["estimate"] == 0 and probe["macro_f1"] == probe["emap_macro_f1"]
    assert record_path.with_suffix(".csv").exists() and record_path.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert diagnose.main(["emap", "--dataset", str(folder), "--models", "probe-all", "--groups", "plot", "poster", "--out", str(tmp_path)]) == 2
    assert "must name each of plot, poster, people" in capsys.readouterr().err
    assert diagnose.main(["nothing"]) == 2

