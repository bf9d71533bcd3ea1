"""Jaccard-weighted multi-label SupCon, the stand-in for the "MCL" row of IDKG's Table 5.

Named for what it computes: the project has not checked this loss against the paper IDKG's
Table 5 cites as MCL, so it does not claim to be that method. The registry keeps the old names
(``mcl``, ``idkg-mcl``, referred to by result files) and adds ``jaccard-supcon`` /
``idkg-jaccard-supcon`` for the same loss.
"""

from __future__ import annotations

import torch
from torch import Tensor

from baselines.contrastive.base import PairWeightedContrast


def jaccard(a: Tensor, b: Tensor) -> Tensor:
    """(n, m) Jaccard index |Y_a ∩ Y_b| / |Y_a ∪ Y_b| of multi-hot rows; 0 where both are empty."""
    inter = a @ b.T
    union = a.sum(1, keepdim=True) + b.sum(1).unsqueeze(0) - inter
    return torch.where(union > 0, inter / union.clamp_min(1.0), torch.zeros_like(inter))


class MCL(PairWeightedContrast):
    r"""Multi-label supervised contrastive loss: samples as anchors, positives weighted by Jaccard.

    SupCon (Khosla et al. 2020) extended to multi-label data by weighting every in-batch pair by
    the overlap of the two label sets (not verified to be the method IDKG's Table 5 calls MCL)::

        w_ik = |Y_i ∩ Y_k| / |Y_i ∪ Y_k|                     (Jaccard, 0 for the anchor itself)
        L_i  = -1 / sum_k w_ik * sum_{k != i} w_ik * log( exp(s_ik / tau) / sum_{a != i} exp(s_ia / tau) )
        L    = mean of L_i over the anchors with sum_k w_ik > 0

    with s_ik the cosine similarity of the L2-normalised representations. A pair sharing all
    genres is a full positive, one sharing none is a pure negative, partial overlaps count in
    between.

    Adaptation to this interface. The representation of sample i is F^fu_i as given. So that the
    genre anchors take part (label embeddings = projected anchors), the contrast set is the
    batch plus C label prototypes e_j = W anchor_j + b (a Linear anchor_dim -> fused_dim owned
    here); prototype j is treated as a pseudo-sample with label set {j}, so its Jaccard weight
    for sample i is y_ij / |Y_i|. Only samples are anchors. ``label_prototypes=False`` gives the
    batch-only loss (then the anchors get no gradient from this loss).
    """

    def pair_logits(self, z_anchors: Tensor, z_items: Tensor) -> Tensor:
        return z_anchors @ z_items.T / self.temperature  # cosine similarity / tau

    def pair_weights(self, y: Tensor, item_labels: Tensor) -> Tensor:
        return jaccard(y, item_labels)
