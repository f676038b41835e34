"""Parse and check the requested layer cut-offs."""

from __future__ import annotations

from collections.abc import Iterable

from ese.console import comma_items
from ese.format.errors import UserError


def parse_depths(text: str) -> tuple[int, ...]:
    """``"4,6,12"`` -> ``(4, 6, 12)``; range checks happen in ``check_depths``."""
    parts = comma_items(text, flag="--depths", example="2,4,6", error=UserError)
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise UserError(
            f"--depths {text!r} is not a comma-separated list of integers; give e.g. --depths 2,4,6"
        ) from None


def check_depths(depths: Iterable[int], num_layers: int) -> tuple[int, ...]:
    """Sorted depths, each in 1..num_layers, none repeated."""
    values = list(depths)
    if not values:
        raise UserError(
            f"no depths given; choose some of 1..{num_layers}, e.g. --depths {num_layers}"
        )
    repeated = sorted({d for d in values if values.count(d) > 1})
    if repeated:
        raise UserError(f"depths {repeated} are given more than once in {values}; list each once")
    outside = [d for d in values if not 1 <= d <= num_layers]
    if outside:
        raise UserError(
            f"depths {outside} are outside this model's 1..{num_layers} layers; "
            f"choose depths between 1 and {num_layers}"
        )
    return tuple(sorted(values))
