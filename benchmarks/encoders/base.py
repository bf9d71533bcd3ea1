"""The encoder contract and the shared machinery: devices, poster loading in workers, batching.

An encoder turns plots and posters into fixed vectors once, so every model trains on the same
frozen features. What identifies its output (``name``, ``version``, ``preprocessing``) is known
before any weights load, so a cache hit never builds a model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

#: Called after each batch with the number of items it held (a tqdm bar's ``update``).
OnBatch = Callable[[int], Any]


class EncoderError(RuntimeError):
    """An encoder that cannot be built or run here (missing weights, missing package, bad name)."""


class DeviceError(RuntimeError):
    """A device that is not there (``cuda`` without a GPU, a bad name): not an encoder's fault,
    so no encoder advice goes with it."""


@runtime_checkable
class Encoder(Protocol):
    """What the feature cache and the harness need from an encoder.

    ``version`` changes whenever the same inputs would give different vectors (code, weights);
    ``preprocessing`` names how texts and images are prepared. Both are part of the cache key.
    Rows are float32 and L2-normalised (a zero row stays zero), so features of different
    encoders have the same scale for the heads trained on them.
    """

    name: str
    version: str
    text_dim: int
    image_dim: int
    preprocessing: str

    def encode_texts(
        self,
        texts: Sequence[str],
        *,
        batch_size: int,
        device: Any,
        num_workers: int = 0,
        on_batch: OnBatch | None = None,
    ) -> np.ndarray:
        """(n, text_dim) float32; ``num_workers`` may tokenize in worker processes."""
        ...

    def encode_images(
        self,
        paths: Sequence[Path | None],
        *,
        batch_size: int,
        device: Any,
        num_workers: int,
        on_batch: OnBatch | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, image_dim) float32 and (n,) bool ``has_image``; a missing or undecodable poster
        gives a zero row and False, never an exception."""
        ...


def resolve_device(name: Any = "auto"):
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; other names are checked, so asking
    for ``cuda`` on a machine without one fails here in one line rather than deep inside torch."""
    import torch

    if isinstance(name, torch.device):
        dev = name
    else:
        text = "auto" if name is None else str(name).strip().lower()
        if text == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(text)
        except RuntimeError:
            raise DeviceError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {str(dev)!r} requested but torch sees no CUDA GPU; use --device cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {str(dev)!r} requested but only {torch.cuda.device_count()} GPU(s) visible")
    return dev


def l2_normalize(x, eps: float = 1e-12):
    """Rows scaled to unit L2 norm (zero rows stay zero); works on numpy arrays and torch tensors."""
    if isinstance(x, np.ndarray):
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return (x / np.maximum(norm, eps)).astype(np.float32, copy=False)
    return x / x.norm(dim=1, keepdim=True).clamp_min(eps)


class _PosterDataset:
    """Maps a list of poster paths to ``(loaded, ok)``; decoding happens here, in the workers.

    ``load`` turns an open RGB PIL image into an array or tensor. Any failure to open or decode
    gives ``(fallback, False)``: one bad file never stops an extraction of 25k posters.
    """

    def __init__(
        self, paths: Sequence[Path], load: Callable[[Any], Any], fallback: Any, draft: tuple[int, int] | None = None
    ) -> None:
        self.paths = list(paths)
        self.load = load
        self.fallback = fallback
        self.draft = draft

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        from mmimdb2.images import open_poster

        try:  # size and aspect checked before decoding; JPEG decoded at a reduced scale (draft); 16-bit scaled
            return self.load(open_poster(self.paths[i], draft=self.draft)), True
        except Exception as e:  # noqa: BLE001 - any decode failure is recorded as has_image=False
            log.debug("poster %s not decodable: %s", self.paths[i], e)
            return self.fallback, False


def _collate(batch):
    import torch

    items, ok = zip(*batch)
    if isinstance(items[0], np.ndarray):
        return torch.from_numpy(np.stack(items)), torch.tensor(ok)
    return torch.stack(items), torch.tensor(ok)


def iter_poster_batches(
    paths: Sequence[Path | None],
    load: Callable[[Any], Any],
    fallback: Any,
    *,
    batch_size: int,
    num_workers: int,
    pin_memory: bool = False,
    draft: tuple[int, int] | None = None,
) -> Iterator[tuple[np.ndarray, Any, Any]]:
    """Yield ``(rows, batch, ok)`` over the posters that have a path, decoded by a DataLoader.

    ``rows`` are the positions in ``paths``; entries without a path are never loaded. ``load``
    must be picklable (a module-level function or a torchvision transform) for worker processes.
    ``draft`` lets a JPEG decode at a reduced scale (at least that size) when the encoder's own
    preprocessing allows it.
    """
    import torch

    rows = np.array([i for i, p in enumerate(paths) if p is not None], dtype=np.int64)
    if rows.size == 0:
        return
    ds = _PosterDataset([paths[i] for i in rows], load, fallback, draft)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=_collate,
        pin_memory=pin_memory,
        persistent_workers=False,
        prefetch_factor=4 if num_workers > 0 else None,
    )
    start = 0
    for batch, ok in loader:
        n = len(ok)
        yield rows[start : start + n], batch, ok
        start += n


def batched(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of ``seq`` of at most ``size`` items."""
    if size < 1:
        raise ValueError(f"batch_size must be >= 1, got {size}")
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def autocast_for(dev, precision: str = "auto"):
    """Mixed precision context: ``auto`` is fp16 autocast on CUDA and plain fp32 elsewhere."""
    import contextlib

    import torch

    prec = ("fp16" if dev.type == "cuda" else "fp32") if precision == "auto" else precision
    if prec == "fp32":
        return contextlib.nullcontext()
    if prec not in ("fp16", "bf16"):
        raise EncoderError(f"precision must be auto, fp16, bf16 or fp32; got {precision!r}")
    return torch.autocast(device_type=dev.type, dtype=torch.float16 if prec == "fp16" else torch.bfloat16)


