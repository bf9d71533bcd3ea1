"""Alternative contrastive losses that replace G-CACL inside IDKG (paper Table 5).

Every loss here shares one contract, so IDKG can take any of them as ``contrastive=``::

    loss = Cls(fused_dim=..., anchor_dim=..., num_genres=..., temperature=0.1, **kw)
    value = loss(fused, labels, anchors)   # scalar tensor

- ``fused``   (B, fused_dim): IDKG's fused representation F^fu.
- ``labels``  (B, C) in {0, 1}: the genre labels, columns in :data:`mmimdb2.genres.GENRES` order.
- ``anchors`` (C, anchor_dim): IDKG's trainable genre embeddings (initialised from the KG's
  genre entities). Each loss owns the projection that maps them to its label embeddings.

Rows (or label-level items) whose method-specific positive set is empty are left out of the
mean; when nothing is left the loss is an exact zero that still has a gradient path to every
input and parameter, so a trainer can call ``backward()`` on any batch.
"""

from baselines.contrastive.base import PairWeightedContrast, check_inputs, check_temperature, weighted_contrast, zero_loss
from baselines.contrastive.cgmvae import CGMVAE
from baselines.contrastive.mcl import MCL
from baselines.contrastive.mltc import MLTC
from baselines.contrastive.mulcon import MulCon

__all__ = ["CGMVAE", "MCL", "MLTC", "MulCon", "PairWeightedContrast", "check_inputs", "check_temperature", "weighted_contrast", "zero_loss"]
