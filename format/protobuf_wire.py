"""A minimal reader of the protobuf wire format, for the few ONNX fields the runtime reads.

The runtime may not import ``onnx``; graph files are walked message by message instead. Field
values that are bytes come back as ``memoryview`` slices of the file, never copied or decoded,
so the tensors' data is skipped at no cost.
"""

from __future__ import annotations

from collections.abc import Iterator

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def varint(data: memoryview, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
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


def fields(data: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, value) of one message: an int for varints, bytes for the rest."""
    pos = 0
    while pos < len(data):
        key, pos = varint(data, pos)
        number, kind = key >> 3, key & 7
        if kind == _VARINT:
            value, pos = varint(data, pos)
            yield number, value
        elif kind in (_FIXED64, _FIXED32):
            pos += 8 if kind == _FIXED64 else 4
        elif kind == _BYTES:
            size, pos = varint(data, pos)
            if pos + size > len(data):
                raise ProtobufError("a field runs past the end of its message")
            yield number, data[pos : pos + size]
            pos += size
        else:
            raise ProtobufError(f"unsupported wire type {kind}")


def text(value: int | memoryview) -> str:
    """A string field's text (undecodable bytes replaced); "" for a varint."""
    return bytes(value).decode("utf-8", "replace") if isinstance(value, memoryview) else ""


def messages(data: memoryview, number: int) -> Iterator[memoryview]:
    """Every embedded message (or bytes value) of field ``number``."""
    for n, value in fields(data):
        if n == number and isinstance(value, memoryview):
            yield value
