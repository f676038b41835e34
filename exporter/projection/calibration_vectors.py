"""Pooled sentence vectors at every requested depth, from one forward pass over the corpus."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn

from ese.exporter.graph.pooling import pool
from ese.exporter.source.tokenizer_files import tokenize
from ese.format import Pooling
from ese.runtime.memory import trim_heap

Progress = Callable[[int, int], None]
# Bytes of one batch's hidden states (every layer's, alive at once): 2,048 padded tokens of
# all-MiniLM-L6-v2 (384 wide x 7 states x 4 bytes), 551 of a BERT-base, 215 of a BERT-large.
MAX_BATCH_STATES_BYTES = 21 << 20


def _unpadded(tokenizer: Tokenizer) -> Tokenizer:
    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.no_padding()
    return copy


def batch_token_bound(hidden_size: int, num_layers: int) -> int:
    """Padded tokens per batch whose hidden states (embeddings + every layer) fit the bound."""
    return max(1, MAX_BATCH_STATES_BYTES // (hidden_size * (num_layers + 1) * 4))


def _batches(
    order: Sequence[int], lengths: Sequence[int], batch_size: int, max_tokens: int
) -> Iterator[list[int]]:
    """``order`` (by increasing length) cut into batches within both limits."""
    batch: list[int] = []
    for i in order:
        if batch and (len(batch) == batch_size or (len(batch) + 1) * lengths[i] > max_tokens):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


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
    max_tokens: int,
    batch_size: int = 64,
    progress: Progress | None = None,
) -> dict[int, np.ndarray]:
    """{depth: [n, hidden]} in corpus order; hidden_states[d] is the output of layer d.

    A batch holds at most ``batch_size`` texts and ``max_tokens`` padded tokens (see
    :func:`batch_token_bound`): every layer's hidden states of a batch are alive at once, so
    its tokens and the model's size, not its texts, bound the memory.
    """
    lengths = [len(e.ids) for e in _unpadded(tokenizer).encode_batch(list(texts))]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    chunks: dict[int, list[np.ndarray]] = {d: [] for d in depths}
    done = 0
    for indices in _batches(order, lengths, batch_size, max_tokens):
        batch = [texts[i] for i in indices]
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
        del hidden_states
        trim_heap()  # else each thread's malloc arena keeps its batches' peak
        done += len(indices)
        if progress is not None:
            progress(done, len(order))
    inverse = np.argsort(np.array(order))
    return {d: np.concatenate(parts)[inverse] for d, parts in chunks.items()}
