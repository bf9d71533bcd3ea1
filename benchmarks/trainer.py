"""The one trainer every torch model goes through: AdamW on cached features, dev-selected checkpoint.

Cached features fit in memory, so all rows live on the device as tensors from the start; an
epoch is one seeded permutation of the rows and batches are contiguous slices of the permuted
tensors. No DataLoader, no per-sample Python. The checkpoint kept is the epoch with the best dev
score of ``select`` (:func:`mmimdb2.metrics.dev_score`): ``loss`` (the default) the lowest mean dev
BCE, ``f1`` the highest dev macro-F1 at the threshold(s) of the run's policy
(:func:`mmimdb2.metrics.select_threshold`: a fixed 0.5, or chosen on dev), ``ap`` the highest mean
average precision over the genres with a dev positive, ``last`` the last epoch run; a tie keeps
the earlier epoch. ``patience`` > 0 stops early after that many epochs without a better score
(never under ``last``). The training recipe (lr, weight decay, epochs, patience, threshold policy,
``select``) is chosen on real movies; see :class:`benchmarks.spec.TrainSpec`.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from benchmarks.spec import TRAIN_SETTINGS, TrainSpec
from benchmarks.threads import thread_independent
from mmimdb2.metrics import balanced_pos_weight, dev_score


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss, unusable data)."""


@dataclass(frozen=True)
class TensorSet:
    """One split as tensors: the batch-dict features, (N, num_genres) labels and the N ids."""

    features: Mapping[str, Tensor]
    labels: Tensor
    ids: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(self.ids))
        n = len(self.ids)
        if self.labels.ndim != 2 or self.labels.shape[0] != n:
            raise ValueError(f"TensorSet: labels must be (N={n}, num_genres); got {tuple(self.labels.shape)}")
        for key, value in self.features.items():
            if value.shape[0] != n:
                raise ValueError(f"TensorSet: feature {key!r} has {value.shape[0]} rows for {n} ids")

    @classmethod
    def from_arrays(
        cls, features: Mapping[str, np.ndarray | Tensor], labels: np.ndarray | Tensor, ids: Sequence[str]
    ) -> TensorSet:
        """Build from numpy arrays or tensors, as float32 (one copy, once)."""
        feats = {k: torch.as_tensor(np.asarray(v) if not isinstance(v, Tensor) else v, dtype=torch.float32) for k, v in features.items()}
        y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, Tensor) else labels, dtype=torch.float32)
        return cls(feats, y, tuple(ids))

    def __len__(self) -> int:
        return len(self.ids)

    def to(self, device: str | torch.device) -> TensorSet:
        return TensorSet({k: v.to(device) for k, v in self.features.items()}, self.labels.to(device), self.ids)

    def take(self, index: Tensor) -> TensorSet:
        """The rows at ``index`` (a tensor gather, done once per epoch by the trainer)."""
        idx = index.to(self.labels.device)
        ids = tuple(self.ids[i] for i in index.tolist())
        return TensorSet({k: v[idx] for k, v in self.features.items()}, self.labels[idx], ids)


