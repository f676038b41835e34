"""The vocabulary table of an ONNX graph, read from the file: rows (token ids) and width.

The runtime may not import ``onnx``, so this walks the few protobuf fields it needs
(ModelProto.graph, GraphProto.node / initializer, NodeProto.input / op_type,
TensorProto.dims / name) with a minimal wire-format reader. The table is the 2-D
initializer that a ``Gather`` indexes with ``input_ids`` (int8 variants gather a row table
and a ``[rows, 1]`` scale table with the same ids: both have the same rows). The tensors'
data is skipped, never decoded, so a graph with external weights is read in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ese.format.contract import INPUT_IDS
from ese.format.protobuf_wire import ProtobufError, varint
from ese.format.protobuf_wire import fields as _fields
from ese.format.protobuf_wire import text as _text

__all__ = ["ProtobufError", "VocabularyTable", "vocabulary_table"]

# Field numbers of onnx.proto3 (stable since ONNX 1.0).
_MODEL_GRAPH = 7
_GRAPH_NODE, _GRAPH_INITIALIZER = 1, 5
_NODE_INPUT, _NODE_OP_TYPE = 1, 4
_TENSOR_DIMS, _TENSOR_NAME = 1, 8


@dataclass(frozen=True)
class VocabularyTable:
    """The graph's token-id table: ``rows`` ids it can look up, ``width`` values per id."""

    rows: int
    width: int


def _dims(tensor: memoryview) -> tuple[list[int], str]:
    dims: list[int] = []
    name = ""
    for number, value in _fields(tensor):
        if number == _TENSOR_DIMS and isinstance(value, int):
            dims.append(value)
        elif number == _TENSOR_DIMS and isinstance(value, memoryview):  # packed int64s
            pos = 0
            while pos < len(value):
                dim, pos = varint(value, pos)
                dims.append(dim)
        elif number == _TENSOR_NAME:
            name = _text(value)
    return dims, name


def vocabulary_table(path: Path) -> VocabularyTable | None:
    """The table ``input_ids`` index in the graph at ``path``; None when there is none.

    Raises ``ProtobufError`` (a ``ValueError``) when the file is not a protobuf message.
    """
    model = memoryview(Path(path).read_bytes())
    graph = next((v for n, v in _fields(model) if n == _MODEL_GRAPH), None)
    if not isinstance(graph, memoryview):
        return None
    shapes: dict[str, list[int]] = {}
    gathered: list[str] = []
    for number, value in _fields(graph):
        if not isinstance(value, memoryview):
            continue
        if number == _GRAPH_INITIALIZER:
            dims, name = _dims(value)
            shapes[name] = dims
        elif number == _GRAPH_NODE:
            inputs = [_text(v) for n, v in _fields(value) if n == _NODE_INPUT]
            op = next((_text(v) for n, v in _fields(value) if n == _NODE_OP_TYPE), "")
            if op == "Gather" and len(inputs) >= 2 and inputs[1] == INPUT_IDS:
                gathered.append(inputs[0])
    tables = [shapes[name] for name in gathered if len(shapes.get(name, [])) == 2]
    if not tables:
        return None
    return VocabularyTable(rows=min(t[0] for t in tables), width=max(t[1] for t in tables))
