"""The IDKG fusion model (paper Section 3) and the blocks the baselines share with it.

IDKG aligns the frozen plot (F^T), poster (F^I) and KG (F^K) features into one space with
h(x) = Linear(BatchNorm1d(x)) (Eq. 5), weighs each with a sigmoid gate from one linear layer
shared by the three modalities (A^T, A^I, A^K), sums them into F^fu and classifies F^fu. Training
adds the Attention Teacher on A^K (Eq. 6-7, :mod:`idkg.teacher`) and G-CACL on F^fu (Eq. 8-13,
:mod:`idkg.gcacl`): L = L_class + L_atten + L_contra (Eq. 14-15), with L_class the binary
cross-entropy summed over the genres of a movie as Eq. 14 writes it (``loss_balance="paper"``;
``"mean"`` also averages over genres, which makes the auxiliary terms 23x heavier), each term
averaged over the batch's movies. Training settings: ``docs/training.md``.

Choices where the paper is silent, each a config option:

- ``attention_width="vector"``: the shared gate is Linear(D_p, D_p) + sigmoid, one weight per
  feature, because Eq. 7 supervises ``mean(A^K_i)``, a mean over a vector; ``"scalar"`` gives
  Linear(D_p, 1), one weight per modality.
- ``classifier_hidden=512``: the classifier on F^fu is a one-hidden-layer ReLU MLP; 0 gives a
  linear layer.
- ``teacher_reduction="mean"``: Eq. 7 sums over the batch; the mean keeps the term's weight
  independent of the batch size ("sum" restores the paper's form).
- ``normalize=True``: cosine similarity in Eq. 13 (see :class:`idkg.gcacl.GCACL`).
- ``use_kg=False`` removes the KG entirely: no F^K branch, no teacher (its N_i, S_i come from the
  KG) and, with ``anchor_init="auto"``, randomly initialised genre anchors instead of the KG's
  genre entities. Set ``anchor_init="kg"`` to keep KG anchors without the KG modality.

The fusion step is a swappable module (``fusion=``) so IDKG(GMU) reuses everything but the gate,
and the contrastive term is injected (``contrastive=``) so the losses of Table 5 replace G-CACL.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from idkg.gcacl import GCACL
from idkg.inputs import InputSpec
from idkg.teacher import attention_teacher_loss, teacher_target

#: Batch key of each modality -> the InputSpec field holding its width.
MODALITY_DIMS: dict[str, str] = {"text": "text_dim", "image": "image_dim", "kg": "kg_dim"}

C = TypeVar("C")


# ---------------------------------------------------------------- shared helpers and blocks


def make_config(cls: type[C], overrides: Mapping[str, Any]) -> C:
    """Build config dataclass ``cls`` from keyword overrides, naming unknown options clearly."""
    known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for {cls.__name__}; options are: {', '.join(known)}")
    return cls(**overrides)


def check_param(owner: str, name: str, ok: bool, must: str, got: Any) -> None:
    """Raise the project's one-line error for a bad hyper-parameter."""
    if not ok:
        raise ValueError(f"The '{name}' parameter of {owner} must be {must}. Got {got!r} instead.")


def check_modalities(owner: str, modalities: tuple[str, ...]) -> None:
    """Modalities must be known batch keys, distinct, and at least one."""
    check_param(
        owner,
        "modalities",
        len(modalities) > 0 and len(set(modalities)) == len(modalities) and set(modalities) <= set(MODALITY_DIMS),
        f"a non-empty tuple of distinct names among {tuple(MODALITY_DIMS)}",
        modalities,
    )


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run parameter initialisation under ``seed`` without touching the caller's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def modality_dim(spec: InputSpec, modality: str) -> int:
    """Width of one modality's features, from the InputSpec."""
    return int(getattr(spec, MODALITY_DIMS[modality]))


class Aligner(nn.Module):
    """h(x) = Linear(BatchNorm1d(x)) (Eq. 5): brings one frozen modality into a shared space.

    Also serves as the linear probe of the late/early fusion baselines (BN + linear). The
    BatchNorm has no affine part: the Linear after it absorbs any scale and shift exactly
    (W(γ⊙z + β) + b = (W diag γ) z + (Wβ + b)), so the function class is the same, and the
    backward pass skips the gradient with respect to the (frozen) input, ~15 % of a step.
    """

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(in_dim, affine=False)
        self.proj = nn.Linear(in_dim, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.norm(x))


