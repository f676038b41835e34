"""One copy of the weights on disk: every graph's large initializers point into one shared file.

Identical tensors (the embedding table, the layers every depth shares) are stored once, found
by content digest, so an export of several depths costs about the disk of the deepest alone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

import onnx
from onnx import numpy_helper

# Tensors smaller than this stay inside the graph file.
INLINE_LIMIT_BYTES = 1024
# Offsets aligned to the page size, so ONNX Runtime may map the file instead of copying it.
ALIGNMENT = 4096


def _tensor_bytes(tensor: onnx.TensorProto) -> bytes:
    return bytes(numpy_helper.to_array(tensor).tobytes())


def graph_weight_bytes(graph_file: Path, model: onnx.ModelProto) -> int:
    """What one graph weighs: its own file plus the external data its initializers point to."""
    external = sum(
        int({e.key: e.value for e in t.external_data}["length"])
        for t in model.graph.initializer
        if t.data_location == onnx.TensorProto.EXTERNAL
    )
    return graph_file.stat().st_size + external


class SharedWeightsFile:
    """Append-only, content-deduplicated external-data file for a family of ONNX graphs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = path.open("wb")
        self._offsets: dict[str, tuple[int, int]] = {}
        self._end = 0

    def _store(self, raw: bytes | memoryview) -> tuple[int, int]:
        key = hashlib.sha256(raw).hexdigest()
        if key not in self._offsets:
            offset = -(-self._end // ALIGNMENT) * ALIGNMENT
            self._file.write(b"\0" * (offset - self._end))
            self._file.write(raw)
            self._end = offset + len(raw)
            self._offsets[key] = (offset, len(raw))
        return self._offsets[key]

    def externalise(self, model: onnx.ModelProto) -> None:
        """Move ``model``'s large initializers into the shared file, in place."""
        for tensor in model.graph.initializer:
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                continue
            # raw_data as written (little-endian, the layout to_array would rebuild): one copy
            raw = tensor.raw_data if tensor.HasField("raw_data") else _tensor_bytes(tensor)
            if len(raw) < INLINE_LIMIT_BYTES:
                continue
            self.store(tensor, raw)

    def store(self, tensor: onnx.TensorProto, raw: bytes | memoryview) -> None:
        """Point ``tensor`` at ``raw`` (its little-endian bytes) in the shared file."""
        offset, length = self._store(raw)
        tensor.ClearField("raw_data")
        for field in ("float_data", "int32_data", "int64_data", "double_data"):
            tensor.ClearField(field)
        tensor.data_location = onnx.TensorProto.EXTERNAL
        del tensor.external_data[:]
        for key, value in (
            ("location", self.path.name),
            ("offset", str(offset)),
            ("length", str(length)),
        ):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.flush()
        self._file.close()

    @property
    def bytes_written(self) -> int:
        return self._end
