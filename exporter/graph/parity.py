"""Check an exported graph against the PyTorch module it was traced from, on a probe set.

The PyTorch side is computed first (:func:`reference_outputs`, while the module is at hand:
a few probe texts x the output width) and the graph is checked later (:func:`measure_parity`),
so the export can free the PyTorch model before it opens any ONNX Runtime session: the two
never hold their copies of the weights at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from tokenizers import Tokenizer

from ese.exporter.graph.module import SentenceEmbeddingModule
from ese.exporter.source.tokenizer_files import tokenize
from ese.format import OUTPUT, Parity, input_names
from ese.runtime.backends.onnxruntime.session_start import start_session
from ese.runtime.backends.providers import CPU
from ese.runtime.memory import trim_heap

# Per unit of the reference's scale (see ``scaled_tolerance``).
TOLERANCE = 1e-4

_LONG = (
    "The quick brown fox jumps over the lazy dog while a group of researchers measures how "
    "quickly sentence embeddings can be computed on small devices at the edge of the network. "
)

# Short, long (past the max length: truncated), padded mixed-length, and batch-of-one inputs.
PROBE_BATCHES: tuple[tuple[str, ...], ...] = (
    ("A man is playing a guitar.",),
    ("Hi", "A woman is slicing an onion in the kitchen.", _LONG * 2, "ok"),
    (_LONG * 20,),
    ("", "   ", "Ünïcödé, emoji 🙂 and numbers 1234567890.", _LONG),
)


@dataclass(frozen=True)
class ParityFailure:
    depth: int
    max_abs_diff: float
    tolerance: float


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``a`` with the same row of ``b`` (0 for an all-zero row)."""
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)


@dataclass(frozen=True)
class ParityReference:
    """The PyTorch module's outputs on every probe batch, with the inputs that made them."""

    feeds: tuple[dict[str, np.ndarray], ...]
    outputs: tuple[np.ndarray, ...]


def reference_outputs(module: SentenceEmbeddingModule, tokenizer: Tokenizer) -> ParityReference:
    """``module``'s outputs on :data:`PROBE_BATCHES`: what its graph must reproduce."""
    names = input_names(module.uses_token_type_ids)
    feeds, outputs = [], []
    for batch in PROBE_BATCHES:
        arrays = tokenize(tokenizer, list(batch))
        feed = {name: arrays[name] for name in names}
        with torch.inference_mode():
            output = module(*(torch.from_numpy(feed[n]) for n in names))
        # a copy: CLS pooling's output is a view that kept the batch's whole last hidden state
        outputs.append(output.numpy().copy())
        del output
        feeds.append(feed)
        # each batch's activations, out of malloc's free lists before the next one's (else a
        # long batch's stayed resident under the next: +100 MB on BERT-base)
        trim_heap()
    return ParityReference(tuple(feeds), tuple(outputs))


def scaled_tolerance(reference: ParityReference, tolerance: float = TOLERANCE) -> float:
    """``tolerance`` times the reference's scale: its largest absolute value, at least 1.

    float32 rounding grows with the magnitude of what is summed: a normalised model's vectors
    (|x| <= 1) keep ``tolerance`` itself, while unnormalised ones (``sum`` pooling over 512
    tokens, a model without a Normalize step) are held to the same relative precision.
    """
    scale = max((float(np.abs(out).max()) for out in reference.outputs if out.size), default=0.0)
    return tolerance * max(1.0, scale)


def measure_parity(
    graph_path: Path, reference: ParityReference, tolerance: float = TOLERANCE
) -> Parity:
    """Max absolute difference and minimum cosine between ONNX Runtime and PyTorch outputs;
    the recorded tolerance is ``tolerance`` scaled to the reference (``scaled_tolerance``)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 0
    # Weights read from the mapped file rather than copied into packed buffers (a second copy
    # of every MatMul weight). The activations go to the session's own arena, freed with the
    # session: without it each run's tensors came from malloc's heap, whose free lists grew
    # with its fragmentation (a BERT-base's depth-12 session alone, probe batches included,
    # peaked at 771 to 927 MB over ten fresh processes; with the arena at 760 MB in all eight).
    options.enable_cpu_mem_arena = True
    options.add_session_config_entry("session.disable_prepacking", "1")
    session = start_session(Path(graph_path), options, [CPU], [CPU])
    worst, min_cos, probes = 0.0, 1.0, 0
    for feed, want in zip(reference.feeds, reference.outputs, strict=True):
        (got,) = session.run([OUTPUT], feed)
        worst = max(worst, float(np.abs(got - want).max()))
        min_cos = min(min_cos, float(row_cosines(got, want).min()))
        probes += len(want)
    del session
    trim_heap()
    return Parity(
        max_abs_diff=worst,
        min_cosine=min_cos,
        probes=probes,
        tolerance=scaled_tolerance(reference, tolerance),
    )
