"""Protocol-buffer text format (what ``config.pbtxt`` is) from nested Python values.

A message is a mapping of field name to value; a repeated message is a list of mappings; a
repeated scalar is a list of scalars; an enum value is a :class:`Symbol` (written bare, not
quoted). ``None`` values are left out. Tests parse the result with Triton's own ModelConfig
protobuf, so a field name or type mistake here cannot go unnoticed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ese.format.errors import InternalError

INDENT = "  "


class Symbol(str):
    """An enum value such as ``TYPE_INT64`` or ``KIND_CPU``: written without quotes."""

    __slots__ = ()


def render(message: Mapping[str, Any]) -> str:
    """The text format of ``message``, one field per line, ending with a newline."""
    return "".join(_fields(message, 0))


def _fields(message: Mapping[str, Any], depth: int) -> list[str]:
    lines = []
    pad = INDENT * depth
    for name, value in message.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            lines.append(f"{pad}{name} {{\n")
            lines.extend(_fields(value, depth + 1))
            lines.append(f"{pad}}}\n")
        elif isinstance(value, Sequence) and not isinstance(value, str):
            if all(isinstance(v, Mapping) for v in value):
                for item in value:
                    lines.append(f"{pad}{name} {{\n")
                    lines.extend(_fields(item, depth + 1))
                    lines.append(f"{pad}}}\n")
            else:
                lines.append(f"{pad}{name}: [{', '.join(_scalar(v) for v in value)}]\n")
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}\n")
    return lines


def _scalar(value: object) -> str:
    if isinstance(value, Symbol):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid text-format string literal
    raise InternalError(f"cannot write {type(value).__name__} {value!r} to config.pbtxt")
