"""An ONNX graph of an export with its external weights read in, for the graph converters.

``onnx.load`` refuses external data held in a file with more than one hard link (a guard
against a hostile model reading other files through a link). An export's weights file has a
second link as soon as ``ese-triton`` has written a repository from it: the repository links
the files rather than copying them, which saves the whole weights file per depth model. The
export's files are checked against the manifest's sha256 when it is opened, so here the
weights are read directly, confined to the graph's directory and bounds-checked.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from ese.format import resolve_inside
from ese.format.errors import IntegrityError


def graph_with_weights(graph_path: Path) -> onnx.ModelProto:
    """``graph_path`` loaded with every external initializer read into the model."""
    model = onnx.load(str(graph_path), load_external_data=False)
    base = Path(graph_path).parent
    for tensor in model.graph.initializer:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        tensor.raw_data = _read_range(base, tensor.name, info)
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT
    return model


def _read_range(base: Path, name: str, info: dict[str, str]) -> bytes:
    if "location" not in info:
        raise IntegrityError(f"initializer {name!r} of a graph in {base} names no weights file")
    path = resolve_inside(base, info["location"])
    try:
        offset = int(info.get("offset", "0"))
        length = int(info["length"]) if "length" in info else None
    except ValueError:
        raise IntegrityError(
            f"initializer {name!r}: offset or length in {info['location']} is not an integer"
        ) from None
    size = path.stat().st_size
    end = size if length is None else offset + length
    if offset < 0 or end < offset or end > size:
        raise IntegrityError(
            f"initializer {name!r} reads bytes {offset}..{end} of {info['location']}, which "
            f"holds {size}: the weights file was truncated or replaced; re-export the model"
        )
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(end - offset)
