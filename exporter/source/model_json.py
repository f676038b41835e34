"""Read a model directory's JSON files and their fields strictly: a bad file or field is a
``UserError`` naming the file, the field and what was expected, never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ese.format.errors import UserError


def read_json_file(path: Path) -> object:
    """The parsed JSON value of ``path`` (any JSON type)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from exc
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, a too long integer
        raise UserError(
            f"{path} is not valid JSON ({str(exc)[:120]}); restore it from the model's source"
        ) from exc


def json_object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UserError(f"{where} holds a {_kind(value)}, not a JSON object")
    return value


def read_json_object(path: Path) -> dict[str, Any]:
    return json_object(read_json_file(path), str(path))


def optional_bool(data: dict[str, Any], key: str, where: str) -> bool | None:
    """true / false (or 0 / 1, as Python tools write them); absent or null: None."""
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise UserError(f"{where}: {key} is {_shown(value)}; expected true or false")


def optional_positive_int(data: dict[str, Any], key: str, where: str) -> int | None:
    """A whole number >= 1; absent or null: None."""
    value = data.get(key)
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise UserError(f"{where}: {key} is {_shown(value)}; expected a whole number >= 1")
    return value


def optional_str(data: dict[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise UserError(f"{where}: {key} is {_shown(value)}; expected a string")


def _kind(value: object) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__
    )


def _shown(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):  # not JSON, or an integer too long to print
        return f"a {_kind(value)}"
    return f"{text[:40]}..." if len(text) > 40 else text