def make_head(in_dim: int, num_classes: int, hidden: int = 0, dropout: float = 0.0) -> nn.Module:
    """Genre classifier: linear when ``hidden`` is 0, else Linear-ReLU-Dropout-Linear."""
    if hidden <= 0:
        return nn.Linear(in_dim, num_classes)
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes))


def bce(logits: Tensor, labels: Tensor, pos_weight: Tensor | None = None) -> Tensor:
    """Mean binary cross-entropy over movies and genres (the probes' and baselines' loss);
    ``pos_weight`` (num_genres,) multiplies each genre's positive term (the trainer's ``class_weight``)."""
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), pos_weight=_on(pos_weight, logits))


def _on(pos_weight: Tensor | None, logits: Tensor) -> Tensor | None:
    return None if pos_weight is None else pos_weight.to(device=logits.device, dtype=logits.dtype)


#: How L_class is reduced against the auxiliary terms (see :class:`IDKGConfig`).
LOSS_BALANCES: tuple[str, ...] = ("paper", "mean")


def class_loss(logits: Tensor, labels: Tensor, balance: str = "paper", pos_weight: Tensor | None = None) -> Tensor:
    """L_class (Eq. 14). ``"paper"``: the BCE summed over the genres of a movie, as Eq. 14 writes
    it (averaged over the batch's movies, like L_atten and L_contra); ``"mean"``: also averaged
    over genres, i.e. 1/num_genres of the paper's L_class, so the auxiliary terms weigh 23x more.
    ``pos_weight`` as in :func:`bce`."""
    per = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), reduction="none", pos_weight=_on(pos_weight, logits))
    return per.sum(dim=1).mean() if balance == "paper" else per.mean()


