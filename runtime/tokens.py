"""Texts to padded int64 arrays: the export's tokenizer with the runtime's own settings.

The runtime ignores the padding and truncation stored in tokenizer.json: it truncates at
the model's maximum sequence length and pads each batch to its own longest input.

A text gets exactly the tokens the tokenizer gives for the whole text, truncated. Only the
way there is bounded: a long text is tokenised as a prefix first (``char_limit``
characters, doubled until enough), and a prefix's tokens are used only when the kept tokens
all end in a word before the prefix's last word, the only word a cut can change (normalisers
and pre-tokenisers of BERT, WordPiece, ByteLevel and Metaspace tokenizers act word by
word). Otherwise the prefix grows, up to the whole text. So a text of 20,000 spaces and then
8 words is tokenised whole, and a megabyte of prose costs one 16 kB prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

from ese.runtime.errors import IntegrityError

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
        limit = self.char_limit
        encodings = self.tokenizer.encode_batch([t[:limit] for t in texts])
        for index, text in enumerate(texts):
            if len(text) > limit and not prefix_decides(encodings[index]):
                encodings[index] = self._encode_long(text, 2 * limit)
        return encodings, sum(1 for enc in encodings if enc.overflowing)

    def _encode_long(self, text: str, length: int) -> Encoding:
        """``text``'s encoding from prefixes of ``length``, doubled until one decides."""
        while length < len(text):
            encoding = self.tokenizer.encode(text[:length])
            if prefix_decides(encoding):
                return encoding
            length *= 2
        return self.tokenizer.encode(text)

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


def prefix_decides(encoding: Encoding) -> bool:
    """Whether a prefix's truncated ``encoding`` is the whole text's: the prefix overflowed,
    and its last word (the one the cut may have split) lies after every kept token's word."""
    if not encoding.overflowing:
        return False
    kept = [w for w in encoding.word_ids if w is not None]
    rest = [w for enc in encoding.overflowing for w in enc.word_ids if w is not None]
    return bool(kept) and bool(rest) and rest[-1] > kept[-1]
