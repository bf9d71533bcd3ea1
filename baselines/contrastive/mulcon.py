"""MulCon: label-level supervised contrastive loss (Dao et al. 2021), adapted to IDKG."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.contrastive.base import check_inputs, check_temperature, zero_loss


class MulCon(nn.Module):
    r"""Label-level contrastive loss of MulCon, with IDKG's genre anchors as label queries.

    Paper: Son D. Dao, He Zhao, Dinh Phung, Jianfei Cai (2021), "Multi-label Image
    Classification with Contrastive Learning" (arXiv preprint; public code SonDaoDuy/MulCon).

    MulCon turns each sample i into one *label-level embedding* g_ij per label j, by letting
    label j attend over the sample's representation, projects the embeddings of the sample's
    **positive** labels with a head, and applies the supervised contrastive loss of Khosla et al. (2020)
    over the set S = {(i, j) : y_ij = 1} of the batch, label j playing the class role
    (temperature/base-temperature factor 1)::

        z_a = normalize(proj(g_a))                                   for a = (i, j) in S
        P(a) = {(k, j) in S : k != i}        A(a) = S \ {a}
        L_a = -1/|P(a)| * sum_{p in P(a)} log( exp(z_a.z_p / tau) / sum_{b in A(a)} exp(z_a.z_b / tau) )
        L = mean of L_a over the a with |P(a)| > 0

    Adaptation to this interface. MulCon's attention has label queries over the spatial tokens
    of a CNN feature map; F^fu is one vector, so its D channels are the positions attended
    over: the label query is the projected anchor q_j = W_a anchor_j + b (a Linear
    anchor_dim -> fused_dim owned here), the score of channel d is q_jd * f_id and::

        alpha_ij = softmax_d(q_j * f_i)          g_ij = D * alpha_ij * f_i

    (the factor D makes uniform attention return f_i unchanged). The projection head is
    MulCon's Linear-ReLU-Linear to ``proj_dim``, hidden width ``hidden_dim`` (default
    ``proj_dim``; the authors' head is 1024-1024-128, a narrow hidden layer keeps the step
    cheap). Anchors with no positive (a label present once in the batch) are left out of the
    mean instead of counting as zero as in the authors' code (which divides the sum by |S|);
    this matches SupCon's definition of the per-anchor loss.
    """

    def __init__(
        self,
        *,
        fused_dim: int,
        anchor_dim: int,
        num_genres: int,
        temperature: float = 0.1,
        proj_dim: int = 128,
        hidden_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.fused_dim, self.anchor_dim, self.num_genres = fused_dim, anchor_dim, num_genres
        self.temperature = check_temperature("MulCon", temperature)
        hidden = hidden_dim or proj_dim
        self.query = nn.Linear(anchor_dim, fused_dim)
        self.projector = nn.Sequential(nn.Linear(fused_dim, hidden), nn.ReLU(), nn.Linear(hidden, proj_dim))

    def label_level(self, fused: Tensor, anchors: Tensor) -> Tensor:
        """(B, C, D) label-level embeddings g_ij: label j's attention over the channels of f_i."""
        return self._attend(fused.unsqueeze(1), self.query(anchors).unsqueeze(0))

    def _attend(self, fused: Tensor, queries: Tensor) -> Tensor:
        """g = D * softmax_d(q * f) * f, broadcasting over leading dimensions."""
        alpha = torch.softmax(queries * fused, dim=-1)
        return self.fused_dim * alpha * fused

    def forward(self, fused: Tensor, labels: Tensor, anchors: Tensor) -> Tensor:
        """Mean supervised contrastive loss over the batch's positive label-level embeddings."""
        check_inputs("MulCon", fused, labels, anchors, self.fused_dim, self.anchor_dim, self.num_genres)
        pos = labels > 0.5
        sample_idx, label_idx = pos.nonzero(as_tuple=True)
        if sample_idx.numel() < 2:
            return zero_loss(self, fused, anchors)
        g = self._attend(fused[sample_idx], self.query(anchors)[label_idx])  # (|S|, D)
        z = F.normalize(self.projector(g), dim=-1)
        logits = z @ z.T / self.temperature
        n = z.shape[0]
        eye = torch.eye(n, dtype=torch.bool, device=z.device)
        same_label = label_idx.unsqueeze(0) == label_idx.unsqueeze(1)
        positive = same_label & ~eye
        log_prob = logits - torch.logsumexp(logits.masked_fill(eye, float("-inf")), dim=1, keepdim=True)
        n_pos = positive.sum(dim=1)
        keep = n_pos > 0
        if not bool(keep.any()):
            return zero_loss(self, fused, anchors)
        per_anchor = -(log_prob * positive).sum(dim=1)[keep] / n_pos[keep]
        return per_anchor.mean()