class ToUint8:
    """The PIL part of a transform, then a CHW uint8 tensor (picklable, runs in the workers)."""

    def __init__(self, head) -> None:
        self.head = head

    def __call__(self, im):
        import torch

        arr = np.asarray(self.head(im), dtype=np.uint8)
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def split_transform(preprocess):
    """``(ToUint8(head), mean, std)`` when ``preprocess`` ends in ToTensor + Normalize, else None.

    The float scaling and normalisation then run batched on the device, which is what
    ``ToTensor`` (divide by 255) and ``Normalize`` compute, with 4x fewer bytes leaving the workers.
    """
    from torchvision import transforms as T

    steps = list(getattr(preprocess, "transforms", []))
    if len(steps) >= 2 and isinstance(steps[-2], T.ToTensor) and isinstance(steps[-1], T.Normalize):
        return ToUint8(T.Compose(steps[:-2])), tuple(steps[-1].mean), tuple(steps[-1].std)
    return None


def draft_size(side: int) -> tuple[int, int]:
    """The JPEG draft request for a transform whose first step needs at least ``side`` pixels on the
    short side (a resize to ``side``, or to a ``side`` x ``side`` square).

    Pillow's draft decodes a JPEG at 1/2, 1/4 or 1/8 scale (in the DCT, so far less work) only when
    the result stays at least this size on both sides; the resize that follows is then still a
    downscale, so a 1000 x 1500 poster costs about a quarter of its full decode at no visible loss,
    and a poster already near ``side`` is decoded in full as before.
    """
    if side < 1:
        raise ValueError(f"draft side must be >= 1, got {side}")
    return (side, side)


def draft_words(draft: tuple[int, int] | None) -> str:
    """How posters are decoded, for an encoder's ``preprocessing`` (so the feature cache key tells
    draft-decoded features from fully decoded ones)."""
    return "full JPEG decode" if draft is None else f"JPEG draft >= {draft[0]}x{draft[1]}px"


def encode_posters(
    paths: Sequence[Path | None],
    preprocess,
    forward: Callable[[Any], Any],
    dim: int,
    dev,
    *,
    autocast,
    batch_size: int,
    num_workers: int,
    on_batch: OnBatch | None = None,
    draft: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run an image tower over poster files: decode in workers, normalise on ``dev``, L2-normalise.

    Outputs stay on the device until the end (no per-batch synchronisation); rows whose poster
    is missing or undecodable are zero with ``has_image`` False. ``draft``: see :func:`draft_size`.
    """
    import torch
    from PIL import Image

    split = split_transform(preprocess)
    if split is not None:
        load, mean, std = split
        mean_t = torch.tensor(mean, device=dev, dtype=torch.float32).view(1, -1, 1, 1)
        std_t = torch.tensor(std, device=dev, dtype=torch.float32).view(1, -1, 1, 1)
    else:  # an unusual transform: run all of it in the workers
        load, mean_t, std_t = preprocess, None, None
    fallback = load(Image.new("RGB", (8, 8)))
    n = len(paths)
    rows_all, outs, oks = [], [], []
    with torch.inference_mode(), autocast:
        for rows, batch, ok in iter_poster_batches(
            paths, load, fallback, batch_size=batch_size, num_workers=num_workers, pin_memory=dev.type == "cuda", draft=draft
        ):
            x = batch.to(dev, non_blocking=True)
            if mean_t is not None:
                x = x.float().div_(255.0).sub_(mean_t).div_(std_t)
            outs.append(l2_normalize(forward(x).float()))
            rows_all.append(rows)
            oks.append(ok)
            if on_batch:
                on_batch(len(rows))
    out = np.zeros((n, dim), np.float32)
    has = np.zeros(n, bool)
    if outs:
        rows = np.concatenate(rows_all)
        ok = torch.cat(oks).numpy()
        feats = torch.cat(outs).cpu().numpy()
        out[rows[ok]] = feats[ok]
        has[rows] = ok
    missing = sum(p is None for p in paths)
    if on_batch and missing:
        on_batch(missing)
    return out, has