class AttentionFusion(nn.Module):
    """IDKG's gate: A^m = σ(W h(F^m) + b) with one (W, b) shared by all modalities; F^fu = Σ_m h(F^m)·A^m."""

    def __init__(self, dim: int, width: str = "vector") -> None:
        super().__init__()
        check_param("AttentionFusion", "width", width in ("vector", "scalar"), "'vector' or 'scalar'", width)
        self.gate = nn.Linear(dim, dim if width == "vector" else 1)

    def forward(self, feats: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        names = list(feats)
        h = torch.stack([feats[m] for m in names])  # (M, B, D): one matmul for all gates
        a = torch.sigmoid(self.gate(h))  # (M, B, D) or (M, B, 1)
        fused = (h * a).sum(dim=0)
        return fused, {m: a[i] for i, m in enumerate(names)}


# ---------------------------------------------------------------- IDKG


@dataclass(frozen=True)
class IDKGConfig:
    """Hyper-parameters of IDKG; defaults follow the paper where it gives them (D_p = 512, τ = 0.1)."""

    proj_dim: int = 512
    attention_width: str = "vector"
    classifier_hidden: int = 512
    dropout: float = 0.1
    use_kg: bool = True
    use_teacher: bool = True
    #: share of training rows whose KG inputs (F^K, N_i, S_i) are zeroed in each step: every
    #: training movie is in the train-only KG, while a test movie whose people are all new has an
    #: empty F^K, which the model would otherwise never meet in training (beyond the paper).
    #: "auto": the share of dev movies with an empty F^K (InputSpec.empty_kg_share; 0.15 when the
    #: spec does not know it), capped at 0.5. On yts800, 0.1-0.2 all helped (docs/training.md).
    kg_dropout: float | str = "auto"
    #: include the contrastive term (G-CACL, or the injected loss of Table 5).
    use_gcacl: bool = True
    #: "auto" (KG genre entities when the KG is used and available, else random), "kg" or "random".
    anchor_init: str = "auto"
    #: width of random anchors; None = the KG embedding width.
    anchor_dim: int | None = None
    temperature: float = 0.1
    normalize: bool = True
    teacher_reduction: str = "mean"
    teacher_eps: float = 1e-6
    #: "paper": L = L_class + L_atten + L_contra with L_class summed over genres (Eq. 14-15);
    #: "mean": L_class averaged over genres too (the project's earlier balance).
    loss_balance: str = "paper"
    weight_bce: float = 1.0
    weight_atten: float = 1.0
    weight_contra: float = 1.0
    #: extra keyword arguments for an injected contrastive-loss class.
    contrastive_kwargs: Mapping[str, Any] = field(default_factory=dict)
    #: seed of the parameter initialisation (factories only).
    seed: int = 0

    def __post_init__(self) -> None:
        name = type(self).__name__
        check_param(name, "proj_dim", self.proj_dim > 0, "> 0", self.proj_dim)
        check_param(name, "attention_width", self.attention_width in ("vector", "scalar"), "'vector' or 'scalar'", self.attention_width)
        check_param(name, "classifier_hidden", self.classifier_hidden >= 0, ">= 0", self.classifier_hidden)
        check_param(name, "dropout", 0.0 <= self.dropout < 1.0, "in [0, 1)", self.dropout)
        check_param(
            name, "kg_dropout", self.kg_dropout == "auto" or (isinstance(self.kg_dropout, (int, float)) and 0.0 <= self.kg_dropout < 1.0),
            "'auto' or in [0, 1)", self.kg_dropout,
        )  # fmt: skip
        check_param(name, "anchor_init", self.anchor_init in ("auto", "kg", "random"), "'auto', 'kg' or 'random'", self.anchor_init)
        check_param(name, "anchor_dim", self.anchor_dim is None or self.anchor_dim > 0, "None or > 0", self.anchor_dim)
        check_param(name, "temperature", self.temperature > 0, "> 0", self.temperature)
        check_param(name, "teacher_reduction", self.teacher_reduction in ("mean", "sum"), "'mean' or 'sum'", self.teacher_reduction)
        check_param(name, "teacher_eps", self.teacher_eps > 0, "> 0", self.teacher_eps)
        check_param(name, "loss_balance", self.loss_balance in LOSS_BALANCES, "'paper' or 'mean'", self.loss_balance)
        for w in ("weight_bce", "weight_atten", "weight_contra"):
            check_param(name, w, getattr(self, w) >= 0, ">= 0", getattr(self, w))


def _initial_anchors(spec: InputSpec, config: IDKGConfig) -> Tensor:
    """Genre embeddings to start the anchors from: a copy of the KG genre entities, or N(0, 1)."""
    mode = config.anchor_init
    if mode == "auto":
        mode = "kg" if config.use_kg and spec.genre_embeddings is not None else "random"
    if mode == "kg":
        emb = spec.genre_embeddings
        if emb is None:
            raise ValueError("anchor_init='kg' needs InputSpec.genre_embeddings (the KG's genre entities); got None")
        if emb.ndim != 2 or emb.shape[0] != spec.num_genres:
            raise ValueError(
                f"InputSpec.genre_embeddings must have shape ({spec.num_genres}, dim); got {tuple(emb.shape)}"
            )
        return emb.detach().to(torch.float32).clone()  # a copy: the KG's tensor itself stays frozen
    dim = config.anchor_dim or spec.kg_dim
    return torch.randn(spec.num_genres, dim)


class IDKG(nn.Module):
    """IDKG: aligned modalities, a gated fusion, a classifier, and the two training-only losses.

    ``forward(batch)`` returns genre logits from the batch features alone; ``loss(batch, labels)``
    returns ``{"total", "bce", "atten"?, "contra"?}``. ``fusion`` replaces the attention gate (it
    maps ``{modality: aligned (B, D_p)}`` to ``(F^fu, {modality: gate})``); ``contrastive`` replaces
    G-CACL: an instance, or a class built as ``Cls(fused_dim=, anchor_dim=, num_genres=,
    temperature=, **config.contrastive_kwargs)``.
    """

    def __init__(
        self,
        spec: InputSpec,
        config: IDKGConfig | None = None,
        *,
        fusion: nn.Module | None = None,
        contrastive: nn.Module | type[nn.Module] | None = None,
    ) -> None:
        super().__init__()
        config = config or IDKGConfig()
        owner = type(self).__name__
        self.config = config
        self.num_genres = spec.num_genres
        self.modalities: tuple[str, ...] = ("text", "image", "kg") if config.use_kg else ("text", "image")
        d = config.proj_dim
        self.aligners = nn.ModuleDict({m: Aligner(modality_dim(spec, m), d) for m in self.modalities})
        self.fusion = fusion if fusion is not None else AttentionFusion(d, config.attention_width)
        self.classifier = make_head(d, spec.num_genres, config.classifier_hidden, config.dropout)

        self.use_teacher = config.use_teacher and config.use_kg
        if self.use_teacher:
            check_param(owner, "InputSpec.mean_kg_count", spec.mean_kg_count > 0, "> 0 (N̄ of Eq. 6)", spec.mean_kg_count)
            check_param(owner, "InputSpec.mean_kg_degree", spec.mean_kg_degree > 0, "> 0 (S̄ of Eq. 6)", spec.mean_kg_degree)
        self.kg_dropout = resolve_kg_dropout(config.kg_dropout, spec)
        self.mean_kg_count = float(spec.mean_kg_count)
        self.mean_kg_degree = float(spec.mean_kg_degree)

        self.genre_anchors: nn.Parameter | None = None
        self.contrastive: nn.Module | None = None
        if config.use_gcacl:
            self.genre_anchors = nn.Parameter(_initial_anchors(spec, config))
            anchor_dim = self.genre_anchors.shape[1]
            if contrastive is None:
                contrastive = GCACL(
                    fused_dim=d,
                    anchor_dim=anchor_dim,
                    num_genres=spec.num_genres,
                    temperature=config.temperature,
                    normalize=config.normalize,
                )
            elif isinstance(contrastive, type):
                contrastive = contrastive(
                    fused_dim=d,
                    anchor_dim=anchor_dim,
                    num_genres=spec.num_genres,
                    temperature=config.temperature,
                    **dict(config.contrastive_kwargs),
                )
            self.contrastive = contrastive
        elif contrastive is not None:
            raise ValueError(f"{owner}: a contrastive loss was given but use_gcacl=False; drop one of the two")

    def encode(self, batch: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """F^fu and the per-modality gates; label-free."""
        feats = {m: self.aligners[m](batch[m].to(torch.float32)) for m in self.modalities}
        return self.fusion(feats)

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        """Genre logits (B, num_genres) from the features alone."""
        fused, _ = self.encode(batch)
        return self.classifier(fused)

    def loss(self, batch: Mapping[str, Tensor], labels: Tensor, pos_weight: Tensor | None = None) -> dict[str, Tensor]:
        """L = w·L_class + w·L_atten + w·L_contra (Eq. 15) and its components; ``pos_weight``
        weighs L_class's positive terms per genre (:func:`bce`)."""
        cfg = self.config
        if self.training and self.kg_dropout > 0 and "kg" in self.modalities:
            batch = drop_kg_rows(batch, self.kg_dropout)
        fused, gates = self.encode(batch)
        logits = self.classifier(fused)
        labels = labels.to(logits.dtype)
        out = {"bce": class_loss(logits, labels, cfg.loss_balance, pos_weight)}
        total = cfg.weight_bce * out["bce"]
        if self.use_teacher:
            target = teacher_target(batch["kg_count"], batch["kg_degree"], self.mean_kg_count, self.mean_kg_degree)
            out["atten"] = attention_teacher_loss(
                gates["kg"], target.to(logits.device), reduction=cfg.teacher_reduction, eps=cfg.teacher_eps
            )
            total = total + cfg.weight_atten * out["atten"]
        if self.contrastive is not None:
            out["contra"] = self.contrastive(fused, labels, self.genre_anchors)
            total = total + cfg.weight_contra * out["contra"]
        out["total"] = total
        return out


#: KG dropout of "auto" when the spec does not know the dev share of empty F^K, and its cap.
FALLBACK_KG_DROPOUT, MAX_AUTO_KG_DROPOUT = 0.15, 0.5


def resolve_kg_dropout(value: float | str, spec: InputSpec) -> float:
    """The share of training rows to drop: ``value``, or for "auto" the dev share of empty F^K."""
    if value != "auto":
        return float(value)
    share = spec.empty_kg_share
    return FALLBACK_KG_DROPOUT if share is None else min(float(share), MAX_AUTO_KG_DROPOUT)


def drop_kg_rows(batch: Mapping[str, Tensor], share: float) -> dict[str, Tensor]:
    """``batch`` with the KG inputs of a random ``share`` of its rows zeroed, as for a movie
    whose people the KG does not know (F^K = 0, N_i = S_i = 0)."""
    keep = (torch.rand(batch["kg"].shape[0], device=batch["kg"].device) >= share).to(batch["kg"].dtype)
    out = dict(batch)
    out["kg"] = batch["kg"] * keep[:, None]
    for key in ("kg_count", "kg_degree"):
        if key in batch:
            out[key] = batch[key] * keep.to(batch[key].dtype)
    return out


def build_idkg(
    spec: InputSpec, *, contrastive: nn.Module | type[nn.Module] | None = None, **config: Any
) -> IDKG:
    """Registry factory: IDKG from an InputSpec and keyword overrides of :class:`IDKGConfig`."""
    cfg = make_config(IDKGConfig, config)
    with seeded(cfg.seed):
        return IDKG(spec, cfg, contrastive=contrastive)
