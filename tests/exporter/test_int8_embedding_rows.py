"""int8 vocabulary rows: the rewritten graph runs in ONNX Runtime within half a step per row."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from ese.exporter.variants.int8_embedding_rows import int8_rows_from_vocabulary


def _lookup_graph(vocabulary: np.ndarray, positions: np.ndarray) -> onnx.ModelProto:
    """out = vocabulary[ids] + positions[pos] + vocabulary[ids] (the table used twice)."""
    nodes = [
        helper.make_node("Gather", ["vocabulary", "ids"], ["words"], "words"),
        helper.make_node("Gather", ["positions", "pos"], ["places"], "places"),
        helper.make_node("Gather", ["vocabulary", "ids"], ["again"], "again"),
        helper.make_node("Add", ["words", "places"], ["both"]),
        helper.make_node("Add", ["both", "again"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "lookup",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["b", "t"]),
            helper.make_tensor_value_info("pos", TensorProto.INT64, ["b", "t"]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["b", "t", 8])],
        [
            numpy_helper.from_array(vocabulary, "vocabulary"),
            numpy_helper.from_array(positions, "positions"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, ids: np.ndarray, pos: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"ids": ids, "pos": pos})
    return np.asarray(out)


def test_rows_keep_their_own_scale_and_small_tables_stay_fp32() -> None:
    rng = np.random.default_rng(0)
    vocabulary = rng.normal(0, 0.05, (5000, 8)).astype(np.float32)
    vocabulary[7] *= 200  # one outlier row must not coarsen the others
    vocabulary[9] = 0.0
    positions = rng.normal(0, 0.05, (16, 8)).astype(np.float32)
    model = _lookup_graph(vocabulary, positions)
    ids = np.array([[1, 7, 9, 4999], [2, 3, 4, 5]], dtype=np.int64)
    pos = np.tile(np.arange(4, dtype=np.int64), (2, 1))
    want = _run(model, ids, pos)

    assert int8_rows_from_vocabulary(model) == ["vocabulary"]
    onnx.checker.check_model(model)
    tables = {t.name: t for t in model.graph.initializer}
    assert "vocabulary" not in tables and "positions" in tables
    assert tables["vocabulary.int8_rows"].data_type == TensorProto.INT8
    assert sum(n.op_type == "Cast" for n in model.graph.node) == 2

    got = _run(model, ids, pos)
    step = np.abs(vocabulary[ids]).max(axis=-1, keepdims=True) / 127
    # two lookups of the same row, each off by at most half a step
    assert np.all(np.abs(got - want) <= step + 1e-6)
    assert np.abs(got - want)[0, 0].max() < 0.001  # an ordinary row next to the outlier
    assert np.array_equal(got[0, 2], want[0, 2])  # the all-zero row is exact


def test_a_graph_without_vocabulary_is_left_alone() -> None:
    positions = np.ones((16, 8), dtype=np.float32)
    model = _lookup_graph(positions, positions)
    before = model.SerializeToString()
    assert int8_rows_from_vocabulary(model) == []
    assert model.SerializeToString() == before
