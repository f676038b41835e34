"""Measure a variant graph against the fp32 graph of the same depth: probe-set cosine, STS-B.

Both graphs run in ONNX Runtime on the same inputs: the parity probe set (short, empty, long
past the maximum length, padded batches), and optionally the STS-B sentences, scored
at the runtime's widths. A variant whose provider cannot run here is reported unverified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from ese.exporter.graph.parity import PROBE_BATCHES, row_cosines
from ese.exporter.source.tokenizer_files import tokenize
from ese.exporter.variants.stsb import StsbPairs, stsb_scores
from ese.format import OUTPUT
from ese.format.errors import InternalError
from ese.runtime.backends.onnxruntime.session_start import start_session

STSB_BATCH = 64


@dataclass(frozen=True)
class Agreement:
    """How a variant's vectors agree with fp32's on the probe set."""

    mean_cosine: float
    min_cosine: float
    max_abs_diff: float
    probes: int


def open_session(path: Path, provider: str = "CPUExecutionProvider") -> ort.InferenceSession:
    return start_session(path, ort.SessionOptions(), [provider], [provider])


def can_run(path: Path, provider: str = "CPUExecutionProvider") -> str | None:
    """None when ``provider`` can load the graph here, else the reason it cannot."""
    if provider not in ort.get_available_providers():
        return f"{provider} is not in this onnxruntime ({ort.__version__})"
    try:
        open_session(path, provider)
    except Exception as exc:  # onnxruntime raises untyped errors; NOT_IMPLEMENTED is the usual
        return f"{provider} cannot load {path.name}: {str(exc).splitlines()[0][:200]}"
    return None


def _embed(session: ort.InferenceSession, tokenizer: Tokenizer, texts: Sequence[str]) -> np.ndarray:
    names = [i.name for i in session.get_inputs()]
    arrays = tokenize(tokenizer, list(texts))
    (out,) = session.run([OUTPUT], {n: arrays[n] for n in names})
    return np.asarray(out, dtype=np.float32)


def probe_agreement(
    reference: ort.InferenceSession, variant: ort.InferenceSession, tokenizer: Tokenizer
) -> Agreement:
    """Cosine and largest absolute difference of ``variant`` to ``reference`` per probe."""
    cosines: list[float] = []
    worst = 0.0
    for batch in PROBE_BATCHES:
        want = _embed(reference, tokenizer, batch)
        got = _embed(variant, tokenizer, batch)
        if got.shape != want.shape:
            raise InternalError(f"variant output {got.shape} differs from fp32 output {want.shape}")
        worst = max(worst, float(np.abs(got - want).max()))
        cosines.extend(float(c) for c in row_cosines(got, want))
    return Agreement(
        mean_cosine=float(np.mean(cosines)),
        min_cosine=float(np.min(cosines)),
        max_abs_diff=worst,
        probes=len(cosines),
    )


def embed_all(
    session: ort.InferenceSession, tokenizer: Tokenizer, texts: Sequence[str]
) -> dict[str, np.ndarray]:
    """One vector per text, batched by length so that little is padding."""
    order = sorted(texts, key=len)
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(order), STSB_BATCH):
        chunk = order[start : start + STSB_BATCH]
        for text, vector in zip(chunk, _embed(session, tokenizer, chunk), strict=True):
            vectors[text] = vector
    return vectors


def stsb_quality(
    session: ort.InferenceSession,
    tokenizer: Tokenizer,
    pairs: StsbPairs,
    dims: tuple[int, ...],
) -> dict[int, float]:
    """STS-B Spearman x 100 of one graph at each width in ``dims``."""
    return stsb_scores(pairs, embed_all(session, tokenizer, pairs.sentences), dims)
