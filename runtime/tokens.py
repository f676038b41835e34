"""Texts to padded int64 arrays: the export's tokenizer with the runtime's own settings.

The runtime ignores the padding and truncation stored in tokenizer.json: it truncates at
the model's maximum sequence length and pads each batch to its own longest input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

from .errors import IntegrityError

# A text longer than this many characters per allowed token is cut before tokenising: the
# tokens it would keep lie far inside the cut, and tokenising a megabyte only to drop it
# costs seconds.
CHARS_PER_TOKEN_LIMIT = 64
MIN_CHAR_LIMIT = 8192


@dataclass(frozen=True)
class Batch:
    """One padded batch: int64 arrays [batch, longest]."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.input_ids.shape[0]), int(self.input_ids.shape[1]))


class TextTokenizer:
    """The export's tokenizer, truncating at ``max_length``; thread-safe once built."""

    def __init__(self, path: Path, max_length: int) -> None:
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception
            raise IntegrityError(
                f"cannot read the tokenizer {path} ({exc}); re-export the model"
            ) from exc
        padding = tokenizer.padding or {}
        self.pad_id = int(padding.get("pad_id", tokenizer.token_to_id("[PAD]") or 0))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.char_limit = max(MIN_CHAR_LIMIT, CHARS_PER_TOKEN_LIMIT * max_length)

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.get_vocab_size())

    def encode(self, texts: Sequence[str]) -> tuple[list[Encoding], int]:
        """Tokenise ``texts``; also return how many were truncated."""
        clipped = [t if len(t) <= self.char_limit else t[: self.char_limit] for t in texts]
        encodings = self.tokenizer.encode_batch(clipped)
        cut = sum(
            1
            for text, enc in zip(texts, encodings, strict=True)
            if enc.overflowing or len(text) > self.char_limit
        )
        return encodings, cut

    def pad(self, encodings: Sequence[Encoding]) -> Batch:
        """Pad to the longest encoding in ``encodings``."""
        longest = max((len(e.ids) for e in encodings), default=0)
        shape = (len(encodings), longest)
        ids = np.full(shape, self.pad_id, dtype=np.int64)
        mask = np.zeros(shape, dtype=np.int64)
        types = np.zeros(shape, dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
            types[row, :n] = enc.type_ids
        return Batch(input_ids=ids, attention_mask=mask, token_type_ids=types)
