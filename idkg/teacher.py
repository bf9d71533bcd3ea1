"""The Attention Teacher (paper Eq. 6-7): self-supervision for the KG attention gate.

A movie whose directors and cast are many and well connected in the knowledge graph should
lean on the KG modality; a movie with nobody in the KG should not. The teacher turns the two
KG statistics of each movie into a pseudo label in [0, 1) and pulls the mean of the KG gate
``A^K`` towards it. Only ``A^K`` is supervised; the text and image gates learn from the other
losses alone.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Reduction = Literal["mean", "sum"]


def teacher_target(
    kg_count: Tensor, kg_degree: Tensor, mean_count: float, mean_degree: float
) -> Tensor:
    """Pseudo label Ỹ_i = N_i·S_i / ((N_i + N̄)(S_i + S̄)) (Eq. 6).

    ``kg_count`` is N_i (people of movie i found in the KG), ``kg_degree`` is S_i (the sum of
    their KG degrees), ``mean_count``/``mean_degree`` the training-set means N̄, S̄. The target is
    0 for a movie with nobody in the KG and tends to 1 as N_i and S_i grow past the means.
    A zero denominator (only possible when N_i = N̄ = 0 or S_i = S̄ = 0) gives a target of 0.
    The result carries no gradient: it is a label.
    """
    n = kg_count.detach().to(torch.float32).reshape(-1)
    s = kg_degree.detach().to(torch.float32).reshape(-1)
    denominator = (n + float(mean_count)) * (s + float(mean_degree))
    safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    return torch.where(denominator > 0, n * s / safe, torch.zeros_like(n))


def attention_teacher_loss(
    gate_kg: Tensor, target: Tensor, *, reduction: Reduction = "mean", eps: float = 1e-6
) -> Tensor:
    """L_atten = −Σ_i log(1 − |mean(A^K_i) − Ỹ_i| + eps) (Eq. 7).

    ``gate_kg`` is A^K, shape (B,) for a scalar gate or (B, D) for a vector gate (its mean over
    D is taken, as Eq. 7 writes ``mean(A^K_i)``). The paper sums over the batch; ``"mean"``
    (the project default) divides that sum by B so the weight of this term does not depend on
    the batch size. ``eps`` keeps the log finite when a gate saturates exactly at the far end
    (|A − Ỹ| = 1 in float32) while keeping the gradient, unlike a clamp.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"The 'reduction' parameter must be 'mean' or 'sum'. Got {reduction!r} instead.")
    a = gate_kg.reshape(gate_kg.shape[0], -1).mean(dim=1)
    per_movie = -torch.log(1.0 - (a - target.to(a.dtype)).abs() + eps)
    return per_movie.sum() if reduction == "sum" else per_movie.mean()
