"""The export's memory at its cause: a weightless trace bound one tensor at a time, shape
inference without the weights' values, calibration batches bounded by their hidden states'
bytes, and parity sessions opened once the PyTorch model is freed (the big-shape figures:
studies/export_memory.py, studies/results/export_memory.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from ese.format import contract

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


def _peak_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _rss_and_peak() -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) << 10, int(fields["VmHWM"].split()[0]) << 10


def _wide_module():
    import transformers

    from ese.exporter.graph.module import SentenceEmbeddingModule
    from ese.format import Pooling

    config = transformers.BertConfig(
        vocab_size=64,
        hidden_size=512,
        num_hidden_layers=4,
        num_attention_heads=8,
        intermediate_size=2048,
        max_position_embeddings=32,
    )
    torch.manual_seed(0)
    encoder = transformers.BertModel(config, add_pooling_layer=False).eval()
    return SentenceEmbeddingModule(encoder, Pooling.CLS, False, None, True)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux peak-RSS reset")
def test_tracing_makes_no_copy_of_the_linear_weights(tmp_path: Path) -> None:
    """PyTorch's shape inference, given the weights, transposed every Linear weight at once."""
    from ese.exporter.graph.onnx_graph import _trace_into

    module = _wide_module()
    linear = sum(m.weight.numel() * 4 for m in module.modules() if isinstance(m, torch.nn.Linear))
    assert linear > 45e6  # 4 layers x (4 x 512^2 + 2 x 512 x 2048) float32 weights
    _trace_into(module, tmp_path / "warm.onnx")  # the exporter's own one-off allocations
    _peak_reset()
    start, _ = _rss_and_peak()
    _trace_into(module, tmp_path / "graph.onnx")
    _, peak = _rss_and_peak()
    assert peak - start < 0.3 * linear, (peak - start, linear)


def test_traced_graph_is_the_same_without_weights_in_shape_inference(tmp_path: Path) -> None:
    from ese.exporter.graph.onnx_graph import OPSET, _dummy_inputs, _trace_into
    from ese.format import OUTPUT, dynamic_axes, input_names

    module = _wide_module()
    _trace_into(module, tmp_path / "ours.onnx")
    with torch.no_grad():  # PyTorch's exporter as it is, shape inference with the weights
        torch.onnx.export(
            module,
            _dummy_inputs(True),
            str(tmp_path / "torch.onnx"),
            input_names=list(input_names(True)),
            output_names=[OUTPUT],
            dynamic_axes=dynamic_axes(True),
            opset_version=OPSET,
            export_params=False,
            do_constant_folding=False,
            dynamo=False,
        )
    assert (tmp_path / "ours.onnx").read_bytes() == (tmp_path / "torch.onnx").read_bytes()


def test_parity_sessions_open_after_the_pytorch_model_is_freed(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ONNX Runtime parity sessions never coexist with the PyTorch model's weights."""
    import importlib
    import weakref

    from ese.exporter import export

    export_module = importlib.import_module(
        "ese.exporter.export"
    )  # the package's export shadows it

    loaded: list[weakref.ref] = []
    real_load = export_module.load_encoder

    def load_and_watch(*args, **kwargs):
        encoder = real_load(*args, **kwargs)
        loaded.append(weakref.ref(encoder))
        return encoder

    alive_when_validating: list[bool] = []

    def progress(message: str) -> None:
        if message.startswith("validating depth"):
            alive_when_validating.append(loaded[0]() is not None)

    monkeypatch.setattr(export_module, "load_encoder", load_and_watch)
    result = export(tiny_model_dir, [1, 2], tmp_path / "out", projection="none", progress=progress)
    assert alive_when_validating == [False, False]
    assert all(d.parity.max_abs_diff <= 1e-4 and d.parity.probes == 10 for d in result.depths)


def test_calibration_batches_bound_the_hidden_states_bytes() -> None:
    from ese.exporter.projection.calibration_vectors import (
        MAX_BATCH_STATES_BYTES,
        batch_token_bound,
    )

    # all-MiniLM-L6-v2 keeps its 2,048-token batches (its projections and grids unchanged)
    assert batch_token_bound(384, 6) == 2048
    for hidden, layers in ((768, 12), (1024, 24)):
        tokens = batch_token_bound(hidden, layers)
        assert tokens * hidden * (layers + 1) * 4 <= MAX_BATCH_STATES_BYTES
        assert (tokens + 1) * hidden * (layers + 1) * 4 > MAX_BATCH_STATES_BYTES
    assert batch_token_bound(16384, 200) == 1  # a longest text still goes, alone


def test_reference_outputs_of_every_depth_come_before_any_weight_is_bound(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Binding a graph's weights reads the whole (file-mapped) embedding table; the reference
    forward passes, the tracing phase's peak, ran on top of it when they followed each trace."""
    from ese.exporter import export

    steps: list[str] = []
    export(tiny_model_dir, [1, 2], tmp_path / "out", projection="none", progress=steps.append)
    depth_steps = [s for s in steps if s.startswith(("reference outputs", "exporting depth"))]
    assert depth_steps == [
        "reference outputs at depth 1",
        "reference outputs at depth 2",
        "exporting depth 1",
        "exporting depth 2",
    ]


def test_reference_outputs_keep_only_the_pooled_vectors(tiny_model_dir: Path) -> None:
    """CLS pooling's output is a view of the last hidden state: kept as it was, every probe
    batch's whole hidden state stayed alive until the parity check."""
    from ese.exporter.graph.parity import PROBE_BATCHES, reference_outputs
    from ese.exporter.source.tokenizer_files import build_tokenizer
    from ese.format import Pooling

    source, module = _module(tiny_model_dir)
    module.pooling = Pooling.CLS
    reference = reference_outputs(module, build_tokenizer(source))
    assert [len(o) for o in reference.outputs] == [len(b) for b in PROBE_BATCHES]
    for output in reference.outputs:
        assert output.flags.owndata and output.flags.c_contiguous
        assert output.nbytes == output.shape[0] * source.hidden_size * 4


def test_an_export_runs_no_full_garbage_collection(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the export frees goes by reference counting; a ``gc.collect()`` walks every object
    of torch, transformers and onnx (~0.3 s each), and one per depth and per parity session made
    the test suite freeze the collector's objects to stay fast."""
    import gc

    from ese.exporter import export

    collections: list[int] = []
    real_collect = gc.collect

    def counted(*args: int) -> int:
        collections.append(1)
        return real_collect(*args)

    monkeypatch.setattr(gc, "collect", counted)
    export(tiny_model_dir, [1, 2], tmp_path / "out", projection="none")
    assert collections == []
