"""The peer: sentence-transformers' Matryoshka2dLoss (the 2DMSE preprint), on the same batches.

Each step trains the last layer and one random earlier hidden state, each at one random width of
the size list, plus a KL term from that layer to the last (sentence-transformers' defaults,
which follow the preprint). The base loss is CoSENTLoss for scored pairs and
MultipleNegativesRankingLoss (in-batch negatives with the hard negative) for triplets.
"""

from __future__ import annotations

from typing import Any

import torch
from sentence_transformers.sentence_transformer.losses import (
    CoSENTLoss,
    Matryoshka2dLoss,
    MultipleNegativesRankingLoss,
)
from torch import Tensor

from ese.training import recipe
from ese.training.loop.batches import Batch
from ese.training.loop.encoder import LayerwiseEncoder
from ese.training.readers import Triplet


class Matryoshka2dObjective:
    name = "matryoshka2d"

    def __init__(self, encoder: LayerwiseEncoder, widths: tuple[int, ...] = recipe.WIDTHS) -> None:
        self.encoder = encoder
        model = encoder.model
        self.dims = sorted({*widths, encoder.hidden_size}, reverse=True)
        self.pairs = Matryoshka2dLoss(model, CoSENTLoss(model), self.dims)
        self.triplets = Matryoshka2dLoss(model, MultipleNegativesRankingLoss(model), self.dims)

    def loss(self, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        rows = batch.examples
        if isinstance(rows[0], Triplet):
            columns = [
                [getattr(r, name) for r in rows] for name in ("anchor", "positive", "negative")
            ]
            labels = torch.zeros(len(rows))
            loss_fn = self.triplets
        else:
            columns = [[r.text1 for r in rows], [r.text2 for r in rows]]  # type: ignore[union-attr]
            labels = torch.tensor([r.score for r in rows], dtype=torch.float32)  # type: ignore[union-attr]
            loss_fn = self.pairs
        features = [self.encoder.tokenize(column) for column in columns]
        loss = loss_fn(features, labels.to(self.encoder.device))
        return loss, {"matryoshka2d": loss.item()}

    def describe(self) -> dict[str, Any]:
        return {
            "method": "matryoshka2d",
            "loss": "sentence_transformers Matryoshka2dLoss (defaults)",
            "base_loss": {"scored": "CoSENTLoss", "triplets": "MultipleNegativesRankingLoss"},
            "matryoshka_dims": self.dims,
            **{k: v for k, v in self.pairs.get_config_dict().items() if k != "loss"},
        }

    def state_dict(self) -> dict[str, Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        return None
