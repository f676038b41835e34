"""Sentence pooling in PyTorch, as sentence-transformers defines each mode."""

from __future__ import annotations

import torch

from ese.runtime.contract import Pooling


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, mode: Pooling) -> torch.Tensor:
    """[batch, seq, hidden] token states -> [batch, hidden] sentence vectors."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    if mode is Pooling.CLS:
        return hidden[:, 0]
    if mode is Pooling.MAX:
        return torch.where(mask > 0, hidden, torch.full_like(hidden, -1e9)).max(dim=1).values
    if mode is Pooling.LAST_TOKEN:
        last = attention_mask.sum(dim=1) - 1
        index = last.clamp(min=0).view(-1, 1, 1).expand(-1, 1, hidden.shape[-1])
        return hidden.gather(1, index).squeeze(1)
    summed = (hidden * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    if mode is Pooling.MEAN_SQRT_LEN:
        return summed / counts.sqrt()
    return summed / counts
