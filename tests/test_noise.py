"""The poster and plot corruptions of mmimdb2.noise: identity at level 0, severity that grows with
the level for the same draw, seeded, and each transform checked by hand on a tiny input."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from mmimdb2 import noise
from mmimdb2.noise import NOISE, PLOT_TRANSFORMS, POSTER_TRANSFORMS, corrupt, item_rng

LEVELS = np.linspace(0, 1, 11)
TEXT = ("A retired detective, haunted by memories of his daughter, returns to Brighton to investigate a string of "
        "murders; the village doctor, a stranger, and twelve witnesses remember something different each night.")  # fmt: skip


def image(pixels) -> Image.Image:
    return Image.fromarray(np.asarray(pixels, dtype=np.uint8), "RGB")


def px(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.int64)


def textured(h: int = 24, w: int = 16) -> Image.Image:
    """A colour gradient: every channel and position differs, so every transform changes it."""
    y, x = np.mgrid[0:h, 0:w]
    return image(np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)], axis=2))


def run(name: str, x, level: float, seed: int = 0):
    return NOISE.load(name)(x, level, np.random.default_rng(seed))


def distance(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(px(a) - px(b)).mean())


def changed_words(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a.split(), b.split())) + abs(len(a.split()) - len(b.split()))


# -- the three promises, for every registered noise --------------------------------------------


@pytest.mark.parametrize("name", NOISE.names())
def test_level_0_is_the_input_unchanged(name):
    if noise.modality_of(name) == "poster":
        img = textured()
        assert np.array_equal(px(corrupt(img, name, 0.0, seed=3, item="tt0000001")), px(img))
    else:
        assert corrupt(TEXT, name, 0, seed=3, item="tt0000001") == TEXT


@pytest.mark.parametrize("name", NOISE.names())
def test_the_same_seed_gives_the_same_output_and_another_seed_another(name):
    if noise.modality_of(name) == "poster":
        img = textured()
        outs = [px(corrupt(img, name, 0.5, seed=s, item="tt0000001")) for s in (5, 5, 6, 7, 8, 9)]
        assert np.array_equal(outs[0], outs[1])
        assert any(not np.array_equal(outs[0], o) for o in outs[2:]) or name in ("grayscale", "contrast")  # these draw nothing
    else:
        outs = [corrupt(TEXT, name, 0.6, seed=s, item="tt0000001") for s in (5, 5, 6)]
        assert outs[0] == outs[1] != outs[2]
    assert item_rng(1, "tt1", name).random() == item_rng(1, "tt1", name).random() != item_rng(1, "tt2", name).random()


@pytest.mark.parametrize("name", POSTER_TRANSFORMS)
def test_poster_severity_grows_with_the_level_for_the_same_draw(name):
    img = textured()
    for seed in range(6):
        d = [distance(img, run(name, img, lv, seed)) for lv in LEVELS]
        assert d[0] == 0 and d[-1] > 0 or name in ("inversion", "flip")
        assert all(b >= a - 0.5 for a, b in zip(d, d[1:])), (seed, np.round(d, 2))  # 0.5: rounding to integer pixels
    if name in ("inversion", "flip"):  # all or nothing: applied at a level, applied at every higher one
        for seed in range(20):
            hit = [distance(img, run(name, img, lv, seed)) > 0 for lv in LEVELS]
            assert hit == sorted(hit) and hit[-1]


@pytest.mark.parametrize("name", [*PLOT_TRANSFORMS, "plot"])
def test_plot_severity_grows_with_the_level_for_the_same_draw(name):
    for seed in range(4):
        outs = [run(name, TEXT, lv, seed) for lv in LEVELS]
        counts = [changed_words(TEXT, o) for o in outs]
        assert counts[0] == 0 and counts == sorted(counts) and counts[-1] >= 10, counts
        # whatever is corrupted at one level stays corrupted (the same way) at every higher one
        for lo, hi in zip(outs, outs[1:]):
            lo_w, hi_w, base = lo.split(), hi.split(), TEXT.split()
            assert all(h == low for low, h, b in zip(lo_w, hi_w, base) if low != b)


def test_the_poster_mix_is_every_poster_transform_in_multibench_order():
    """The mix's severity is its parts': each grows with the level (above); chained, no single
    distance need grow (an inverted poster pulled towards its mean comes back closer)."""
    img, level = textured(), 0.7
    rng = np.random.default_rng(9)
    want = img
    for name in ("grayscale", "contrast", "inversion", "white-balance", "tint", "salt-and-pepper", "gaussian", "rotation", "flip", "crop"):
        want = run(name, want, level, int(rng.integers(2**63)))
    assert np.array_equal(px(run("poster", img, level, 9)), px(want))


# -- each poster transform by hand --------------------------------------------------------------


def test_grayscale_blends_towards_the_luma():
    # luma of (200, 100, 50) = 0.299*200 + 0.587*100 + 0.114*50 = 59.8 + 58.7 + 5.7 = 124.2
    assert px(run("grayscale", image([[[200, 100, 50]]]), 1.0)).tolist() == [[[124, 124, 124]]]
    # halfway: 200 - 75.8/2 = 162.1, 100 + 24.2/2 = 112.1, 50 + 74.2/2 = 87.1; still RGB, never mode L
    out = run("grayscale", image([[[200, 100, 50]]]), 0.5)
    assert out.mode == "RGB" and px(out).tolist() == [[[162, 112, 87]]]


def test_contrast_pulls_towards_the_mean_luma_by_half_at_level_1():
    # black and white: mean luma 127.5; factor 1 - 0.5 = 0.5 -> 127.5 -+ 63.75 = 63.75 -> 64 and 191.25 -> 191
    out = px(run("contrast", image([[[0, 0, 0], [255, 255, 255]]]), 1.0))
    assert out.tolist() == [[[64, 64, 64], [191, 191, 191]]]
    # level 0.4: factor 0.8 -> 127.5 -+ 102 = 25.5 -> 26 and 229.5 -> 230
    assert px(run("contrast", image([[[0, 0, 0], [255, 255, 255]]]), 0.4)).tolist() == [[[26, 26, 26], [230, 230, 230]]]


def test_inversion_is_the_negative_with_probability_level():
    assert px(run("inversion", image([[[10, 20, 30]]]), 1.0)).tolist() == [[[245, 235, 225]]]
    u = np.random.default_rng(11).random()  # the one draw: inverted iff u < level
    below, above = (u + 1) / 2, u / 2
    assert px(run("inversion", image([[[10, 20, 30]]]), below, 11)).tolist() == [[[245, 235, 225]]]
    assert px(run("inversion", image([[[10, 20, 30]]]), above, 11)).tolist() == [[[10, 20, 30]]]


def test_white_balance_raises_one_of_red_and_blue_as_much_as_it_lowers_the_other():
    for seed in range(8):
        r, g, b = px(run("white-balance", image([[[100, 100, 100]]]), 1.0, seed))[0, 0]
        # gain shift s = 1 * U[0.5, 1) * 0.5 in [0.25, 0.5): red 100(1 + s), blue 100(1 - s), or the reverse
        assert g == 100 and abs((r - 100) + (b - 100)) <= 1 and 25 <= abs(r - 100) <= 50
    draws = np.random.default_rng(4)
    warmer, strength = draws.random() < 0.5, draws.uniform(0.5, 1.0)
    s = 0.5 * strength * 0.5  # level 0.5
    want = [100 * (1 + s), 100, 100 * (1 - s)] if warmer else [100 * (1 - s), 100, 100 * (1 + s)]
    assert px(run("white-balance", image([[[100, 100, 100]]]), 0.5, 4))[0, 0].tolist() == [int(np.floor(v + 0.5)) for v in want]


def test_tint_blends_a_pure_colour_by_0_3_at_level_1():
    seen = set()
    for seed in range(12):
        out = px(run("tint", image([[[100, 100, 100]]]), 1.0, seed))[0, 0].tolist()
        # towards 255 in one channel: 100 + 0.3*155 = 146.5 -> 147; towards 0 in the others: 70
        assert sorted(out) == [70, 70, 147]
        seen.add(out.index(147))
    assert seen == {0, 1, 2}  # red, green and blue are all drawn


def test_salt_is_255_pepper_is_0_and_pixels_stay_in_colour():
    gray = image(np.full((80, 80, 3), [128, 90, 60]))
    out = px(run("salt-and-pepper", gray, 1.0, 2))
    salt, pepper = (out == 255).all(axis=2), (out == 0).all(axis=2)
    kept = (out == [128, 90, 60]).all(axis=2)
    assert (salt | pepper | kept).all() and not (out == 1).any()  # MultiBench's quirk (salt = 1) is not here
    assert abs((salt | pepper).mean() - 0.5) < 0.05 and abs(salt.mean() - pepper.mean()) < 0.05  # half hit, half of them salt
    assert kept.any()  # the untouched pixels keep their colour (no grayscale conversion)


def test_gaussian_noise_has_the_stated_spread_and_keeps_colour():
    flat = image(np.full((64, 64, 3), [128, 128, 128]))
    out = px(run("gaussian", flat, 0.25, 1)) - 128
    assert abs(out.std() - 0.25 * 0.38 * 255) < 0.05 * 0.25 * 0.38 * 255  # sigma = level * 0.38 * 255 = 24.2 (clipping 5 sigma away)
    assert abs(out.mean()) < 2 and not (out[..., 0] == out[..., 1]).all()  # channels get their own noise


def test_rotation_keeps_size_and_centre_and_fills_the_corners_black():
    square = image(np.full((41, 41, 3), 200))
    for seed in range(10):
        angle = np.random.default_rng(seed).uniform(-1, 1) * 20  # level 1
        out = px(run("rotation", square, 1.0, seed))
        assert out.shape == (41, 41, 3) and out[20, 20].tolist() == [200, 200, 200]
        assert (out[0, 0] < 200).all() == (abs(angle) > 0.5)  # a corner takes in black fill as soon as the poster turns
        assert (out[0, 0] == 0).all() or abs(angle) < 5  # and is all fill beyond a few degrees
    assert np.array_equal(px(run("rotation", square, 0.0, 0)), px(square))


def test_flip_mirrors_left_to_right():
    assert px(run("flip", image([[[1, 2, 3], [4, 5, 6]]]), 1.0)).tolist() == [[[4, 5, 6], [1, 2, 3]]]


def test_crop_zooms_into_four_fifths_at_level_1():
    ramp = image(np.repeat(np.repeat((np.arange(11) * 25)[None, :, None], 3, axis=2), 5, axis=0))  # 0, 25, ..., 250 across
    out = px(run("crop", ramp, 1.0, 3))[2, :, 0]
    # keeping 0.8 of the width, the 11 columns span 10 * 0.8 * 25 = 200 instead of 250
    assert out.shape == (11,) and abs(int(out[-1]) - int(out[0]) - 200) <= 2 and (np.diff(out) > 0).all()
    assert out[0] >= 0 and out[-1] <= 250


# -- each plot transform by hand ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("swap-letters", {"acbde", "abdce"}),  # inner adjacent pairs only: (b, c) or (c, d)
        ("repeat-letter", {"aabcde", "abbcde", "abccde", "abcdde", "abcdee"}),
        ("drop-letter", {"acde", "abde", "abce"}),  # inner letters only
        ("shuffle-middle", {"a" + "".join(p) + "e" for p in ("bdc", "cbd", "cdb", "dbc", "dcb")}),  # never bcd itself
    ],
)
def test_word_transforms_by_hand(name, allowed):
    outs = {run(name, "abcde", 1.0, seed) for seed in range(40)}
    assert outs <= allowed and len(outs) >= 2


def test_keyboard_typo_replaces_one_letter_by_a_neighbouring_key():
    assert noise.KEYBOARD_NEIGHBOURS["g"] == "bfhtvy" and noise.KEYBOARD_NEIGHBOURS["q"] == "aw"
    for seed in range(20):
        out = run("keyboard-typo", "Hello", 1.0, seed)
        diff = [i for i, (a, b) in enumerate(zip("Hello", out)) if a != b]
        assert len(out) == 5 and len(diff) == 1
        i = diff[0]
        assert out[i].lower() in noise.KEYBOARD_NEIGHBOURS["Hello"[i].lower()] and out[i].isupper() == "Hello"[i].isupper()


def test_plots_keep_short_words_punctuation_and_spacing():
    text = "The cat,  sat on a mat!\nIt was 2019: (again) —  twelve quieter nights."
    out = run("plot", text, 1.0, 0)
    assert re.sub(noise.WORD.pattern, "", out) == re.sub(noise.WORD.pattern, "", text)  # everything but letters, byte for byte
    assert out.split()[:6] == text.split()[:6]  # words under five letters are never touched
    assert out != text


def test_bad_input_is_one_clear_line():
    for bad in (-0.1, 1.5, float("nan"), "high", True, None):
        with pytest.raises(ValueError, match="must be a number in \\[0, 1\\]"):
            corrupt(TEXT, "plot", bad, seed=0, item="tt1")
    with pytest.raises(ValueError, match="Did you mean 'rotation'"):
        corrupt(textured(), "rotaton", 0.5, seed=0, item="tt1")
    with pytest.raises(TypeError, match="corrupts plots"):
        corrupt(textured(), "plot", 0.5, seed=0, item="tt1")
    with pytest.raises(TypeError, match="corrupts posters"):
        corrupt(TEXT, "flip", 0.5, seed=0, item="tt1")
