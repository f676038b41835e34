"""The export's memory at its cause: a weightless trace bound one tensor at a time, and
calibration batches bounded by padded tokens (the big-shape figures: benchmarks/export_memory)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from ese.runtime.format import contract

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _module(model_dir: Path):
    from ese.exporter.graph.module import SentenceEmbeddingModule
    from ese.exporter.source.load import load_encoder, read_model_dir

    source = read_model_dir(model_dir)
    encoder = load_encoder(source)
    return source, SentenceEmbeddingModule(encoder, source.pooling, False, None, True)


def test_traced_weights_go_once_into_the_shared_file_and_match_pytorch(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from ese.exporter.graph.onnx_graph import onnx_from_module
    from ese.exporter.graph.shared_weights import INLINE_LIMIT_BYTES, SharedWeightsFile
    from ese.exporter.source.tokenizer_files import build_tokenizer, tokenize

    source, module = _module(tiny_model_dir)
    weights = SharedWeightsFile(tmp_path / "weights.bin")
    graph = onnx_from_module(module, source.hidden_size, tmp_path, weights)
    weights.close()
    initializers = {t.name: t for t in graph.graph.initializer}
    # every large tensor is external, and no graph input is left over for a weight
    assert [i.name for i in graph.graph.input] == list(contract.input_names(True))
    for tensor in initializers.values():
        inline = tensor.data_location != onnx.TensorProto.EXTERNAL
        assert not inline or len(tensor.raw_data) < INLINE_LIMIT_BYTES, tensor.name
    # Linear weights are stored transposed, as PyTorch's constant folding stored them
    assert not any(
        n.op_type == "Transpose" and n.input[0] in initializers for n in graph.graph.node
    )
    # the file holds each used parameter's bytes once (the unused pooler is not traced)
    used = sum(
        p.numel() * p.element_size()
        for name, p in module.state_dict().items()
        if p.numel() * p.element_size() >= INLINE_LIMIT_BYTES and "pooler" not in name
    )
    written = weights.bytes_written
    assert used * 0.9 <= written <= used * 1.1, (used, written)
    path = tmp_path / "graph.onnx"
    onnx.save(graph, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    arrays = tokenize(build_tokenizer(source), ["a man is playing a guitar", "hi", ""])
    (got,) = session.run(None, arrays)
    with torch.inference_mode():
        want = module(*(torch.from_numpy(arrays[n]) for n in contract.input_names(True)))
    assert np.abs(got - want.numpy()).max() <= 1e-5


def test_graph_without_a_weights_file_has_its_weights_inline(tiny_model_dir: Path) -> None:
    from ese.exporter.graph.onnx_graph import onnx_from_module

    source, module = _module(tiny_model_dir)
    graph = onnx_from_module(module, source.hidden_size)
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in graph.graph.initializer)
    onnx.checker.check_model(graph)


def test_calibration_batches_stay_within_padded_tokens() -> None:
    from ese.exporter.projection.calibration_vectors import _batches

    lengths = [3, 5, 40, 7, 100, 2, 9, 64, 8, 33] * 7
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches = list(_batches(order, lengths, batch_size=16, max_tokens=128))
    assert [i for b in batches for i in b] == order
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) <= 16
        assert len(batch) == 1 or len(batch) * longest <= 128, batch
