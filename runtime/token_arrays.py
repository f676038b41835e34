"""Texts to padded int64 token arrays, with numpy and tokenizers alone.

The runtime's :class:`~ese.runtime.tokens.TextTokenizer` encodes and pads through these
functions, and ``ese-triton`` copies this file beside the Triton front model, which runs in
Triton's own Python without ``ese``: so a text gets the same tokens from both. Keep this
module standalone: it imports numpy, tokenizers and the standard library only.

A text gets exactly the tokens the tokenizer gives for the whole text, truncated; a long text
is tokenised as a prefix first, see :func:`encode_whole`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tokenizers import Encoding, Tokenizer


def encode_whole(tokenizer: Tokenizer, texts: Sequence[str], char_limit: int) -> list[Encoding]:
    """Each text's encoding as if tokenised whole (the tokenizer truncates).

    A text longer than ``char_limit`` characters is tokenised as a prefix of that length,
    doubled until :func:`prefix_decides`, up to the whole text.
    """
    encodings = tokenizer.encode_batch([t[:char_limit] for t in texts])
    for index, text in enumerate(texts):
        if len(text) > char_limit and not prefix_decides(encodings[index]):
            encodings[index] = _encode_long(tokenizer, text, 2 * char_limit)
    return encodings


def _encode_long(tokenizer: Tokenizer, text: str, length: int) -> Encoding:
    """``text``'s encoding from prefixes of ``length``, doubled until one decides."""
    while length < len(text):
        encoding = tokenizer.encode(text[:length])
        if prefix_decides(encoding):
            return encoding
        length *= 2
    return tokenizer.encode(text)


def prefix_decides(encoding: Encoding) -> bool:
    """Whether a prefix's truncated ``encoding`` is the whole text's: the prefix overflowed,
    and its last word (the one the cut may have split) lies after every kept token's word."""
    if not encoding.overflowing:
        return False
    kept = [w for w in encoding.word_ids if w is not None]
    rest = [w for enc in encoding.overflowing for w in enc.word_ids if w is not None]
    return bool(kept) and bool(rest) and rest[-1] > kept[-1]


def pad_encodings(
    encodings: Sequence[Encoding], pad_id: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """input_ids, attention_mask and token_type_ids, int64 [batch, longest encoding]."""
    longest = max((len(e.ids) for e in encodings), default=0)
    shape = (len(encodings), longest)
    ids = np.full(shape, pad_id, dtype=np.int64)
    mask = np.zeros(shape, dtype=np.int64)
    types = np.zeros(shape, dtype=np.int64)
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        ids[row, :n] = enc.ids
        mask[row, :n] = enc.attention_mask
        types[row, :n] = enc.type_ids
    return ids, mask, types
