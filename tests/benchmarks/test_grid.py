"""ese-bench's comma lists of whole numbers (--batch, --seq, --dims, --depths)."""

from __future__ import annotations

import pytest

from ese.benchmarks.grid import parse_ints
from ese.format.errors import BadInputError


def test_a_list_is_sorted_without_repeats() -> None:
    assert parse_ints(" 32, 1,8,8 ", name="batch") == (1, 8, 32)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "--batch '' is empty or has an empty item; give e.g. --batch 1,8,32"),
        ("1,,8", "'1,,8' is empty or has an empty item"),  # was read as 1,8
        ("1,8,", "'1,8,' is empty or has an empty item"),
        ("1,eight", "'eight' is not a whole number"),
        ("0,8", "0 is below the minimum 1"),
    ],
)
def test_a_bad_list_is_a_grid_error_that_names_the_flag(text: str, needle: str) -> None:
    with pytest.raises(BadInputError, match="--batch") as info:
        parse_ints(text, name="batch")
    assert needle in str(info.value)
