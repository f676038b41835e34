"""Fixed (batch, sequence) buckets for CUDA graph capture, and padding a batch up to one.

ONNX Runtime's CUDA graphs replay a captured launch sequence, so every input and output must
keep its shape and device address: one captured graph per bucket shape. A batch that fits a
bucket is padded up to it: extra sequence positions are pad tokens with attention mask 0 (the
graph's pooling excludes them, so the real rows' vectors do not change), and extra rows repeat
the batch's first row (a row that is all padding would pool over nothing) and are dropped
from the output. Buckets are worth it only for small shapes, where launching kernels costs
more than running them; larger batches run as they come.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Small shapes only: at 8 x 128 the kernels already run longer than they take to launch.
DEFAULT_BATCHES = (1, 2, 4, 8)
DEFAULT_SEQS = (16, 32, 64, 128)


@dataclass(frozen=True)
class Buckets:
    """The bucket shapes: every (batch, seq) of ``batch_sizes`` x ``seq_lens``."""

    batch_sizes: tuple[int, ...] = DEFAULT_BATCHES
    seq_lens: tuple[int, ...] = DEFAULT_SEQS

    def __post_init__(self) -> None:
        for name in ("batch_sizes", "seq_lens"):
            values = getattr(self, name)
            if not values or any(
                isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values
            ):
                raise ValueError(f"{name}={values!r} must be whole numbers >= 1")
            object.__setattr__(self, name, tuple(sorted(set(values))))

    def bucket_for(self, batch_size: int, seq_len: int) -> tuple[int, int] | None:
        """The smallest bucket holding ``batch_size`` x ``seq_len``, or None if none does."""
        batch = next((b for b in self.batch_sizes if b >= batch_size), None)
        seq = next((s for s in self.seq_lens if s >= seq_len), None)
        if batch is None or seq is None:
            return None
        return batch, seq

    def shapes(self) -> list[tuple[int, int]]:
        return [(b, s) for b in self.batch_sizes for s in self.seq_lens]


def pad_to_bucket(
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray], bucket: tuple[int, int], pad_id: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask, token_type_ids)`` padded to ``bucket`` (batch, seq).

    Sequence padding is ``pad_id`` with mask 0 and type 0; extra rows copy row 0.
    """
    ids, mask, types = arrays
    rows, length = ids.shape
    batch, seq = bucket
    if rows > batch or length > seq or rows < 1:
        raise ValueError(f"a {rows} x {length} batch does not fit the bucket {batch} x {seq}")
    padded = []
    for array, fill in ((ids, pad_id), (mask, 0), (types, 0)):
        out = np.full((batch, seq), fill, dtype=np.int64)
        out[:rows, :length] = array
        out[rows:, :length] = array[0]
        padded.append(out)
    return padded[0], padded[1], padded[2]