@dataclass
class TrainResult:
    """What training produced; the model passed to :func:`train` holds the kept epoch's state on
    return. ``best_dev_macro_f1`` is the dev macro-F1 of that epoch ``best_epoch``, which is the
    epoch of best dev macro-F1 only under ``select="f1"``."""

    best_epoch: int
    best_dev_macro_f1: float
    #: one dict per epoch: "epoch", the mean of every loss component, "dev_macro_f1" and "dev_score"
    #: (the ``select`` score that picks the checkpoint; under ``last``, the epoch number).
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def _ema_copy(model: nn.Module, decay: float) -> nn.Module:
    """An exponential moving average of ``model``'s parameters and buffers (torch.optim.swa_utils)."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _adamw(model: nn.Module, *, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW, fused into one kernel where torch supports it (about 20 % of a CPU step otherwise)."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


@torch.no_grad()
def predict_proba(model: nn.Module, data: TensorSet, batch_size: int = 4096, *, name: str | None = None) -> np.ndarray:
    """Genre probabilities (N, num_genres) with the model in eval mode; labels are never read.
    Logits of another shape, or that are not finite, are a :class:`TrainingError` naming the
    model (``name``, else its own ``name`` or class)."""
    was_training = model.training
    model.eval()
    device = _device_of(model)
    out = []
    try:
        with thread_independent(device):  # the same bits at any thread count
            for start in range(0, len(data), batch_size):
                batch = {k: v[start : start + batch_size].to(device) for k, v in data.features.items()}
                out.append(torch.sigmoid(model(batch)).float().cpu())
    finally:
        model.train(was_training)
    if not out:
        return np.zeros((0, data.labels.shape[1]), dtype=np.float32)
    proba = torch.cat(out).numpy()
    label = name or (model.name if isinstance(getattr(model, "name", None), str) else type(model).__name__)
    if proba.shape != (len(data), data.labels.shape[1]):
        raise TrainingError(f"model {label!r} returned logits of shape {proba.shape}; expected {(len(data), data.labels.shape[1])} (movies, genres)")
    if not np.isfinite(proba).all():
        movies = int((~np.isfinite(proba)).any(axis=1).sum())
        raise TrainingError(f"model {label!r} gave non-finite probabilities (NaN) for {movies} of {len(data)} movies; check its forward for NaN or inf")
    return proba


def genre_pos_weight(labels: np.ndarray | Tensor) -> Tensor:
    """Per genre, n_negative / n_positive over the training rows, as a float32 tensor: the
    ``pos_weight`` of ``class_weight="balanced"`` (:func:`mmimdb2.metrics.balanced_pos_weight`;
    a genre without a positive or without a negative gets 1)."""
    return torch.as_tensor(balanced_pos_weight(labels), dtype=torch.float32)


def _loss_fn(model: nn.Module, name: str, class_weight: str, labels: Tensor):
    """``model.loss`` with the genre weights of ``class_weight`` bound (a one-line error for a
    model whose loss takes none)."""
    import inspect

    if class_weight == "none":
        return model.loss
    if "pos_weight" not in inspect.signature(model.loss).parameters:
        raise ValueError(f"model {name!r} computes its own loss and takes no class weights; run it with --class-weight none")
    weight = genre_pos_weight(labels).to(labels.device)
    return lambda batch, y: model.loss(batch, y, pos_weight=weight)


def train(
    model: nn.Module,
    train: TensorSet,
    dev: TensorSet,
    settings: TrainSpec | None = None,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
    name: str | None = None,
    **overrides: Any,
) -> TrainResult:
    """Train ``model`` with AdamW on ``train`` by the recipe ``settings`` (default: the recipe of
    :class:`benchmarks.spec.TrainSpec`, with ``overrides`` replacing its fields); keep (and load)
    the epoch with the best dev score of ``select`` (the last epoch under ``last``; see the module
    docstring).

    Dev macro-F1 is measured at the ``threshold`` policy's threshold(s) (see
    :func:`mmimdb2.metrics.select_threshold`; "fixed" is 0.5) every epoch, whatever ``select`` is.
    ``patience`` > 0 stops early after that many epochs without a better dev score.
    The last batch of an epoch is dropped when it has a single row (BatchNorm cannot train on
    one); the next permutation covers that row. A non-finite loss raises :class:`TrainingError`
    naming the model and the epoch.

    ``ema`` in (0, 1): dev scores, and the checkpoint kept is, an exponential moving average of
    the weights (and BatchNorm statistics) with that decay per step (torch's ``AveragedModel``);
    on a few hundred movies single-step weights are noisy. 0: the raw weights.

    ``class_weight="balanced"`` weighs each genre's positive terms by n_negative / n_positive of
    ``train`` (:func:`genre_pos_weight`): macro-F1 counts a rare genre as much as Drama, and plain
    BCE leaves rare genres' probabilities far below any shared threshold.
    """
    name = name or type(model).__name__
    unknown = sorted(set(overrides) - set(TRAIN_SETTINGS))
    if unknown:
        raise TypeError(f"train() got unknown setting(s) {unknown}; settings are: {', '.join(TRAIN_SETTINGS)}")
    s = dataclasses.replace(settings or TrainSpec(), **overrides)  # validates every value
    epochs, batch_size, patience, threshold, select = s.epochs, s.batch_size, s.patience, s.threshold, s.select
    if len(train) < 2:
        raise TrainingError(f"cannot train {name!r}: the training set has {len(train)} row(s), need at least 2")
    if len(dev) == 0:
        raise TrainingError(f"cannot select a checkpoint for {name!r}: the dev set is empty")

    t0 = time.perf_counter()
    device = torch.device(device)
    model.to(device)
    train_d = train.to(device)
    optimizer = _adamw(model, lr=s.lr, weight_decay=s.weight_decay)
    loss_of = _loss_fn(model, name, s.class_weight, train_d.labels)
    averaged = _ema_copy(model, s.ema) if s.ema > 0 else None
    scored = averaged.module if averaged is not None else model  # what dev judges and the checkpoint keeps
    order = torch.Generator().manual_seed(seed)
    n = len(train_d)
    starts = [s for s in range(0, n, batch_size) if n - s >= 2]

    history: list[dict[str, float]] = []
    best_score, best_f1, best_epoch, best_state = -math.inf, -math.inf, 0, None
    bar = tqdm(range(1, epochs + 1), desc=f"train {name}", unit="epoch", disable=not progress, file=sys.stderr)
    # thread_independent: the same bits at any thread count (benchmarks.threads)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), thread_independent(device):
        torch.manual_seed(seed)  # dropout and any other in-model randomness
        for epoch in bar:
            model.train()
            perm = torch.randperm(n, generator=order).to(device)
            feats = {k: v[perm] for k, v in train_d.features.items()}
            labels = train_d.labels[perm]
            sums: dict[str, Tensor] = {}
            for s in starts:
                batch = {k: v[s : s + batch_size] for k, v in feats.items()}
                losses = loss_of(batch, labels[s : s + batch_size])
                optimizer.zero_grad(set_to_none=True)
                losses["total"].backward()
                optimizer.step()
                if averaged is not None:
                    averaged.update_parameters(model)
                for k, v in losses.items():
                    v = v.detach()
                    sums[k] = sums[k] + v if k in sums else v
            means = {k: float(v) / len(starts) for k, v in sums.items()}
            if not all(math.isfinite(v) for v in means.values()):
                bad = ", ".join(f"{k}={v}" for k, v in means.items() if not math.isfinite(v))
                raise TrainingError(
                    f"model {name!r} produced a non-finite loss in epoch {epoch} ({bad}); "
                    "check the inputs for NaN/inf or lower the learning rate"
                )
            dev_proba = predict_proba(scored, dev, name=name)
            dev_f1 = dev_score(dev.labels, dev_proba, "f1", threshold)
            if select == "last":  # no dev selection: every epoch beats the one before
                score = float(epoch)
            else:
                score = dev_f1 if select == "f1" else dev_score(dev.labels, dev_proba, select)
            history.append({"epoch": float(epoch), **means, "dev_macro_f1": dev_f1, "dev_score": score})
            if score > best_score:
                best_score, best_f1, best_epoch = score, dev_f1, epoch
                best_state = copy.deepcopy(scored.state_dict())
            bar.set_postfix(loss=f"{means['total']:.4f}", dev_f1=f"{dev_f1:.4f}", best=best_epoch)
            if patience > 0 and epoch - best_epoch >= patience:
                break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    tune = getattr(model, "tune_on_dev", None)  # optional hook: late fusion weighs its modalities on dev
    if callable(tune):
        with thread_independent(device):
            tune(dev.to(device), threshold)
    seconds = time.perf_counter() - t0
    if progress:
        print(
            f"{name}: kept epoch {best_epoch}/{epochs} by dev {select}, dev macro-F1 {best_f1:.4f} ({seconds:.1f} s, {n} rows)",
            file=sys.stderr,
        )
    return TrainResult(best_epoch=best_epoch, best_dev_macro_f1=best_f1, history=history, seconds=seconds)
