"""Command-line values checked once, as argparse types: comma lists and numbers in range.

A bad value is an ``argparse.ArgumentTypeError``, which the console runner turns into one line
"PROG: error: argument --flag: ..." and exit 2; ``comma_items`` alone raises ``BadInputError``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

from ese.format.errors import BadInputError, UserError

T = TypeVar("T")
N = TypeVar("N", int, float)


def comma_items(
    text: str, *, flag: str, example: str = "a,b", error: type[UserError] = BadInputError
) -> tuple[str, ...]:
    """``"a, b,c"`` -> ``("a", "b", "c")``; an empty list or an empty item is refused with
    ``error`` (the caller's own type), which shows ``flag`` and an ``example`` of a good value."""
    items = tuple(item.strip() for item in text.split(","))
    if not text.strip() or not all(items):
        raise error(f"{flag} {text!r} is empty or has an empty item; give e.g. {flag} {example}")
    return items


def comma_list(
    kind: Callable[[str], T], noun: str, *, minimum: float | None = None
) -> Callable[[str], tuple[T, ...]]:
    """An argparse ``type`` for ``"a,b,c"``: each item converted by ``kind``, in the order given."""

    def parse(text: str) -> tuple[T, ...]:
        try:
            values = tuple(kind(item) for item in comma_items(text, flag="the list"))
        except (BadInputError, ValueError, TypeError):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a comma-separated list of {noun}"
            ) from None
        if minimum is not None:
            low = [v for v in values if not _at_least(v, minimum)]
            if low:
                raise argparse.ArgumentTypeError(
                    f"{text!r}: {', '.join(map(str, low))} below the minimum {minimum:g}"
                )
        return values

    parse.__name__ = f"list of {noun}"
    return parse


def number_at_least(kind: Callable[[str], N], minimum: N) -> Callable[[str], N]:
    """An argparse ``type``: a finite number of ``kind`` that is at least ``minimum``."""

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not _at_least(value, minimum):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number >= {minimum}")
        return value

    parse.__name__ = f"number >= {minimum}"
    return parse


def _at_least(value: object, minimum: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value >= minimum


positive_int = number_at_least(int, 1)
non_negative_int = number_at_least(int, 0)
non_negative_float = number_at_least(float, 0.0)


def positive_float(text: str) -> float:
    """An argparse ``type``: a finite number above 0."""
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text} must be above 0")
    return value


int_list = comma_list(int, "whole numbers", minimum=1)


def providers_arg(text: str) -> str | tuple[str, ...]:
    """``--providers``: one name (``auto``, ``cuda``) or a comma list in order of preference."""
    if "," not in text:
        return text.strip()
    return comma_list(str, "execution provider names")(text)
