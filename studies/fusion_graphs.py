"""ONNX Runtime's transformer fusion as a measured choice, never a default.

``onnxruntime.transformers.optimizer`` rewrites a BERT graph into fused Attention,
SkipLayerNormalization, BiasGelu and EmbedLayerNormalization nodes. On CPU this was measured
to help at batch 1 and to hurt at batch >= 8, so a fused graph is kept only when it is faster
at every measured shape (batch 1 and a full batch): ``choose_fusion`` times both graphs in
the same process, interleaved, and returns the decision with its figures.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from ese.format import ATTENTION_MASK, INPUT_IDS, TOKEN_TYPE_IDS

# (batch, sequence) shapes timed: one query, and a full batch of sentence-length inputs.
SHAPES = ((1, 16), (32, 64))
REPEATS = 7
WARMUP = 2
# Fusion is kept only when it is at least this much faster at every shape.
MIN_GAIN = 0.97


@dataclass(frozen=True)
class FusionChoice:
    """Median latency ratio fused / unfused per shape, and whether fusion was kept."""

    ratios: dict[tuple[int, int], float]
    kept: bool
    reason: str

    def describe(self) -> str:
        figures = ", ".join(f"b{b}xs{s} {r:.2f}x" for (b, s), r in self.ratios.items())
        return f"fusion {'kept' if self.kept else 'not kept'} ({figures}): {self.reason}"


def fuse(model: onnx.ModelProto, num_heads: int, hidden: int) -> onnx.ModelProto:
    """The graph with ONNX Runtime's BERT fusions applied (CPU kernels)."""
    from onnxruntime.transformers.optimizer import optimize_model

    logging.disable(logging.WARNING)
    try:
        optimized = optimize_model(
            model, model_type="bert", num_heads=num_heads, hidden_size=hidden, opt_level=0
        )
    finally:
        logging.disable(logging.NOTSET)
    model = optimized.model
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    return model


def _session(model: onnx.ModelProto | Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def _feed(session: ort.InferenceSession, batch: int, seq: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 2000, size=(batch, seq), dtype=np.int64)
    feed = {
        INPUT_IDS: ids,
        ATTENTION_MASK: np.ones_like(ids),
        TOKEN_TYPE_IDS: np.zeros_like(ids),
    }
    return {i.name: feed[i.name] for i in session.get_inputs()}


def _median_ratio(a: ort.InferenceSession, b: ort.InferenceSession, batch: int, seq: int) -> float:
    feed_a, feed_b = _feed(a, batch, seq), _feed(b, batch, seq)
    for _ in range(WARMUP):
        a.run(None, feed_a)
        b.run(None, feed_b)
    times_a, times_b = [], []
    for _ in range(REPEATS):  # interleaved, so both see the same machine load
        t0 = time.perf_counter()
        a.run(None, feed_a)
        t1 = time.perf_counter()
        b.run(None, feed_b)
        times_b.append(time.perf_counter() - t1)
        times_a.append(t1 - t0)
    return float(np.median(times_b) / np.median(times_a))


def choose_fusion(plain: onnx.ModelProto, fused: onnx.ModelProto) -> FusionChoice:
    """Time ``plain`` and ``fused`` (same inputs, interleaved) at every shape in ``SHAPES``.

    Fusion is kept only when the fused graph is faster at every shape. For int8, ``fused`` is
    the fused fp32 graph quantised (fuse first: the quantiser maps Attention to QAttention).
    """
    with tempfile.TemporaryDirectory(prefix="ese-fusion-") as tmp:
        sessions = []
        for name, model in (("plain", plain), ("fused", fused)):
            path = Path(tmp) / f"{name}.onnx"
            copy = onnx.ModelProto.FromString(model.SerializeToString())  # never mutate inputs
            large = copy.ByteSize() > 1_800_000_000  # protobuf's 2 GB limit
            onnx.save(copy, str(path), save_as_external_data=large, location=f"{name}.bin")
            sessions.append(_session(path))
        plain_session, fused_session = sessions
        ratios = {(b, s): _median_ratio(plain_session, fused_session, b, s) for b, s in SHAPES}
    slower = [shape for shape, ratio in ratios.items() if ratio > MIN_GAIN]
    if slower:
        reason = f"no gain of {1 - MIN_GAIN:.0%} at batch x sequence {slower}"
        return FusionChoice(ratios, kept=False, reason=reason)
    return FusionChoice(ratios, kept=True, reason="faster at every measured shape")
