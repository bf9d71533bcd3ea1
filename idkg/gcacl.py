"""G-CACL, the genre-centroid anchored contrastive loss (paper Eq. 8-13).

Each movie's fused representation F^fu_i is pulled towards the centroid of the embeddings of
its own genres (the anchor C_i, Eq. 8-9) and pushed away from the embeddings of the genres that
occur in the batch but not in movie i (the negatives, Eq. 10-11). Anchors and negatives go
through one shared Linear into the fused space (Eq. 12), then

    L_contra = −1/|V| Σ_{i∈V} log( e^{sim(F_i, W C_i)/τ} / (e^{sim(F_i, W C_i)/τ} + Σ_{k∈Neg_i} e^{sim(F_i, W N_k)/τ}) )

(Eq. 13), V the movies with at least one genre and at least one negative. The genre embeddings
are passed in by the model (they are the model's trainable parameters), so this module owns
only the projection.

This module is also the reference for the contrastive-loss interface that the alternative
losses of Table 5 implement: ``Cls(*, fused_dim, anchor_dim, num_genres, temperature, **kw)``
and ``forward(fused (B, fused_dim), labels (B, C) in {0, 1}, anchors (C, anchor_dim)) -> scalar``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def genre_centroids(labels: Tensor, anchors: Tensor) -> tuple[Tensor, Tensor]:
    """Anchor C_i = mean of the embeddings of movie i's genres (Eq. 8-9).

    Returns the (B, anchor_dim) centroids and a (B,) bool mask of the movies that have at least
    one genre; a movie without any gets a zero vector (and must be excluded by the caller).
    """
    y = (labels > 0.5).to(anchors.dtype)
    counts = y.sum(dim=1, keepdim=True)
    return (y @ anchors) / counts.clamp_min(1.0), counts.squeeze(1) > 0


def negative_mask(labels: Tensor) -> Tensor:
    """Neg_i = genres present anywhere in the batch minus movie i's own genres (Eq. 10-11), (B, C) bool."""
    own = labels > 0.5
    in_batch = own.any(dim=0, keepdim=True)
    return in_batch & ~own


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` over ``mask``; 0 (still attached to the graph) when the mask is empty.

    Uses ``where`` so that non-finite values at excluded positions never leak into the result.
    """
    kept = torch.where(mask, values, torch.zeros_like(values))
    return kept.sum() / mask.sum().clamp_min(1).to(values.dtype)


class GCACL(nn.Module):
    """Genre-centroid anchored contrastive loss (Eq. 8-13) with its shared projection (Eq. 12).

    ``normalize=True`` (default) L2-normalises F^fu and the projected anchors/negatives, so
    sim() is the cosine similarity. The paper does not say which similarity Eq. 13 uses; with
    τ = 0.1 a raw dot product of 512-d vectors saturates the softmax, so cosine (as in SupCon
    and CLIP) is the choice here. ``normalize=False`` gives the plain dot product.
    """

    def __init__(
        self,
        *,
        fused_dim: int,
        anchor_dim: int,
        num_genres: int,
        temperature: float = 0.1,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"The 'temperature' parameter of GCACL must be > 0. Got {temperature!r} instead.")
        self.num_genres = num_genres
        self.temperature = float(temperature)
        self.normalize = bool(normalize)
        #: W of Eq. 12, shared by anchors and negatives.
        self.projection = nn.Linear(anchor_dim, fused_dim)

    def forward(self, fused: Tensor, labels: Tensor, anchors: Tensor) -> Tensor:
        """L_contra for one batch (Eq. 13), a scalar that is 0 when no movie qualifies."""
        centroids, has_genre = genre_centroids(labels, anchors)
        negatives = negative_mask(labels)
        positive = self.projection(centroids)  # W·C_i, Eq. 12 (W is affine, so W·mean = mean of W·)
        genre_keys = self.projection(anchors)  # W·N_k for every genre k
        query = fused
        if self.normalize:
            query = F.normalize(query, dim=-1)
            positive = F.normalize(positive, dim=-1)
            genre_keys = F.normalize(genre_keys, dim=-1)
        pos_logit = (query * positive).sum(dim=-1) / self.temperature  # (B,)
        neg_logits = (query @ genre_keys.T) / self.temperature  # (B, C)
        neg_logits = neg_logits.masked_fill(~negatives, float("-inf"))
        # −log softmax of the positive among {positive} ∪ negatives; the positive keeps it finite.
        denominator = torch.logsumexp(torch.cat([pos_logit.unsqueeze(1), neg_logits], dim=1), dim=1)
        per_movie = denominator - pos_logit
        valid = has_genre & negatives.any(dim=1)
        return masked_mean(per_movie, valid)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, normalize={self.normalize}"
