"""Robustness to noisy test posters and plots: MultiBench's summaries on hand-computed curves, the
noisy features (test only, one modality at a time, cached per noise, level and seed) and the runner."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.diagnostics.noisy import NoiseSetting
from benchmarks.diagnostics.robustness import LEVELS, check_levels, effective_robustness, relative_robustness


def test_relative_robustness_is_the_area_under_the_curve():
    # trapezoids: 0.5 * (0.6 + 0.4) / 2 + 0.5 * (0.4 + 0.2) / 2 = 0.25 + 0.15
    assert relative_robustness([0, 0.5, 1], [0.6, 0.4, 0.2]) == pytest.approx(0.40)
    # MultiBench's 11 levels, a flat curve at 0.5: ten steps of 0.1 * 0.5
    assert relative_robustness(LEVELS, [0.5] * 11) == pytest.approx(0.5)
    # uneven levels are weighted by their spacing: 0.1 * (1 + 0.8) / 2 + 0.9 * (0.8 + 0) / 2 = 0.09 + 0.36
    assert relative_robustness([0, 0.1, 1], [1.0, 0.8, 0.0]) == pytest.approx(0.45)


def test_effective_robustness_compares_the_drop_with_the_reference_after_equalising_the_clean_score():
    # f = 0.6, 0.5, 0.3 and late fusion r = 0.5, 0.45, 0.35: r shifted to f's start = 0.6, 0.55, 0.45,
    # f minus it = 0, -0.05, -0.15, summed: -0.2 (f loses more than late fusion from the same start)
    assert effective_robustness([0, 0.5, 1], [0.6, 0.5, 0.3], [0.5, 0.45, 0.35]) == pytest.approx(-0.20)
    assert effective_robustness([0, 0.5, 1], [0.5, 0.45, 0.35], [0.5, 0.45, 0.35]) == 0  # the reference against itself
    assert effective_robustness([0, 1], [0.9, 0.85], [0.5, 0.3]) == pytest.approx(0.15)  # 0.85 - (0.3 + 0.4)


def test_levels_and_settings_are_checked_in_one_line():
    assert check_levels([0, 0.25, 1]) == (0.0, 0.25, 1.0)
    for bad in ([0.1, 0.5], [0, 0.5, 0.5], [0, 1.5], [0]):
        with pytest.raises(ValueError, match="must rise strictly from 0"):
            check_levels(bad)
    with pytest.raises(ValueError, match="one score per level"):
        relative_robustness([0, 1], [0.5])
    setting = NoiseSetting.parse(["poster=0.3", "keyboard-typo=0"], seed=4)
    assert setting.noises == (("poster", 0.3), ("keyboard-typo", 0.0)) and setting.by_modality() == {"poster": ("poster", 0.3)}
    assert setting.label() == "poster=0.3 keyboard-typo=0"
    for bad, why in ((["poster=0.3", "rotation=0.2"], "one noise per modality"), (["poster"], "NAME=LEVEL"),
                     (["poster=2"], "must be a number in \\[0, 1\\]"), (["postr=0.2"], "Did you mean 'poster'")):  # fmt: skip
        with pytest.raises(ValueError, match=why):
            NoiseSetting.parse(bad)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from mmimdb2.demo import generate

    return generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=300, seed=2)  # fewer: a text probe is near constant


def test_noisy_features_change_only_the_noised_modality_of_the_asked_movies_and_are_cached(demo, tmp_path):
    import mmimdb2
    from benchmarks.diagnostics.noisy import noisy_part_arrays
    from benchmarks.encoders import get_encoder
    from benchmarks.features import extract_features

    ds, enc = mmimdb2.load(demo, progress=False), get_encoder("weightfree")
    clean = extract_features(ds, enc, cache_dir=tmp_path, progress=False)
    ids = list(ds.split["test"])
    rows = clean.rows(ids)

    def noisy(*items, seed=0, timings=None):
        return noisy_part_arrays(ds, enc, clean, ids, NoiseSetting.parse(items, seed), cache_dir=tmp_path, timings=timings)

    zero = noisy("poster=0", "plot=0")
    assert np.array_equal(zero["text"], clean.text[rows]) and np.array_equal(zero["image"], clean.image[rows])
    first = {}
    poster = noisy("poster=0.6", timings=first)
    assert np.array_equal(poster["text"], clean.text[rows])  # the plot stays clean
    changed = np.abs(poster["image"] - clean.image[rows]).sum(1) > 1e-6
    assert changed.mean() > 0.9 and first["poster"] > 0
    again = {}
    assert np.array_equal(noisy("poster=0.6", timings=again)["image"], poster["image"]) and again["poster"] == 0  # read from the cache
    assert not np.array_equal(noisy("poster=0.6", seed=1)["image"], poster["image"])  # another seed, other noise
    plot = noisy("plot=0.8")
    assert np.array_equal(plot["image"], clean.image[rows]) and (np.abs(plot["text"] - clean.text[rows]).sum(1) > 1e-6).mean() > 0.9
    both = noisy("poster=0.6", "plot=0.8", timings=(t := {}))
    assert np.array_equal(both["image"], poster["image"]) and np.array_equal(both["text"], plot["text"]) and t == {"poster": 0, "plot": 0}
    assert len(list((tmp_path / "features").glob("*.npz"))) == 1  # train and dev never re-encoded


def test_the_robustness_command_sweeps_each_modality_and_scores_a_setting(demo, tmp_path, capsys):
    from benchmarks import robustness

    base = ["--dataset", str(demo), "--models", "probe-text", "--encoder", "weightfree", "--kg-epochs", "1", "--kg-dim", "16",
            "--no-progress", "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"), "--threads", "1"]  # fmt: skip
    assert robustness.main([*base, "--sweep", "plot", "poster", "--levels", "0", "0.5", "1", "--reference", "probe-image"]) == 0
    out = capsys.readouterr().out
    assert "noise plot" in out and "noise poster" in out and "effective = against probe-image" in out and "seconds: noisy features" in out
    (path,) = (tmp_path / "out" / "diagnostics").glob("*__robustness__*.json")
    record = json.loads(path.read_text())
    assert record["levels"] == [0, 0.5, 1] and record["reference"] == "probe-image" and record["sweep"] == ["plot", "poster"]
    text_probe = record["curves"]["plot"]["probe-text"]
    points = [p["estimate"] for p in text_probe["points"]]
    assert text_probe["relative_robustness"] == pytest.approx(0.25 * (points[0] + 2 * points[1] + points[2]))
    changed = [p["changed"] for p in text_probe["points"]]
    assert changed[0] == 0 < changed[1] < changed[2]  # the noisy plots reach the text probe, more so at level 1
    assert record["curves"]["plot"]["probe-image"]["effective_robustness"] == 0  # the reference against itself
    assert all(p["changed"] == 0 for p in record["curves"]["plot"]["probe-image"]["points"])  # plot noise leaves a poster probe alone
    assert all(p["changed"] == 0 for p in record["curves"]["poster"]["probe-text"]["points"])  # and poster noise a text probe
    assert record["curves"]["poster"]["probe-image"]["points"][2]["changed"] > 0
    assert len(path.with_suffix(".csv").read_text().splitlines()) == 1 + 2 * 2 * 3 and path.with_suffix(".png").exists()

    assert robustness.main([*base, "--noise", "poster=0.5", "plot=0.5"]) == 0
    out = capsys.readouterr().out
    assert "clean and under poster=0.5 plot=0.5" in out and "probe-text" in out
    assert robustness.main([*base, "--noise", "poster=0.5", "--sweep", "plot"]) == 2
    assert "not both" in capsys.readouterr().err
