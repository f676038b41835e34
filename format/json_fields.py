"""Fields of outside JSON (manifests, profiles, cards) read with a typed error naming the field.

A :class:`Field` is one JSON value with the path that names it in messages
(``graphs[1].quality.stsb["64"]``), the file it came from, the ``UserError`` subclass to raise
and what the user should do. Readers check the JSON type and the range in one step, so a
wrong type, an overflowing number, a NaN or an out-of-range value is refused where it is read,
never as an ``AttributeError`` or an ``OverflowError`` further on.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from ese.format.errors import UserError

E = TypeVar("E", bound=Enum)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SHOWN = 60  # characters of a bad value quoted in a message


_KINDS = {str: "string", int: "integer", float: "number", list: "list", dict: "object"}


def shown(value: Any) -> str:
    """``value`` for a message, as JSON spells it, cut short when long."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return "a huge number"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


@dataclass(frozen=True)
class Field:
    """One JSON value, where it is, and how to complain about it."""

    value: Any
    path: str
    source: str  # the file, e.g. "manifest.json"
    error: type[UserError]
    advice: str  # what to do, e.g. "re-export the model"

    @classmethod
    def root(cls, value: Any, source: str, error: type[UserError], advice: str) -> Field:
        return cls(value, "", source, error, advice)

    def fail(self, what: str) -> UserError:
        where = self.path or "the top level"
        return self.error(f"{self.source}: {where} {what}; {self.advice}")

    def _bad(self, wanted: str) -> UserError:
        kind = _KINDS.get(type(self.value))
        what = f"{shown(self.value)} ({kind})" if kind else shown(self.value)
        return self.fail(f"is {what}; it must be {wanted}")

    def _child(self, value: Any, key: str | int) -> Field:
        if isinstance(key, int):
            path = f"{self.path}[{key}]"
        elif _IDENTIFIER.fullmatch(key):
            path = f"{self.path}.{key}" if self.path else key
        else:
            path = f"{self.path}[{json.dumps(key)}]"
        return Field(value, path, self.source, self.error, self.advice)

    # containers

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self._bad("a JSON object")
        return self.value

    def has(self, key: str) -> bool:
        """Whether the object holds ``key`` with a value other than null."""
        return self.obj().get(key) is not None

    def __getitem__(self, key: str) -> Field:
        data = self.obj()
        if key not in data:
            raise self._child(None, key).fail("is missing")
        return self._child(data[key], key)

    def get(self, key: str) -> Field | None:
        """The field ``key``, or None when it is absent or null."""
        return self._child(self.obj()[key], key) if self.has(key) else None

    def items(self) -> Iterator[tuple[str, Field]]:
        for key, value in self.obj().items():
            yield key, self._child(value, key)

    def elements(self) -> list[Field]:
        if not isinstance(self.value, list):
            raise self._bad("a JSON list")
        return [self._child(v, i) for i, v in enumerate(self.value)]

    # scalars

    def as_str(self, *, nonempty: bool = False) -> str:
        if not isinstance(self.value, str) or (nonempty and not self.value):
            raise self._bad("a non-empty string" if nonempty else "a string")
        return self.value

    def as_bool(self) -> bool:
        if not isinstance(self.value, bool):
            raise self._bad("true or false")
        return self.value

    def as_int(self, low: int, high: int) -> int:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._bad(f"a whole number from {low} to {high}")
        return value

    def as_float(self, low: float = -math.inf, high: float = math.inf) -> float:
        """A finite number in [low, high] (a JSON int is accepted)."""
        value = self.value
        wanted = "a finite number" + _range(low, high)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._bad(wanted)
        try:
            number = float(value)
        except OverflowError:
            raise self._bad(wanted) from None
        if not math.isfinite(number) or not low <= number <= high:
            raise self._bad(wanted)
        return number

    def as_enum(self, enum: type[E]) -> E:
        choices = ", ".join(repr(e.value) for e in enum)
        if isinstance(self.value, str):
            for member in enum:
                if member.value == self.value:
                    return member
        raise self._bad(f"one of {choices}")

    def as_int_key(self, key: str, low: int, high: int) -> int:
        """An object key that spells a whole number in [low, high] (JSON keys are strings)."""
        field = self._child(key, key)
        if not re.fullmatch(r"[0-9]{1,9}", key) or not low <= int(key) <= high:
            raise field.fail(f"is not a whole number from {low} to {high}")
        return int(key)


def _range(low: float, high: float) -> str:
    if low > -math.inf and high < math.inf:
        return f" from {low:g} to {high:g}"
    if low > -math.inf:
        return f" of at least {low:g}"
    if high < math.inf:
        return f" of at most {high:g}"
    return ""
