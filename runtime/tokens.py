"""Texts to padded int64 arrays: the export's tokenizer with the runtime's own settings.

The runtime ignores the padding and truncation stored in tokenizer.json: it truncates at
the model's maximum sequence length and pads each batch to its own longest input.

A text gets exactly the tokens the tokenizer gives for the whole text, truncated. Only the
way there is bounded: a long text is tokenised as a prefix first (``char_limit``
characters, doubled until enough), and a prefix's tokens are used only when the kept tokens
all end in a word before the prefix's last word, the only word a cut can change (normalisers
and pre-tokenisers of BERT, WordPiece, ByteLevel and Metaspace tokenizers act word by
word). Otherwise the prefix grows, up to the whole text. So a text of 20,000 spaces and then
8 words is tokenised whole, and a megabyte of prose costs one 16 kB prefix. The encoding and
padding themselves are in :mod:`ese.runtime.token_arrays`, which the Triton front model runs too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from tokenizers import Encoding, Tokenizer

from ese.format.errors import IntegrityError
from ese.runtime import token_arrays
from ese.runtime.token_arrays import encode_whole, pad_encodings

# A text longer than this many characters per allowed token is tokenised as a prefix first:
# the tokens it keeps usually lie far inside it, and tokenising a megabyte only to drop it
# costs seconds and memory.
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

    # The numpy-and-tokenizers-only module that encodes and pads: a process without ``ese``
    # (the Triton front model) runs a copy of it to tokenise exactly as the runtime does.
    standalone_file: ClassVar[Path] = Path(token_arrays.__file__)

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
        """Tokenise ``texts`` (each as if whole, truncated); also return how many were cut."""
        encodings = encode_whole(self.tokenizer, texts, self.char_limit)
        return encodings, sum(1 for enc in encodings if enc.overflowing)

    def pad(self, encodings: Sequence[Encoding]) -> Batch:
        """Pad to the longest encoding in ``encodings``."""
        ids, mask, types = pad_encodings(encodings, self.pad_id)
        return Batch(input_ids=ids, attention_mask=mask, token_type_ids=types)
