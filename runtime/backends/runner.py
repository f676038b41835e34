"""The one runner protocol every backend implements: a graph opened for this process.

ONNX Runtime's :class:`.onnxruntime.session.GraphRunner` and the runner of each backend
folder satisfy it; the encoder, the parity gates and the measurements use only these names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np


class Runner(Protocol):
    """One graph, opened on one backend, fed by input name and giving float32 vectors."""

    path: Path
    requested: list[str]  # the providers asked for, in order
    active: list[str]  # those really running it
    width: int | None  # the output width, when the graph declares it
    uses_token_type_ids: bool
    device: str  # where the inputs live: "cpu" or "cuda"
    io_binding: bool
    cuda_graph: bool
    fallback_nodes: tuple[str, ...]  # nodes that fell back to the CPU provider

    def check_provider(self) -> str:
        """The provider running the graph; a typed error when it is not the one asked for."""
        ...

    def running_note(self) -> str:
        """What the choice's reason should say about how it runs ("" for nothing)."""
        ...

    def uses_cuda_graph(self, batch_size: int, seq_len: int) -> bool: ...

    def bucket_for(self, batch_size: int, seq_len: int) -> tuple[int, int] | None: ...

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray: ...


class HostArrayRunner:
    """The protocol's answers for a runner fed host arrays, with no CUDA graphs, no shape
    buckets and no CPU fallback to report (OpenVINO's, native TensorRT's); a subclass sets the
    rest and overrides what differs."""

    device = "cpu"
    io_binding = False
    cuda_graph = False
    fallback_nodes: tuple[str, ...] = ()

    def running_note(self) -> str:
        return ""

    def uses_cuda_graph(self, batch_size: int, seq_len: int) -> bool:
        return False

    def bucket_for(self, batch_size: int, seq_len: int) -> tuple[int, int] | None:
        return None
