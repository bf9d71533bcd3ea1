"""The shared pieces of the contrastive losses: input checks, the exact-zero loss, and the
pair-weighted contrast of MCL and MLTC (see :mod:`baselines.contrastive` for the contract)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def check_inputs(
    name: str, fused: Tensor, labels: Tensor, anchors: Tensor, fused_dim: int, anchor_dim: int, num_genres: int
) -> None:
    """Raise a one-line ``ValueError`` naming the loss when shapes break the contract."""
    if fused.dim() != 2 or fused.shape[1] != fused_dim:
        raise ValueError(f"{name}: fused must be (B, {fused_dim}); got {tuple(fused.shape)}")
    if labels.shape != (fused.shape[0], num_genres):
        raise ValueError(f"{name}: labels must be (B={fused.shape[0]}, {num_genres}); got {tuple(labels.shape)}")
    if anchors.shape != (num_genres, anchor_dim):
        raise ValueError(f"{name}: anchors must be ({num_genres}, {anchor_dim}); got {tuple(anchors.shape)}")


def zero_loss(module: nn.Module, *tensors: Tensor) -> Tensor:
    """An exact 0 connected to ``tensors`` and ``module``'s parameters (gradients are zeros, not None)."""
    total = sum((t.sum() * 0.0 for t in tensors if t.requires_grad), start=tensors[0].new_zeros(()))
    for p in module.parameters():
        if p.requires_grad:
            total = total + p.sum() * 0.0
    return total


def check_temperature(name: str, temperature: float) -> float:
    """The temperature must be a positive number; say so in the scikit-learn style otherwise."""
    if not (isinstance(temperature, (int, float)) and temperature > 0):
        raise ValueError(f"The 'temperature' parameter of {name} must be a float > 0. Got {temperature!r} instead.")
    return float(temperature)


def weighted_contrast(logits: Tensor, weights: Tensor, self_mask: Tensor) -> tuple[Tensor, Tensor]:
    """Per-anchor -sum_k w_ik log softmax_k(logits_i) / sum_k w_ik, softmax over k not self.

    ``logits`` and ``weights`` are (B, K); ``self_mask`` (B, K) marks each anchor's own column,
    which is out of both the softmax and the weights. Returns (loss per anchor, kept mask):
    anchors whose weights sum to 0 are not kept.
    """
    weights = weights.masked_fill(self_mask, 0.0)
    log_prob = logits - torch.logsumexp(logits.masked_fill(self_mask, float("-inf")), dim=1, keepdim=True)
    log_prob = log_prob.masked_fill(self_mask, 0.0)
    total = weights.sum(dim=1)
    keep = total > 0
    per_anchor = -(weights * log_prob).sum(dim=1) / total.clamp_min(torch.finfo(total.dtype).tiny)
    return per_anchor, keep


class PairWeightedContrast(nn.Module):
    """Samples as anchors, every other item weighted by label overlap: the shared body of MCL and MLTC.

    The contrast set is the batch plus, with ``label_prototypes=True``, C label prototypes
    ``W anchor_j + b`` (label embeddings = projected anchors), prototype j being a pseudo-sample
    with the single label j, so the genre anchors take part. Subclasses give the pair logits
    and weights of their paper.
    """

    def __init__(
        self,
        *,
        fused_dim: int,
        anchor_dim: int,
        num_genres: int,
        temperature: float = 0.1,
        label_prototypes: bool = True,
    ) -> None:
        super().__init__()
        self.fused_dim, self.anchor_dim, self.num_genres = fused_dim, anchor_dim, num_genres
        self.temperature = check_temperature(type(self).__name__, temperature)
        self.label_prototypes = label_prototypes
        self.label_proj = nn.Linear(anchor_dim, fused_dim)

    def pair_logits(self, z_anchors: Tensor, z_items: Tensor) -> Tensor:
        """(B, K) similarity / temperature of unit-norm anchors and items."""
        raise NotImplementedError

    def pair_weights(self, y: Tensor, item_labels: Tensor) -> Tensor:
        """(B, K) non-negative positive weights from the multi-hot label rows."""
        raise NotImplementedError

    def forward(self, fused: Tensor, labels: Tensor, anchors: Tensor) -> Tensor:
        check_inputs(type(self).__name__, fused, labels, anchors, self.fused_dim, self.anchor_dim, self.num_genres)
        y = (labels > 0.5).to(fused.dtype)
        items, item_labels = fused, y
        if self.label_prototypes:
            items = torch.cat([fused, self.label_proj(anchors)], dim=0)
            item_labels = torch.cat([y, torch.eye(self.num_genres, dtype=y.dtype, device=y.device)], dim=0)
        z = torch.nn.functional.normalize(items, dim=-1)
        n = fused.shape[0]
        logits = self.pair_logits(z[:n], z)
        self_mask = torch.zeros_like(logits, dtype=torch.bool)
        self_mask[:, :n] = torch.eye(n, dtype=torch.bool, device=fused.device)
        per_anchor, keep = weighted_contrast(logits, self.pair_weights(y, item_labels), self_mask)
        if not bool(keep.any()):
            return zero_loss(self, fused, anchors)
        return per_anchor[keep].mean()
