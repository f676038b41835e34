"""Where an ONNX graph's tensors keep their data outside the graph file: each ``location``.

ONNX Runtime reads a tensor's external data from ``location`` (relative to the graph's folder)
wherever any tensor names one: initializers, sparse initializers, tensor attributes of nodes
(``Constant``), and the subgraphs and functions inside. Every such file must be one the
manifest lists with its sha256, or the graph would compute with weights nobody checked; this
module finds them all, with the wire-format reader (the runtime has no ``onnx``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ese.format.protobuf_wire import fields, messages, text

# Field numbers of onnx.proto3 (stable since ONNX 1.0; functions since 1.10).
_MODEL_GRAPH, _MODEL_FUNCTIONS = 7, 25
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE_INITIALIZER = 1, 5, 15
_FUNCTION_NODE = 7
_NODE_ATTRIBUTE = 5
_ATTR_TENSOR, _ATTR_GRAPH, _ATTR_TENSORS, _ATTR_GRAPHS = 5, 6, 10, 11
_ATTR_SPARSE_TENSOR, _ATTR_SPARSE_TENSORS = 22, 23
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_TENSOR_EXTERNAL_DATA = 13
_ENTRY_KEY, _ENTRY_VALUE = 1, 2
_LOCATION = "location"


def external_locations(path: Path) -> frozenset[str]:
    """Every external-data ``location`` the graph at ``path`` names, as written in it.

    Raises ``ProtobufError`` (a ``ValueError``) when the file is not a protobuf message.
    """
    model = memoryview(Path(path).read_bytes())
    found: set[str] = set()
    for graph in messages(model, _MODEL_GRAPH):
        found.update(_in_graph(graph))
    for function in messages(model, _MODEL_FUNCTIONS):
        for node in messages(function, _FUNCTION_NODE):
            found.update(_in_node(node))
    return frozenset(found)


def _in_graph(graph: memoryview) -> Iterator[str]:
    for number, value in fields(graph):
        if not isinstance(value, memoryview):
            continue
        if number == _GRAPH_INITIALIZER:
            yield from _in_tensor(value)
        elif number == _GRAPH_SPARSE_INITIALIZER:
            yield from _in_sparse(value)
        elif number == _GRAPH_NODE:
            yield from _in_node(value)


def _in_node(node: memoryview) -> Iterator[str]:
    for attribute in messages(node, _NODE_ATTRIBUTE):
        for number, value in fields(attribute):
            if not isinstance(value, memoryview):
                continue
            if number in (_ATTR_TENSOR, _ATTR_TENSORS):
                yield from _in_tensor(value)
            elif number in (_ATTR_SPARSE_TENSOR, _ATTR_SPARSE_TENSORS):
                yield from _in_sparse(value)
            elif number in (_ATTR_GRAPH, _ATTR_GRAPHS):
                yield from _in_graph(value)


def _in_sparse(sparse: memoryview) -> Iterator[str]:
    for number in (_SPARSE_VALUES, _SPARSE_INDICES):
        for tensor in messages(sparse, number):
            yield from _in_tensor(tensor)


def _in_tensor(tensor: memoryview) -> Iterator[str]:
    for entry in messages(tensor, _TENSOR_EXTERNAL_DATA):
        key = "".join(text(v) for n, v in fields(entry) if n == _ENTRY_KEY)
        if key == _LOCATION:
            yield "".join(text(v) for n, v in fields(entry) if n == _ENTRY_VALUE)
