"""The PyTorch module each graph is traced from: encoder cut at d, pooling, projection."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ese.exporter.graph.pooling import pool
from ese.format import Pooling


class SentenceEmbeddingModule(nn.Module):
    """(input_ids, attention_mask[, token_type_ids]) -> sentence_embedding [batch, dims].

    ``(pool(encoder(x)) [normalised when the model normalises] - mean) @ components``; without a
    projection the pooled (and normalised) vector is the output, in the model's own order.
    """

    mean: torch.Tensor
    components: torch.Tensor

    def __init__(
        self,
        encoder: nn.Module,
        pooling: Pooling,
        normalize: bool,
        projection: tuple[np.ndarray, np.ndarray] | None,
        uses_token_type_ids: bool,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.normalize = normalize
        self.uses_token_type_ids = uses_token_type_ids
        self.project = projection is not None
        if projection is not None:
            mean, components = projection
            self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
            self.register_buffer("components", torch.from_numpy(components.astype(np.float32)))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        kwargs: dict[str, torch.Tensor | None] = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
        }
        if self.uses_token_type_ids:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state
        pooled = pool(hidden, attention_mask, self.pooling)
        if self.normalize:
            pooled = nn.functional.normalize(pooled, p=2.0, dim=1)
        if self.project:
            return (pooled - self.mean) @ self.components
        return pooled
