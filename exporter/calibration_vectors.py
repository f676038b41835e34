"""Pooled sentence vectors at every requested depth, from one forward pass over the corpus."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn

from ese.runtime.contract import Pooling

from .pooling import pool
from .tokenizer_files import tokenize

Progress = Callable[[int, int], None]


@torch.inference_mode()
def pooled_by_depth(
    encoder: nn.Module,
    tokenizer: Tokenizer,
    texts: Sequence[str],
    depths: Sequence[int],
    *,
    pooling: Pooling,
    normalize: bool,
    uses_token_type_ids: bool,
    batch_size: int = 64,
    progress: Progress | None = None,
) -> dict[int, np.ndarray]:
    """{depth: [n, hidden]} in corpus order; hidden_states[d] is the output of layer d."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    chunks: dict[int, list[np.ndarray]] = {d: [] for d in depths}
    for start in range(0, len(order), batch_size):
        batch = [texts[i] for i in order[start : start + batch_size]]
        arrays = tokenize(tokenizer, batch)
        inputs = {k: torch.from_numpy(v) for k, v in arrays.items()}
        if not uses_token_type_ids:
            inputs.pop("token_type_ids")
        hidden_states = encoder(**inputs, output_hidden_states=True).hidden_states
        for depth in depths:
            vectors = pool(hidden_states[depth], inputs["attention_mask"], pooling)
            if normalize:
                vectors = nn.functional.normalize(vectors, p=2.0, dim=1)
            chunks[depth].append(vectors.double().numpy())
        if progress is not None:
            progress(min(start + batch_size, len(order)), len(order))
    inverse = np.argsort(np.array(order))
    return {d: np.concatenate(parts)[inverse] for d, parts in chunks.items()}
