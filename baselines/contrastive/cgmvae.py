"""C-GMVAE: Gaussian-mixture VAE with a label contrastive loss (Bai et al. 2022), adapted to IDKG."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.contrastive.base import check_inputs, check_temperature, zero_loss

#: log-variances are clamped to this range so exp() can neither vanish nor overflow.
LOGVAR_RANGE = (-10.0, 10.0)


def log_normal(x: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log N(x; mean, diag(exp(logvar))) summed over the last dim, without the -D/2 log 2pi constant."""
    return -0.5 * (logvar + (x - mean).pow(2) / logvar.exp()).sum(-1)


class CGMVAE(nn.Module):
    r"""The two training terms of C-GMVAE: a mixture KL and a feature-to-label contrastive loss.

    Paper: Junwen Bai, Shufeng Kong, Carla P. Gomes (2022), "Gaussian Mixture Variational
    Autoencoder with Contrastive Learning for Multi-Label Classification" (ICML 2022).

    Each label j has an embedding e_j and, through a label encoder, a Gaussian
    N(mu_j, diag sigma_j^2) in a latent space; a feature encoder maps sample i to
    q(z | x_i) = N(mu_i, diag sigma_i^2). The prior of sample i is the uniform mixture of its
    positive labels' Gaussians, and the KL is estimated with one sample z_i ~ q::

        KL_i = log q(z_i | x_i) - log( 1/|Y_i| * sum_{j in Y_i} N(z_i; mu_j, sigma_j^2) )

    A decoder maps (x_i, z) to a unit vector; u_i = dec(x_i, z_i) is the feature embedding and
    v_i = dec(x_i, mean_{j in Y_i} mu_j) the label-side embedding. The contrastive loss
    takes u_i and v_i as anchors and the label embeddings as the keys, positives = Y_i::

        L_con(a_i) = -1/|Y_i| * sum_{j in Y_i} log( exp(a_i . e_j / tau) / sum_{c=1..C} exp(a_i . e_c / tau) )

    Returned: ``kl_weight * mean_i KL_i + contrastive_weight * mean_i (L_con(u_i) + L_con(v_i)) / 2``
    over the rows with at least one label (defaults 1.0 and 1.0: the plain sum of the terms;
    the authors' script weights the KL by 6 relative to its likelihood term). C-GMVAE's own
    likelihood term is IDKG's BCE classifier here, so it is not repeated.

    Adaptation to this interface. x_i = F^fu_i. The label embedding e_j is the projected anchor
    W anchor_j + b (Linear anchor_dim -> ``emb_dim``, default 128), L2-normalised so that ``temperature``
    has its usual meaning on cosine similarities (the authors use raw dot products with tau = 1).
    The encoders and the decoder are single Linear maps (the paper's are MLPs over raw
    features; F^fu is already a learned representation). In ``train()`` mode z_i is drawn by the
    reparameterisation trick (the one sample serves both the KL and u_i; pass ``generator`` for
    reproducible draws); in ``eval()`` mode z_i = mu_i, which makes the loss deterministic.
    """

    def __init__(
        self,
        *,
        fused_dim: int,
        anchor_dim: int,
        num_genres: int,
        temperature: float = 0.1,
        latent_dim: int = 64,
        emb_dim: int = 128,
        kl_weight: float = 1.0,
        contrastive_weight: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.fused_dim, self.anchor_dim, self.num_genres = fused_dim, anchor_dim, num_genres
        self.temperature = check_temperature("CGMVAE", temperature)
        self.kl_weight, self.contrastive_weight = float(kl_weight), float(contrastive_weight)
        self.generator = generator
        emb = emb_dim
        self.label_proj = nn.Linear(anchor_dim, emb)
        self.label_mu = nn.Linear(emb, latent_dim)
        self.label_logvar = nn.Linear(emb, latent_dim)
        self.feat_mu = nn.Linear(fused_dim, latent_dim)
        self.feat_logvar = nn.Linear(fused_dim, latent_dim)
        self.decoder = nn.Linear(fused_dim + latent_dim, emb)

    def _sample(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """z = mu + sigma * eps in training, z = mu in evaluation."""
        if not self.training:
            return mu
        if self.generator is None:
            eps = torch.randn_like(mu)
        else:
            eps = torch.randn(mu.shape, generator=self.generator, device=self.generator.device).to(mu)
        return mu + (0.5 * logvar).exp() * eps

    def decode(self, fused: Tensor, z: Tensor) -> Tensor:
        """Unit-norm embedding of (x, z)."""
        return F.normalize(self.decoder(torch.cat([fused, z], dim=-1)), dim=-1)

    def terms(self, fused: Tensor, labels: Tensor, anchors: Tensor) -> dict[str, Tensor] | None:
        """The KL and contrastive terms (means over labelled rows), or None if no row has a label."""
        check_inputs("CGMVAE", fused, labels, anchors, self.fused_dim, self.anchor_dim, self.num_genres)
        keep = (labels > 0.5).any(dim=1)
        if not bool(keep.any()):
            return None
        x = fused[keep]
        y = (labels[keep] > 0.5).to(fused.dtype)
        n_pos = y.sum(dim=1)
        e = self.label_proj(anchors)  # (C, E)
        mu_l = self.label_mu(e)
        logvar_l = self.label_logvar(e).clamp(*LOGVAR_RANGE)
        mu_x = self.feat_mu(x)
        logvar_x = self.feat_logvar(x).clamp(*LOGVAR_RANGE)
        z = self._sample(mu_x, logvar_x)

        log_q = log_normal(z, mu_x, logvar_x)
        comp = log_normal(z.unsqueeze(1), mu_l.unsqueeze(0), logvar_l.unsqueeze(0))  # (n, C)
        comp = comp.masked_fill(y == 0, float("-inf"))
        log_prior = torch.logsumexp(comp, dim=1) - n_pos.log()
        kl = (log_q - log_prior).mean()

        u = self.decode(x, z)
        v = self.decode(x, (y @ mu_l) / n_pos.unsqueeze(1))
        keys = F.normalize(e, dim=-1)

        def con(a: Tensor) -> Tensor:
            log_prob = torch.log_softmax(a @ keys.T / self.temperature, dim=1)
            return (-(log_prob * y).sum(dim=1) / n_pos).mean()

        contrastive = 0.5 * (con(u) + con(v))
        return {"kl": kl, "contrastive": contrastive}

    def forward(self, fused: Tensor, labels: Tensor, anchors: Tensor) -> Tensor:
        """kl_weight * KL + contrastive_weight * contrastive; an exact zero when no row has a label."""
        t = self.terms(fused, labels, anchors)
        if t is None:
            return zero_loss(self, fused, anchors)
        return self.kl_weight * t["kl"] + self.contrastive_weight * t["contrastive"]
