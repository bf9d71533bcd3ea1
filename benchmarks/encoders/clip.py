"""``clip:<model>:<pretrained>``: frozen OpenCLIP towers, what IDKG and the baselines consume.

``<model>`` is any open_clip architecture (``open_clip.list_models()``, or one registered with
``open_clip.add_model_config``) or ``local-dir:<folder>``; ``<pretrained>`` is one of its tags
(``open_clip.list_pretrained_tags_by_model``), ``none`` for random weights (seeded), or a path to
a local checkpoint (``.pt`` / ``.bin`` / ``.safetensors`` state dict). The default,
``clip:ViT-B-32-quickgelu:laion400m_e32``, is what the IDKG authors used.

- A JPEG poster is decoded at the smallest DCT scale (Pillow's draft: 1/2, 1/4, 1/8) that keeps
  the model's input size on both sides, so a 1000-px poster is not decoded in full only to be
  shrunk to 224; the draft is part of ``preprocessing``, hence of the feature cache key.
- Posters go through the model's own preprocess transform (resize, centre crop, normalise). The
  PIL part runs in DataLoader workers; the uint8 -> float scaling and normalisation run on the
  device, batched (numerically what ``ToTensor`` + ``Normalize`` compute), so workers ship 4x
  fewer bytes.
- Plots are passed raw to the model's own tokenizer, which truncates to the model's context
  length (77 tokens for CLIP: the first 76 BPE tokens plus end-of-text). We do not lower-case or
  rewrite digits beforehand, as the IDKG authors did; CLIP's tokenizer applies its own cleaning.
- Both outputs are L2-normalised (float32). On CUDA the towers run under ``torch.autocast``
  (fp16 by default), with pinned host memory and non-blocking copies.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.encoders.base import (
    EncoderError,
    OnBatch,
    autocast_for,
    draft_size,
    draft_words,
    encode_posters,
    l2_normalize,
    resolve_device,
)

DEFAULT_MODEL = "ViT-B-32-quickgelu"
DEFAULT_PRETRAINED = "laion400m_e32"
#: Bump when this module changes what it computes for the same model and weights.
CODE_VERSION = "1"
_RANDOM = ("none", "random", "")
_LOCAL_DIR = "local-dir:"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _short_json_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``'ViT-B-32:laion400m_e32'`` -> (model, pretrained); ``local-dir:<dir>`` keeps its colon.

    A missing tag means the default for the default model and random weights otherwise is too
    surprising, so ``clip:<model>`` alone is rejected with a hint.
    """
    if spec.startswith(_LOCAL_DIR):
        return spec, None
    if spec.startswith("hf-hub:"):
        raise EncoderError(
            f"encoder 'clip:{spec}': hub repositories are not fetched here; download the repository and "
            "use clip:local-dir:<folder> (or clip:<model>:/path/to/checkpoint)"
        )
    if not spec:
        return DEFAULT_MODEL, DEFAULT_PRETRAINED
    model, sep, pretrained = spec.partition(":")
    if not sep:
        raise EncoderError(
            f"encoder 'clip:{spec}' names no weights; write clip:{spec}:<tag>, clip:{spec}:none (random) "
            f"or clip:{spec}:/path/to/checkpoint.pt"
        )
    return model, pretrained


