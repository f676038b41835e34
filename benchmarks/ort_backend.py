"""ONNX Runtime on the exported graphs: a fresh session per shape, as the runtime serves it.

Memory follows the runtime's own definition (``ese.runtime.measure``): the growth of the
process's resident set from before the session is created to after the timed runs, i.e. the
graph's weights plus the session's arena at that shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ese.runtime.export_dir import ExportDir
from ese.runtime.measure import release_freed_memory, resident_mb, synthetic_batch
from ese.runtime.session import GraphRunner, Threads
from ese.runtime.tokens import TextTokenizer

BACKEND = "onnxruntime"


class OrtShape:
    """One graph at one shape: ``run`` is one synchronous inference."""

    def __init__(
        self,
        path: Path,
        batch: tuple[np.ndarray, np.ndarray, np.ndarray],
        providers: Sequence[str],
        threads: Threads,
    ) -> None:
        release_freed_memory()
        self._before = resident_mb()
        self.runner = GraphRunner(path, providers, threads)
        self.batch = batch

    def run(self) -> None:
        self.runner.run(*self.batch)

    def memory_mb(self) -> float:
        return max(0.0, resident_mb() - self._before)

    def close(self) -> None:
        del self.runner
        release_freed_memory()


class OrtBackend:
    """Opens one :class:`OrtShape` per (depth, batch, sequence length) of an export."""

    backend = BACKEND

    def __init__(
        self, export: ExportDir, precision: str, providers: Sequence[str], threads: Threads
    ) -> None:
        self.export = export
        self.precision = precision
        self.providers = list(providers)
        self.threads = threads
        source = export.manifest.source
        self.vocab_size = TextTokenizer(export.tokenizer_file, source.max_seq_length).vocab_size

    def open(self, depth: int, batch_size: int, seq_len: int) -> OrtShape:
        from ese.runtime.contract import Precision

        graph = self.export.manifest.graph(depth, Precision(self.precision))
        inputs = synthetic_batch(batch_size, seq_len, self.vocab_size)
        return OrtShape(self.export.path(graph.file), inputs, self.providers, self.threads)
