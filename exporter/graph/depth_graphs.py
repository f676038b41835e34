"""Every requested depth's graph written from the PyTorch encoder, with its parity reference.

The PyTorch outputs each graph must reproduce are computed first, for every depth, before any
depth is traced: binding a graph's weights reads every weight of the model, the whole word
embedding table included, of which a forward pass reads only the probe's rows. The model's
weights are mapped from its safetensors file, so that read makes the table resident (+94 MB on
a BERT-base), and the reference forward passes, the export's peak, then ran on top of it.
Then each depth is traced, its weights bound into the shared weights file, and its graph
saved. Nothing returned refers to the encoder, so the caller can free it before any ONNX
Runtime session is opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from tokenizers import Tokenizer
from torch import nn

from ese.exporter.graph.depth_cut import cut_to_depth
from ese.exporter.graph.module import SentenceEmbeddingModule
from ese.exporter.graph.onnx_graph import onnx_from_module
from ese.exporter.graph.parity import ParityReference, reference_outputs
from ese.exporter.graph.shared_weights import SharedWeightsFile, graph_weight_bytes
from ese.exporter.source.load import ModelDir
from ese.format import graph_file
from ese.runtime.memory import trim_heap

Say = Callable[[str], None]


@dataclass(frozen=True)
class DepthGraph:
    """One written graph: its depth, file (relative to the export), size and reference."""

    depth: int
    relative: str
    weight_bytes: int
    reference: ParityReference
    seconds: float


@contextmanager
def _depth_module(
    encoder: nn.Module,
    model_dir: ModelDir,
    depth: int,
    projections: Mapping[int, tuple[np.ndarray, np.ndarray]],
    uses_token_type_ids: bool,
) -> Iterator[SentenceEmbeddingModule]:
    """Within the block, the module a depth's graph is traced from (``encoder`` cut to it)."""
    with cut_to_depth(encoder, model_dir.layer_path, depth):
        yield SentenceEmbeddingModule(
            encoder,
            model_dir.pooling,
            model_dir.normalize,
            projections.get(depth),
            uses_token_type_ids,
        )


def write_depth_graphs(
    encoder: nn.Module,
    model_dir: ModelDir,
    depths: Sequence[int],
    projections: Mapping[int, tuple[np.ndarray, np.ndarray]],
    tokenizer: Tokenizer,
    out: Path,
    weights: SharedWeightsFile,
    *,
    uses_token_type_ids: bool,
    say: Say,
) -> list[DepthGraph]:
    """Trace ``encoder`` at each depth into ``out`` (the export's root), weights in ``weights``.

    ``projections``: the (mean, components) each depth fuses; a depth without one keeps the
    model's own order.
    """
    references = {}
    for depth in depths:
        started = time.perf_counter()
        say(f"reference outputs at depth {depth}")
        with _depth_module(encoder, model_dir, depth, projections, uses_token_type_ids) as module:
            reference = reference_outputs(module, tokenizer)
        references[depth] = (reference, time.perf_counter() - started)
    written = []
    for depth in depths:
        reference, reference_seconds = references.pop(depth)
        started = time.perf_counter()
        say(f"exporting depth {depth}")
        with _depth_module(encoder, model_dir, depth, projections, uses_token_type_ids) as module:
            relative = graph_file(depth)
            graph = onnx_from_module(
                module, model_dir.hidden_size, (out / relative).parent, weights
            )
            weights.externalise(graph)
            weights.flush()
            onnx.save(graph, out / relative)
            weight_bytes = graph_weight_bytes(out / relative, graph)
            del graph
        # the bound tensors' contiguous copies (freed by reference counting), out of malloc's
        # free lists (else they stayed resident into the next depth)
        trim_heap()
        seconds = reference_seconds + time.perf_counter() - started
        written.append(DepthGraph(depth, relative, weight_bytes, reference, seconds))
    return written