class ClipEncoder:
    """Frozen OpenCLIP text and image towers (see the module docstring).

    Building the object is cheap: dimensions, version and preprocessing come from the model
    config, so a feature-cache hit never loads weights (a local checkpoint is hashed, though, so
    the cache follows its contents, not its path). Weights load on the first ``encode_*``.
    ``seed`` fixes random weights (``pretrained='none'``); ``precision`` is ``auto`` (fp16 on CUDA,
    fp32 on CPU), ``fp16``, ``bf16`` or ``fp32``; ``draft=False`` decodes every JPEG in full (a
    slower reference, under another cache key).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        pretrained: str | None = DEFAULT_PRETRAINED,
        *,
        seed: int = 0,
        precision: str = "auto",
        cache_dir: str | os.PathLike[str] | None = None,
        draft: bool = True,
    ) -> None:
        import open_clip

        if precision not in ("auto", "fp16", "bf16", "fp32"):
            raise EncoderError(f"precision must be auto, fp16, bf16 or fp32; got {precision!r}")
        self.model_name = model
        self.pretrained = None if pretrained is None or pretrained.lower() in _RANDOM else pretrained
        self.seed = seed
        self.precision = precision
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self._model = None
        self._preprocess = None

        pretrained_cfg: dict[str, Any] = {}
        if model.startswith(_LOCAL_DIR):
            folder = Path(model[len(_LOCAL_DIR) :]).expanduser()
            cfg_file = folder / "open_clip_config.json"
            if not cfg_file.is_file():
                raise EncoderError(f"{folder}: no open_clip_config.json, so 'local-dir:' cannot build a model from it")
            local = json.loads(cfg_file.read_text(encoding="utf-8"))
            if "model_cfg" not in local:
                raise EncoderError(f"{cfg_file}: no 'model_cfg' key, so open_clip cannot build a model from it")
            self.model_cfg = local["model_cfg"]
            pretrained_cfg = local.get("preprocess_cfg", {})
            from open_clip.factory import _find_checkpoint_in_dir  # the file open_clip will load

            ckpt = _find_checkpoint_in_dir(folder)
            weights = f"file-sha256:{_sha256_file(Path(ckpt))}" if ckpt else f"random(seed={seed})"
            self.name = f"clip:{model}"
        else:
            cfg = open_clip.get_model_config(model)
            if cfg is None:
                close = difflib.get_close_matches(model, open_clip.list_models(), n=3, cutoff=0.5)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                raise EncoderError(f"unknown open_clip model {model!r}.{hint} See open_clip.list_models()")
            self.model_cfg = cfg
            tags = open_clip.list_pretrained_tags_by_model(model)
            if self.pretrained is None:
                weights = f"random(seed={seed})"
            elif self.pretrained in tags:
                pretrained_cfg = open_clip.get_pretrained_cfg(model, self.pretrained)
                source = pretrained_cfg.get("hf_hub") or pretrained_cfg.get("url") or ""
                weights = f"tag:{self.pretrained}:{source}"
            elif Path(self.pretrained).expanduser().is_file():
                self.pretrained = str(Path(self.pretrained).expanduser())
                weights = "file-sha256:" + _sha256_file(Path(self.pretrained))
            else:
                raise EncoderError(
                    f"{self.pretrained!r} is neither a pretrained tag of {model} "
                    f"(tags: {', '.join(tags) or 'none'}) nor an existing checkpoint file"
                )
            self.name = f"clip:{model}:{pretrained if self.pretrained else 'none'}"

        self.text_dim = self.image_dim = int(self.model_cfg["embed_dim"])
        self.context_length = int(self.model_cfg.get("text_cfg", {}).get("context_length", 77))
        self.preprocess_cfg = self._predict_preprocess_cfg(pretrained_cfg)
        self.version = (
            f"{CODE_VERSION};open_clip={'.'.join(open_clip.__version__.split('.')[:2])};"
            f"cfg={_short_json_hash(self.model_cfg)};weights={weights}"
        )
        p = self.preprocess_cfg
        #: every resize mode (shortest, squash, longest) needs at most max(size) px on a side
        self.draft = draft_size(max(_pair(p["size"]))) if draft else None
        self.preprocessing = (
            f"image: {draft_words(self.draft)}, open_clip transform size={p['size']} resize={p['resize_mode']} interp={p['interpolation']} "
            f"mean={tuple(p['mean'])} std={tuple(p['std'])}; text: raw longest plot, model tokenizer, "
            f"context {self.context_length} (truncated); outputs L2-normalised"
        )

    def _predict_preprocess_cfg(self, overlay: dict[str, Any]) -> dict[str, Any]:
        """The preprocess config open_clip will attach to the model, computed without building it."""
        from dataclasses import asdict

        from open_clip.factory import merge_preprocess_dict
        from open_clip.transform import PreprocessCfg

        cfg = merge_preprocess_dict(asdict(PreprocessCfg()), overlay)
        size = self.model_cfg.get("vision_cfg", {}).get("image_size")
        if size is not None:
            cfg["size"] = size
        return cfg

    # -- weights -----------------------------------------------------------------------------
    def load(self):
        """Build the model once (on the CPU) and return ``(model, preprocess, tokenizer)``."""
        if self._model is not None:
            return self._model, self._preprocess, self._tokenizer
        import open_clip
        import torch

        pretrained = None if self.model_name.startswith(_LOCAL_DIR) else self.pretrained
        try:
            with torch.random.fork_rng(devices=[]):  # seeded random init without touching global RNG
                torch.manual_seed(self.seed)
                model, _, preprocess = open_clip.create_model_and_transforms(
                    self.model_name, pretrained=pretrained, cache_dir=self.cache_dir
                )
        except RuntimeError as e:
            if "download" not in str(e).lower():
                raise EncoderError(f"{self.name}: open_clip could not build the model: {str(e).splitlines()[0]}") from e
            offline = " (HF_HUB_OFFLINE=1)" if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") else ""
            raise EncoderError(
                f"cannot fetch the weights of {self.name}: no network or hub access{offline}; use the "
                f"'weightfree' or 'offline' encoder, or a local checkpoint: clip:{self.model_name}:/path/to/weights.pt"
                " or clip:local-dir:/path/to/folder"
            ) from None
        model.eval().requires_grad_(False)
        actual = open_clip.get_model_preprocess_cfg(model)
        for k in ("size", "mean", "std", "interpolation", "resize_mode"):
            want, got = self.preprocess_cfg.get(k), actual.get(k)
            if k == "size":
                want, got = _pair(want), _pair(got)
            if k in actual and _norm(got) != _norm(want):
                raise EncoderError(
                    f"{self.name}: open_clip's preprocess {k}={actual[k]!r} differs from the predicted "
                    f"{self.preprocess_cfg.get(k)!r}; the feature cache key would be wrong"
                )
        self._model, self._preprocess = model, preprocess
        self._tokenizer = open_clip.get_tokenizer(self.model_name, context_length=self.context_length)
        return self._model, self._preprocess, self._tokenizer

    def _autocast(self, dev):
        return autocast_for(dev, self.precision)

    # -- encoding ----------------------------------------------------------------------------
    def encode_texts(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 256,
        device: Any = "auto",
        num_workers: int = 0,
        on_batch: OnBatch | None = None,
    ) -> np.ndarray:
        import torch

        model, _, tokenizer = self.load()
        dev = resolve_device(device)
        model.to(dev)
        loader = torch.utils.data.DataLoader(
            list(texts), batch_size=batch_size, shuffle=False, num_workers=num_workers,
            collate_fn=tokenizer, pin_memory=dev.type == "cuda",
        )  # fmt: skip
        outs = []
        with torch.inference_mode(), self._autocast(dev):
            for tokens in loader:
                f = model.encode_text(tokens.to(dev, non_blocking=True))
                outs.append(l2_normalize(f.float()))
                if on_batch:
                    on_batch(len(tokens))
        if not outs:
            return np.zeros((0, self.text_dim), np.float32)
        return torch.cat(outs).cpu().numpy().astype(np.float32, copy=False)

    def encode_images(
        self,
        paths: Sequence[Path | None],
        *,
        batch_size: int = 256,
        device: Any = "auto",
        num_workers: int = 0,
        on_batch: OnBatch | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        model, preprocess, _ = self.load()
        dev = resolve_device(device)
        model.to(dev)
        return encode_posters(
            paths, preprocess, model.encode_image, self.image_dim, dev,
            autocast=self._autocast(dev), batch_size=batch_size, num_workers=num_workers, on_batch=on_batch,
            draft=self.draft,
        )  # fmt: skip


def _pair(v: Any) -> Any:
    return (v, v) if isinstance(v, int) else tuple(v) if isinstance(v, (list, tuple)) else v


def _norm(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(round(float(x), 6) if isinstance(x, float) else x for x in v)
    if isinstance(v, float):
        return round(v, 6)
    return v


def clip_encoder(spec: str = "", **kwargs: Any) -> ClipEncoder:
    """Registry factory: ``spec`` is what follows ``clip:`` (``'<model>:<pretrained>'``)."""
    model, pretrained = parse_spec(spec)
    return ClipEncoder(model, pretrained, **kwargs)
