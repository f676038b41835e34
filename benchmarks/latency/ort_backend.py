"""ONNX Runtime on the exported graphs: a fresh session per shape, as the runtime serves it.

Memory follows the runtime's own definition (``ese.runtime.choice.measure``,
``ese.runtime.memory``): the growth of the process's resident set from before the session
is created to after the timed runs, with the graph's memory-mapped weights counted whole:
the graph's weights plus the session's arena at that shape. One throw-away session first
pays ONNX Runtime's one-time set-up, as the runtime's own measurement does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ese.runtime.backends.runners import open_runner
from ese.runtime.backends.session import Threads
from ese.runtime.choice.measure import synthetic_batch, warm_up
from ese.runtime.format.contract import Precision
from ese.runtime.format.export_dir import ExportDir
from ese.runtime.memory import MemoryProbe, release_freed_memory
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
        self._probe = MemoryProbe.start(Path(path).parent)
        self.runner = open_runner(path, providers, threads)  # OpenVINO too, when named
        self.batch = batch
        rows, length = batch[0].shape
        self.cuda_graph = self.runner.uses_cuda_graph(rows, length)

    def run(self) -> None:
        self.runner.run(*self.batch)

    def memory_mb(self) -> float:
        return self._probe.growth_mb()

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
        self._warm = False

    def open(self, depth: int, batch_size: int, seq_len: int) -> OrtShape:
        graph = self.export.manifest.graph(depth, Precision(self.precision))
        path = self.export.path(graph.file)
        if not self._warm:
            warm_up(path, self.providers, self.threads)
            self._warm = True
        inputs = synthetic_batch(batch_size, seq_len, self.vocab_size)
        return OrtShape(path, inputs, self.providers, self.threads)
