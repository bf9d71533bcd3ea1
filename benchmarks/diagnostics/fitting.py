"""A row's model fitted once and kept, so diagnostics can query it on inputs of their own.

:func:`benchmarks.harness.fit_and_predict` trains a cell's model for one seed and returns its test
probabilities and dev-chosen threshold, but not the model. EMAP feeds the model recombined test
inputs and the robustness runner feeds it noisy ones, so :func:`fit_row` calls it and keeps the
model it returns (``out["model"]``): one fit, the harness's, whatever the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.pipeline import PreparedInputs
from benchmarks.spec import CellSpec

#: Probabilities are clipped to [eps, 1 - eps] before an estimator's logit is taken: a probe's
#: constant genre (probability exactly 0) or a saturated sigmoid would otherwise give +-inf.
PROBA_EPS = 1e-6

LogitFn = Callable[[Mapping[str, np.ndarray]], np.ndarray]


def part_arrays(prep: PreparedInputs, part: str) -> dict[str, np.ndarray]:
    """Every input array of ``prep`` restricted to one part's rows (train, dev or test)."""
    rows = prep.rows[part]
    return {k: v[rows] for k, v in prep.arrays.items()}


@dataclass
class FittedRow:
    """One (cell, seed) fitted on clean train (dev picked checkpoint and threshold): the model, its
    test probabilities, the threshold(s) the row decides at, and the seconds training took."""

    cs: CellSpec
    seed: int
    model: Any
    threshold: float | np.ndarray
    proba: np.ndarray
    train_s: float
    device: Any = "cpu"

    def predict_proba(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        """(n, genres) probabilities on ``arrays`` (one part's inputs, e.g. noisy test features)."""
        return predict_proba(self.model, arrays, self.device)

    def logits(self) -> LogitFn:
        """The model as a function from a batch of arrays to (n, genres) float64 logits (EMAP's f)."""
        return logit_function(self.model, self.device)


def test_decisions(rows: Sequence[FittedRow]) -> np.ndarray:
    """(seeds, n, genres) 0/1 test decisions of one cell's fitted seeds, each at its own dev-chosen
    threshold(s): the decisions its leaderboard row stores and scores."""
    from mmimdb2.metrics import decisions

    return np.stack([decisions(r.proba, r.threshold) for r in rows])


def predict_proba(model: Any, arrays: Mapping[str, np.ndarray], device: Any = "cpu") -> np.ndarray:
    """Probabilities of a fitted estimator or torch model on numpy ``arrays`` (label-free)."""
    from baselines.probes import is_estimator

    if is_estimator(model):
        return np.asarray(model.predict_proba(dict(arrays)))
    from benchmarks.trainer import TensorSet
    from benchmarks.trainer import predict_proba as torch_proba

    n = len(next(iter(arrays.values())))
    from mmimdb2.genres import GENRES

    # labels are never read; their width is the genres', which the trainer checks the output against
    data = TensorSet.from_arrays(arrays, np.zeros((n, len(GENRES))), [str(i) for i in range(n)])
    return torch_proba(model, data.to(device))


def logit_function(model: Any, device: Any = "cpu") -> LogitFn:
    """``f(batch) -> (n, genres)`` float64 logits of a fitted model: a torch model's ``forward`` in
    eval mode without gradients; an estimator's ``logit(clip(predict_proba, PROBA_EPS))``."""
    from baselines.probes import is_estimator

    if is_estimator(model):

        def estimator_logits(batch: Mapping[str, np.ndarray]) -> np.ndarray:
            p = np.clip(np.asarray(model.predict_proba(dict(batch)), dtype=np.float64), PROBA_EPS, 1.0 - PROBA_EPS)
            return np.log(p) - np.log1p(-p)

        return estimator_logits

    import torch

    model.eval()

    def torch_logits(batch: Mapping[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            feats = {k: torch.as_tensor(np.asarray(v), dtype=torch.float32).to(device) for k, v in batch.items()}
            return model(feats).double().cpu().numpy()

    return torch_logits


def fit_row(cs: CellSpec, prep: PreparedInputs, *, seed: int, device: Any = "cpu", progress: bool = False) -> FittedRow:
    """Train the model of ``cs`` for one seed on ``prep``'s clean train rows (dev picks checkpoint and
    threshold) by :func:`benchmarks.harness.fit_and_predict` itself, and keep the model it returns.

    ``cs.drop`` is refused: a diagnostic of a row tested without a modality would diagnose a
    different input than the row's model was scored on."""
    from benchmarks.harness import fit_and_predict

    if cs.drop is not None:
        raise ValueError(f"diagnostics run on full inputs; drop the --drop {cs.drop} flag")
    fit = fit_and_predict(cs, prep, seed=seed, device=device, progress=progress)
    return FittedRow(cs, seed, fit["model"], fit["threshold"], fit["proba"], fit["cost"]["train_s"], device)
