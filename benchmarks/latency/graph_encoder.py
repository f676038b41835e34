"""The runtime's encode path pinned to one depth: ``Embedder.encode`` minus the budget choice.

``ese.runtime.Embedder`` chooses its depth from a budget; benchmarks need every depth in turn,
so this pins an ``Embedder`` to one depth and precision of an export already open and encodes
at the graph's full width unless asked for fewer dimensions (the export's tokenizer with the
runtime's truncation and padding, length-sorted batches, slice, then normalise).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ese.format import ExportDir, Precision
from ese.runtime import Embedder
from ese.runtime.backends.providers import CPU


class GraphEncoder:
    """Texts -> vectors through one graph of an export, exactly as the runtime encodes."""

    def __init__(
        self,
        export: ExportDir,
        depth: int,
        *,
        threads: int | None = None,
        precision: Precision = Precision.FP32,
        providers: Sequence[str] = (CPU,),
    ) -> None:
        self.export = export
        self.graph = export.manifest.graph(depth, precision)
        self.embedder = Embedder(
            export,
            depth=depth,
            precision=precision,
            providers=list(providers),
            intra_op_threads=threads,
            measure=False,
        )

    @property
    def dims(self) -> int:
        return self.graph.dims

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        dims: int | None = None,
        normalize: bool = True,
    ) -> np.ndarray:
        """float32 [len(texts), dims] in input order (the first ``dims``, then normalised)."""
        vectors: np.ndarray = self.embedder.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=normalize,
            dims=dims or self.graph.dims,
        )
        return vectors
