"""The runtime's encode path pinned to one depth: ``Embedder.encode`` minus the budget choice.

``ese.runtime.Embedder`` chooses its depth from a budget; benchmarks need every depth in turn,
so this composes the same pieces ``Embedder.encode`` runs (the export's tokenizer with the
runtime's truncation and padding, ``GraphRunner``, ``encode_texts``: length-sorted batches,
slice, then normalise).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ese.runtime.backends.providers import CPU
from ese.runtime.backends.session import GraphRunner, Threads
from ese.runtime.encode import encode_texts
from ese.runtime.format.contract import Precision
from ese.runtime.format.export_dir import ExportDir
from ese.runtime.tokens import TextTokenizer


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
        source = export.manifest.source
        self.tokenizer = TextTokenizer(export.tokenizer_file, source.max_seq_length)
        self.runner = GraphRunner(
            export.path(self.graph.file), list(providers), Threads(intra_op=threads)
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
        return encode_texts(
            list(texts),
            self.tokenizer,
            self.runner,
            dims=dims or self.graph.dims,
            batch_size=batch_size,
            normalize=normalize,
        )
