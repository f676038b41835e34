"""Sentence pooling in PyTorch: every mode is over the real (unmasked) tokens only.

sentence-transformers' modes, and AnglE's: ``cls_avg`` is (CLS + mean) / 2 and ``cls_max`` is
(CLS + max) / 2. AnglE computes its max over ``hidden * mask``, so in a padded row a padding
position counts as 0; a text encoded alone (no padding) gets the max over its own tokens, which
is what every graph gives whatever the batch.
"""

from __future__ import annotations

import torch

from ese.format import Pooling
from ese.format.errors import InternalError


def _masked_max(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.where(mask > 0, hidden, torch.full_like(hidden, -1e9)).max(dim=1).values


def _masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, mode: Pooling) -> torch.Tensor:
    """[batch, seq, hidden] token states -> [batch, hidden] sentence vectors."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    if mode is Pooling.CLS:
        return hidden[:, 0]
    if mode is Pooling.MAX:
        return _masked_max(hidden, mask)
    if mode is Pooling.CLS_MAX:
        return (hidden[:, 0] + _masked_max(hidden, mask)) / 2.0
    if mode is Pooling.CLS_AVG:
        return (hidden[:, 0] + _masked_mean(hidden, mask)) / 2.0
    if mode is Pooling.LAST_TOKEN:
        last = attention_mask.sum(dim=1) - 1
        index = last.clamp(min=0).view(-1, 1, 1).expand(-1, 1, hidden.shape[-1])
        return hidden.gather(1, index).squeeze(1)
    if mode is Pooling.SUM:
        return (hidden * mask).sum(dim=1)
    if mode is Pooling.MEAN_SQRT_LEN:
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9).sqrt()
    if mode is Pooling.MEAN:
        return _masked_mean(hidden, mask)
    raise InternalError(f"pooling {mode!r} has no PyTorch implementation")
