"""The bf16 parity gate: OpenVINO with bf16 inference precision against ONNX Runtime fp32.

bf16 runs the fp32 graph with bfloat16 matmuls, so it has no quality figures of its own in
the manifest; it may stand in for the fp32 graph's quality only when its vectors agree with
ONNX Runtime fp32 on probe texts of varied length: min cosine >= ``BF16_MIN_COSINE``. The
figure is measured once per graph content and CPU and recorded in ``parity.json`` in the bf16
compiled-model cache folder (``DIR/engines/<cpu>-openvino<ver>/<sha>-bf16/``).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ese.runtime.backends import providers as prov
from ese.runtime.backends.session import GraphRunner, Threads
from ese.runtime.encode import encode_texts
from ese.runtime.errors import TruncationWarning
from ese.runtime.format.manifest import GraphEntry, write_json_atomic
from ese.runtime.openvino.runner import OpenVINORunner
from ese.runtime.tokens import TextTokenizer

BF16_MIN_COSINE = 0.999
PARITY_FILE = "parity.json"
PROBE_TEXTS = (
    "",
    "Hi.",
    "A man is playing a guitar.",
    "The cat sleeps on the warm windowsill for most of the afternoon.",
    "Two dogs run across a snowy field while their owner throws a red ball.",
    "Stocks fell sharply after the government announced new tariffs on imported steel, "
    "aluminium and several kinds of machinery, a move analysts had not expected this year.",
    "Mitochondrial DNA is inherited from the mother; sequencing it lets researchers trace "
    "maternal lineages over thousands of years, and recent studies combine it with nuclear "
    "genomes to date migrations more precisely than archaeology alone could. " * 3,
    "¿Dónde está la biblioteca? 图书馆在哪里？ 12345 #tags @user https://example.org/a?b=c",
)


@dataclass(frozen=True)
class Parity:
    """min cosine of bf16 against ONNX Runtime fp32 over the probe texts, and the gate."""

    min_cosine: float
    threshold: float = BF16_MIN_COSINE

    @property
    def passed(self) -> bool:
        return self.min_cosine >= self.threshold

    def describe(self) -> str:
        verdict = "passes" if self.passed else "fails"
        return (
            f"bf16 parity min cosine {self.min_cosine:.5f} vs ONNX Runtime fp32 on "
            f"{len(PROBE_TEXTS)} probe texts ({verdict} >= {self.threshold})"
        )


def bf16_parity(
    graph_path: Path,
    graph: GraphEntry,
    tokenizer: TextTokenizer,
    threads: Threads,
) -> Parity:
    """The recorded gate of ``graph`` in bf16 on this CPU, measured and recorded if absent."""
    bf16 = OpenVINORunner(
        graph_path,
        prov.OPENVINO_BF16,
        inference_precision="bf16",
        threads=threads.intra_op,
        digests=[f.sha256 for f in graph.files()],
    )
    record = Path(bf16.cache_dir or graph_path.parent) / PARITY_FILE
    recorded = _read(record)
    if recorded is not None:
        return recorded
    reference = GraphRunner(graph_path, [prov.CPU], threads)
    texts = list(PROBE_TEXTS)
    width = int(graph.dims)
    with warnings.catch_warnings():  # a long probe text is cut on purpose: not the user's input
        warnings.simplefilter("ignore", TruncationWarning)
        want = encode_texts(texts, tokenizer, reference, dims=width, batch_size=4, normalize=True)
        got = encode_texts(texts, tokenizer, bf16, dims=width, batch_size=4, normalize=True)
    parity = Parity(min_cosine=float(np.min(np.sum(want * got, axis=1))))
    if bf16.cache_dir is not None:
        write_json_atomic(
            record,
            {
                "min_cosine": parity.min_cosine,
                "threshold": parity.threshold,
                "reference": "onnxruntime CPUExecutionProvider fp32",
                "texts": len(texts),
                "graph_sha256": graph.file.sha256,
            },
        )
    return parity


def _read(path: Path) -> Parity | None:
    """A recorded gate, or None when absent or unreadable (then it is measured again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        value = data["min_cosine"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1 <= value <= 1:
        return None
    return Parity(min_cosine=float(value))
