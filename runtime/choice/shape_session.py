"""One graph's session at one shape, with the process's memory growth probed around it.

The unit of a profile measurement: the runtime's brief one (``measure_graph``) and
``ese-bench profile`` both open one per (depth, batch, sequence length), so their figures
mean the same. Memory is the growth of the resident set from before the session is created,
with the graph's memory-mapped weights counted whole (``ese.runtime.memory``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.backends.registry import open_runner
from ese.runtime.memory import MemoryProbe, release_freed_memory


class ShapeSession:
    """A fresh runner of ``graph`` (on any backend, opened as the Embedder opens it) fed
    ``batch``: ``run`` is one synchronous inference."""

    def __init__(
        self,
        export: ExportDir,
        graph: GraphEntry,
        batch: tuple[np.ndarray, np.ndarray, np.ndarray],
        providers: Sequence[str],
        threads: Threads,
    ) -> None:
        release_freed_memory()
        self._probe = MemoryProbe.start(export.path(graph.file).parent)
        self.runner = open_runner(export, graph, providers, threads)
        self.batch = batch
        rows, length = batch[0].shape
        self.cuda_graph = self.runner.uses_cuda_graph(rows, length)

    def run(self) -> None:
        self.runner.run(*self.batch)

    def memory_mb(self) -> float:
        """The resident set's growth since before the session was created, in MB."""
        return self._probe.growth_mb()

    def close(self) -> None:
        """Free the session and hand its freed memory back to the OS."""
        del self.runner
        release_freed_memory()
