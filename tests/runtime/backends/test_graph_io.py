"""A loaded graph's names against the graph contract: real ONNX graphs in real sessions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from ese.format.errors import IntegrityError
from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
from ese.runtime.backends.providers import CPU


def _graph(path: Path, inputs: list[str], output: str) -> Path:
    """input_ids cast to float and mean-reduced over the sequence: [batch, 1] named ``output``."""
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["ids_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["ids_f"], [output], axes=[1], keepdims=1),
    ]
    graph = helper.make_graph(
        nodes,
        "contract",
        [
            helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
            for n in inputs
        ],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", 1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def _load(path: Path) -> GraphRunner:
    return GraphRunner(path, [CPU], Threads(intra_op=1))


def test_contract_graph_loads_with_its_inputs_in_feed_order(tmp_path: Path) -> None:
    path = _graph(tmp_path / "g.onnx", ["attention_mask", "input_ids"], "sentence_embedding")
    runner = _load(path)
    assert runner.input_names == ("input_ids", "attention_mask")
    assert runner.uses_token_type_ids is False
    ids = np.array([[1, 3]], dtype=np.int64)
    out = runner.run(ids, np.ones_like(ids), np.zeros_like(ids))
    assert np.allclose(out, [[2.0]])


def test_token_type_ids_are_fed_when_the_graph_takes_them(tmp_path: Path) -> None:
    names = ["input_ids", "token_type_ids", "attention_mask"]
    runner = _load(_graph(tmp_path / "g.onnx", names, "sentence_embedding"))
    assert runner.input_names == ("input_ids", "attention_mask", "token_type_ids")
    assert runner.uses_token_type_ids is True


@pytest.mark.parametrize(
    ("inputs", "output", "message"),
    [
        (["input_ids", "attention_mask"], "last_hidden_state", "not 'sentence_embedding'"),
        (["input_ids"], "sentence_embedding", "the graph contract is input_ids, attention_mask"),
        (["input_ids", "attention_mask", "position_ids"], "sentence_embedding", "position_ids"),
    ],
)
def test_a_graph_off_the_contract_is_refused(
    tmp_path: Path, inputs: list[str], output: str, message: str
) -> None:
    with pytest.raises(IntegrityError, match="re-export the model") as caught:
        _load(_graph(tmp_path / "g.onnx", inputs, output))
    assert message in str(caught.value)
