"""ese-serve's workers x threads: a pure function, tested as a table."""

from __future__ import annotations

import pytest

from ese.format.errors import UserError
from ese.serving.local.layout import Layout, serving_layout
from ese.serving.local.server import split_by_length


@pytest.mark.parametrize(
    ("cpus", "on_cpu", "workers", "threads", "expected"),
    [
        (2, True, None, None, Layout(2, 1)),  # one worker per CPU, one thread each
        (16, True, None, None, Layout(4, 4)),  # at most 4 workers; CPUs shared
        (1, True, None, None, Layout(1, 1)),
        (8, True, 2, None, Layout(2, 4)),  # workers given: CPUs shared among them
        (8, True, 16, None, Layout(16, 1)),  # never below one thread
        (8, True, None, 2, Layout(4, 2)),  # threads given: as many workers as fit
        (2, True, None, 4, Layout(1, 4)),
        (8, True, 3, 3, Layout(3, 3)),  # both given: as given
        (8, False, None, None, Layout(1, None)),  # GPU: one worker, runtime's threads
        (8, False, 2, 3, Layout(2, 3)),
    ],
)
def test_serve_layout_table(cpus, on_cpu, workers, threads, expected):
    assert serving_layout(cpus, on_cpu=on_cpu, workers=workers, threads=threads) == expected


def test_serve_layout_rejects_zero():
    with pytest.raises(UserError, match="--workers 0"):
        serving_layout(2, on_cpu=True, workers=0)


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 16])
def test_serve_split_by_length_covers_every_row_once(workers):
    texts = ["x" * n for n in (5, 1, 9, 3, 7, 2, 8)]
    parts = split_by_length(texts, workers)
    assert sorted(i for part in parts for i in part) == list(range(len(texts)))
    assert len(parts) == min(workers, len(texts))
    longest = [max(len(texts[i]) for i in part) for part in parts]
    assert longest == sorted(longest)  # each part holds similar lengths
    assert split_by_length([], workers) == []
    assert split_by_length(["one"], workers) == [[0]]
