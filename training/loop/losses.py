"""Task and distillation losses on sentence vectors (pure functions of tensors).

Embeddings of one batch are stacked by column: scored pairs as ``[text1; text2]`` (2B rows),
triplets as ``[anchor; positive; negative]`` (3B rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

_MASKED = -1e12


@dataclass(frozen=True)
class TaskLossConfig:
    """Scales and weights, angle_emb's defaults: cosine tau 20, angle tau 20 with weight 0.02."""

    cosine_tau: float = 20.0
    angle_tau: float = 20.0
    angle_weight: float = 0.02
    ibn_tau: float = 20.0


def _rank_loss(similarity: Tensor, scores: Tensor) -> Tensor:
    """log(1 + sum over pairs (i, j) with score_i < score_j of exp(sim_i - sim_j))."""
    diff = similarity[:, None] - similarity[None, :]
    lower = scores[:, None] < scores[None, :]
    diff = torch.where(lower, diff, torch.full_like(diff, _MASKED))
    zero = diff.new_zeros(1)
    return torch.logsumexp(torch.cat([zero, diff.flatten()]), dim=0)


def cosent_loss(first: Tensor, second: Tensor, scores: Tensor, tau: float = 20.0) -> Tensor:
    """CoSENT: pairs with a higher gold score must have a higher cosine similarity."""
    return _rank_loss(F.cosine_similarity(first, second, dim=-1) * tau, scores)


def angle_similarity(first: Tensor, second: Tensor) -> Tensor:
    """AnglE's angle score: each vector as complex numbers (first half real, second imaginary).

    The element-wise quotient first / second, rescaled to unit modulus ratio, summed; its
    absolute value grows as the two vectors' phases agree. Needs an even width.
    """
    a, b = first.chunk(2, dim=-1)
    c, d = second.chunk(2, dim=-1)
    norm_second = (c**2 + d**2).sum(dim=-1, keepdim=True)
    real = (a * c + b * d) / norm_second
    imag = (b * c - a * d) / norm_second
    ratio = (a**2 + b**2).sum(dim=-1, keepdim=True).sqrt() / norm_second.sqrt()
    return ((real + imag) / ratio).sum(dim=-1).abs()


def angle_loss(first: Tensor, second: Tensor, scores: Tensor, tau: float = 20.0) -> Tensor:
    """AnglE's angle term: the CoSENT ranking over the angle score."""
    return _rank_loss(angle_similarity(first, second) * tau, scores)


def infonce_loss(anchor: Tensor, positive: Tensor, negative: Tensor | None, tau: float) -> Tensor:
    """In-batch negatives: each anchor against every positive and hard negative of the batch."""
    candidates = positive if negative is None else torch.cat([positive, negative])
    logits = F.normalize(anchor, dim=-1) @ F.normalize(candidates, dim=-1).T * tau
    target = torch.arange(anchor.shape[0], device=anchor.device)
    return F.cross_entropy(logits, target)


def task_loss(
    embeddings: Tensor, scores: Tensor | None, config: TaskLossConfig = TaskLossConfig()
) -> Tensor:
    """The task loss of one batch: CoSENT + angle for scored pairs, InfoNCE for triplets."""
    if scores is not None:
        first, second = embeddings.chunk(2)
        loss = cosent_loss(first, second, scores, config.cosine_tau)
        if config.angle_weight:
            loss = loss + config.angle_weight * angle_loss(first, second, scores, config.angle_tau)
        return loss
    anchor, positive, negative = embeddings.chunk(3)
    return infonce_loss(anchor, positive, negative, config.ibn_tau)


def distill_loss(student: Tensor, target: Tensor, temperature: float) -> Tensor:
    """MSE + T * KL(softmax(target / T) || softmax(student / T)), over the feature axis."""
    target = target.detach()
    mse = F.mse_loss(student, target)
    kl = F.kl_div(
        F.log_softmax(student / temperature, dim=-1),
        F.log_softmax(target / temperature, dim=-1),
        reduction="batchmean",
        log_target=True,
    )
    return mse + temperature * kl


def teacher_loss(
    student: Tensor, teacher: Tensor, prefixes: tuple[int, ...] = ()
) -> tuple[Tensor, Tensor]:
    """(1 - cosine of each student row to its teacher row, MSE of the in-batch cosine matrices).

    Both terms are means; both are zero when the student's rows point where the teacher's do.
    With ``prefixes`` the structure term is the mean over the whole vector and each leading
    ``student[:, :w]`` (normalised on its own), all against the teacher's whole-vector cosines:
    a prefix cannot point where a wider teacher vector does, but it can rank a batch as it does.
    """
    teacher = F.normalize(teacher.detach(), dim=-1)
    target = teacher @ teacher.T
    whole = F.normalize(student, dim=-1)
    cosine = 1.0 - (whole * teacher).sum(dim=-1).mean()
    structure = F.mse_loss(whole @ whole.T, target)
    widths = [w for w in dict.fromkeys(prefixes) if w < student.shape[-1]]
    for width in widths:
        prefix = F.normalize(student[:, :width], dim=-1)
        structure = structure + F.mse_loss(prefix @ prefix.T, target)
    return cosine, structure / (1 + len(widths))
