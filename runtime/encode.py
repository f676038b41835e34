"""Texts to vectors: check inputs, sort by length, batch, run, slice, normalise, restore order.

Inputs are processed in chunks of ``chunk_size`` texts: only one chunk's tokens are held at a
time, so memory beyond the result array stays bounded however many texts come in. Within a
chunk, texts are sorted by token count (longest first) so each batch pads to a similar length.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from ese.console.progress import Progress
from ese.format.errors import BadInputError
from ese.runtime.backends.runner import Runner
from ese.runtime.errors import TruncationWarning
from ese.runtime.tokens import TextTokenizer

DEFAULT_CHUNK = 4096


def check_texts(sentences: object) -> list[str]:
    """The inputs as a list of str; ``TypeError`` naming the first item that is not a str and
    its index, ``BadInputError`` naming the first that is not Unicode text (a lone surrogate
    such as ``"\\ud800"``, which tokenizers refuses with a bare ``TypeError``)."""
    if isinstance(sentences, (bytes, bytearray)):
        raise TypeError("sentences must be a str or a list of str, not bytes; decode them first")
    try:
        items = list(sentences)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"sentences must be a str or a list of str, not {type(sentences).__name__}"
        ) from None
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(
                f"sentences[{index}] is {type(item).__name__} ({item!r:.40}), not str; "
                "every input must be a string (use '' for an empty one)"
            )
        if not item.isascii():
            check_unicode(index, item)
    return items


def check_unicode(index: int, text: str) -> None:
    """``BadInputError`` when ``text`` holds a lone surrogate (it cannot be UTF-8 encoded)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadInputError(
            f"sentences[{index}] has a lone surrogate {text[exc.start]!r} at character "
            f"{exc.start}, which is not Unicode text and cannot be tokenised: decode the "
            "input with errors='replace' (or drop the surrogate) first"
        ) from None


def sliced_unit(vectors: np.ndarray, dims: int) -> np.ndarray:
    """Each row's leading ``dims`` values at unit L2 norm: slice first, then normalise (ESE's
    order; a normalised vector sliced afterwards is shorter than 1). An all-zero row stays zero.
    The dtype is the input's."""
    cut = vectors[:, :dims]
    return cut / np.maximum(np.linalg.norm(cut, axis=1, keepdims=True), 1e-12)


def encode_texts(
    texts: Sequence[str],
    tokenizer: TextTokenizer,
    runner: Runner,
    *,
    dims: int,
    batch_size: int,
    normalize: bool,
    show_progress: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """float32 [len(texts), dims], in input order; one ``TruncationWarning`` if any were cut."""
    out = np.empty((len(texts), dims), dtype=np.float32)
    chunks = range(0, len(texts), chunk_size)
    total = sum(math.ceil(min(chunk_size, len(texts) - s) / batch_size) for s in chunks)
    progress = Progress(total, enabled=show_progress)
    truncated = 0
    try:
        for start in chunks:
            chunk = texts[start : start + chunk_size]
            encodings, cut = tokenizer.encode(chunk)
            truncated += cut
            lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64)
            order = np.argsort(-lengths, kind="stable")
            for b in range(0, len(order), batch_size):
                rows = order[b : b + batch_size]
                batch = tokenizer.pad([encodings[i] for i in rows])
                vectors = runner.run(batch.input_ids, batch.attention_mask, batch.token_type_ids)
                out[start + rows] = sliced_unit(vectors, dims) if normalize else vectors[:, :dims]
                progress.update(1, len(rows))
    finally:
        progress.close()
    if truncated:
        warnings.warn(
            f"{truncated} of {len(texts)} inputs were longer than the model's "
            f"{tokenizer.max_length} tokens and were truncated",
            TruncationWarning,
            stacklevel=3,
        )
    return out
