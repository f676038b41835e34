"""The runtime's backends on the exported graphs: a fresh runner per shape, as the runtime
opens it (ONNX Runtime's providers with the Embedder's options, or any registered backend).

Memory follows the runtime's own definition (its ``ShapeSession``, from
``ese.format``): the growth of the process's resident set from before the session
is created to after the timed runs, with the graph's memory-mapped weights counted whole:
the graph's weights plus the session's arena at that shape. One throw-away session first
pays ONNX Runtime's one-time set-up, as the runtime's own measurement does.
"""

from __future__ import annotations

from collections.abc import Sequence

from ese.format import ExportDir, Precision
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.choice.measure import synthetic_batch, warm_up
from ese.runtime.choice.shape_session import ShapeSession
from ese.runtime.tokens import TextTokenizer

BACKEND = "onnxruntime"


class OrtBackend:
    """Opens one ``ShapeSession`` (the runtime's own unit of measurement) per (depth, batch,
    sequence length) of an export."""

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

    def open(self, depth: int, batch_size: int, seq_len: int) -> ShapeSession:
        graph = self.export.manifest.graph(depth, Precision(self.precision))
        if not self._warm:
            warm_up(self.export, graph, self.providers, self.threads)
            self._warm = True
        inputs = synthetic_batch(batch_size, seq_len, self.vocab_size)
        return ShapeSession(self.export, graph, inputs, self.providers, self.threads)
