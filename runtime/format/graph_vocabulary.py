"""The vocabulary table of an ONNX graph, read from the file: rows (token ids) and width.

The runtime may not import ``onnx``, so this walks the few protobuf fields it needs
(ModelProto.graph, GraphProto.node / initializer, NodeProto.input / op_type,
TensorProto.dims / name) with a minimal wire-format reader. The table is the 2-D
initializer that a ``Gather`` indexes with ``input_ids`` (int8 variants gather a row table
and a ``[rows, 1]`` scale table with the same ids: both have the same rows). The tensors'
data is skipped, never decoded, so a graph with external weights is read in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ese.runtime.format.contract import INPUT_IDS

# Field numbers of onnx.proto3 (stable since ONNX 1.0).
_MODEL_GRAPH = 7
_GRAPH_NODE, _GRAPH_INITIALIZER = 1, 5
_NODE_INPUT, _NODE_OP_TYPE = 1, 4
_TENSOR_DIMS, _TENSOR_NAME = 1, 8
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message."""


@dataclass(frozen=True)
class VocabularyTable:
    """The graph's token-id table: ``rows`` ids it can look up, ``width`` values per id."""

    rows: int
    width: int


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ProtobufError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, value) of one message: an int for varints, bytes for the rest."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, kind = key >> 3, key & 7
        if kind == _VARINT:
            value, pos = _varint(data, pos)
            yield number, value
        elif kind in (_FIXED64, _FIXED32):
            pos += 8 if kind == _FIXED64 else 4
        elif kind == _BYTES:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ProtobufError("a field runs past the end of its message")
            yield number, data[pos : pos + size]
            pos += size
        else:
            raise ProtobufError(f"unsupported wire type {kind}")


def _text(value: int | memoryview) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, memoryview) else ""


def _dims(tensor: memoryview) -> tuple[list[int], str]:
    dims: list[int] = []
    name = ""
    for number, value in _fields(tensor):
        if number == _TENSOR_DIMS and isinstance(value, int):
            dims.append(value)
        elif number == _TENSOR_DIMS and isinstance(value, memoryview):  # packed int64s
            pos = 0
            while pos < len(value):
                dim, pos = _varint(value, pos)
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
