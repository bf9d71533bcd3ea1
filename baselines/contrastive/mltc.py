"""MLTC: label-similarity-weighted contrastive loss of Su, Wang & Dai (2022), adapted to IDKG."""

from __future__ import annotations

import torch
from torch import Tensor

from baselines.contrastive.base import PairWeightedContrast


class MLTC(PairWeightedContrast):
    r"""Contrastive loss between samples, each pair weighted by how many labels it shares.

    Paper: Xi'ao Su, Ran Wang, Xinyu Dai (2022), "Contrastive Learning-Enhanced Nearest
    Neighbor Mechanism for Multi-Label Text Classification" (ACL 2022, short papers, pp. 672-679;
    cited as "Wang et al. 2022" / MLTC in IDKG's Table 5). Its multi-label contrastive objective
    pulls samples together in proportion to their label similarity, similarity of
    representations being the negative Euclidean distance d of normalised vectors::

        C_ij    = y_i . y_j                                 (number of shared labels)
        beta_ij = C_ij / sum_{k != i} C_ik
        L_i     = -sum_{j != i} beta_ij * log( exp(-d(z_i, z_j) / tau) / sum_{k != i} exp(-d(z_i, z_k) / tau) )
        L       = mean of L_i over the anchors with sum_k C_ik > 0

    Unlike the Jaccard weights of MCL, the weight grows with the raw count of shared labels, so
    pairs of many-genre movies dominate; and similarity is a negative distance, not a cosine.

    Adaptation to this interface. z_i = normalize(F^fu_i). So that the genre anchors take part
    (label embeddings = projected anchors), the contrast set is the batch plus C label
    prototypes e_j = W anchor_j + b (a Linear anchor_dim -> fused_dim owned here), prototype j
    being a pseudo-sample with the single label j, hence C_ij = y_ij. Only samples are anchors.
    ``label_prototypes=False`` gives the batch-only loss of the paper (then the anchors get no
    gradient from this loss). The paper's kNN inference is not used: IDKG keeps its classifier.
    """

    def pair_logits(self, z_anchors: Tensor, z_items: Tensor) -> Tensor:
        # Euclidean distance of unit vectors, from the Gram matrix (sqrt guarded at 0 for the gradient).
        sq = (2.0 - 2.0 * (z_anchors @ z_items.T)).clamp_min(0.0)
        return -torch.sqrt(sq + 1e-12) / self.temperature

    def pair_weights(self, y: Tensor, item_labels: Tensor) -> Tensor:
        return y @ item_labels.T  # shared-label counts C_ik
