"""Pooled sentence vectors at every depth from one forward pass of a sentence-transformers model.

``pooled_layers(...)[l]`` is what the model cut to ``l`` layers would embed (``l = 0``: the
embedding output, ``l = L``: the last layer), pooled with the model's own pooling module and not
normalised: the same vector an exported depth-``l`` graph pools before its projection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor

from ese.format.errors import UserError

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class LayerwiseEncoder:
    """Wraps a SentenceTransformer (Transformer, Pooling[, Normalize]) for per-depth vectors."""

    def __init__(self, model: SentenceTransformer) -> None:
        modules: list[Any] = list(model.children())
        if len(modules) < 2 or not hasattr(modules[0], "auto_model"):
            raise UserError(
                "ese-train needs a Transformer module followed by a Pooling module; this model "
                f"has {[type(m).__name__ for m in modules]}"
            )
        self.model = model
        self.transformer: Any = modules[0]
        self.pooling: Any = modules[1]
        config: Any = self.transformer.auto_model.config
        self.normalizes = any(type(m).__name__ == "Normalize" for m in modules[2:])
        self.num_layers = int(config.num_hidden_layers)
        self.hidden_size = int(config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def tokenize(self, texts: Sequence[str]) -> dict[str, Tensor]:
        features = self.model.preprocess(list(texts))
        return {
            name: value.to(self.device)
            for name, value in features.items()
            if name in MODEL_INPUTS and isinstance(value, Tensor)
        }

    def pooled_layers(self, features: dict[str, Tensor]) -> list[Tensor]:
        """[L + 1] tensors of [batch, hidden]: pooled hidden states after layer 0..L."""
        output = self.transformer.auto_model(
            **features, output_hidden_states=True, return_dict=True
        )
        mask = features["attention_mask"]
        return [
            self.pooling({"token_embeddings": hidden, "attention_mask": mask})["sentence_embedding"]
            for hidden in output.hidden_states
        ]

    def encode_layers(self, texts: Sequence[str], batch_size: int = 64) -> list[Tensor]:
        """Inference: [L + 1] tensors of [len(texts), hidden] on the CPU, in input order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        chunks: list[list[Tensor]] = []
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(order), batch_size):
                    batch = [texts[i] for i in order[start : start + batch_size]]
                    layers = self.pooled_layers(self.tokenize(batch))
                    chunks.append([layer.float().cpu() for layer in layers])
        finally:
            self.model.train(was_training)
        inverse = torch.empty(len(order), dtype=torch.long)
        inverse[torch.tensor(order, dtype=torch.long)] = torch.arange(len(order))
        return [torch.cat([c[i] for c in chunks])[inverse] for i in range(self.num_layers + 1)]
