"""Comma-separated integer lists from the command line (``--batch 1,8,32``), checked once."""

from __future__ import annotations

from collections.abc import Iterable

from ese.console import comma_items
from ese.format.errors import BadInputError


def parse_ints(text: str, *, name: str, minimum: int = 1) -> tuple[int, ...]:
    """``"1,8,32"`` -> (1, 8, 32): sorted, duplicates dropped, each >= ``minimum``; an empty
    list or an empty item (``"1,,8"``) is refused."""
    parts = comma_items(text, flag=f"--{name}", example="1,8,32", error=BadInputError)
    values = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise BadInputError(f"--{name}: {part!r} is not a whole number (in {text!r})") from None
        if value < minimum:
            raise BadInputError(f"--{name}: {value} is below the minimum {minimum} (in {text!r})")
        values.append(value)
    return tuple(sorted(set(values)))


def pick_depths(
    wanted: Iterable[int] | None, available: Iterable[int], *, what: str = "export"
) -> tuple[int, ...]:
    """The depths to measure: all that ``available`` has, or the requested subset of them."""
    have = tuple(sorted(set(available)))
    if wanted is None:
        return have
    chosen = tuple(sorted(set(wanted)))
    missing = [d for d in chosen if d not in have]
    if missing:
        raise BadInputError(
            f"depths {missing} are not in this {what}; it has {list(have)}: "
            "pass some of those to --depths, or export the others"
        )
    return chosen
