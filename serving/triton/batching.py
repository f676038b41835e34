"""Dynamic-batching settings from a device profile: which batch sizes are worth waiting for.

Triton's dynamic batcher forms a batch as soon as it reaches a *preferred* size, and waits
up to ``max_queue_delay_microseconds`` otherwise. A size is worth preferring when this
device's measured throughput there beats every smaller measured size by a clear margin;
past the point where throughput stops growing, waiting for a fuller batch only adds latency.
"""

from __future__ import annotations

from collections.abc import Sequence

from ese.format import Precision, ProfileEntry

# A larger batch must raise throughput by at least this factor over the best smaller one.
MIN_GAIN = 1.10


def preferred_batch_sizes(
    entries: Sequence[ProfileEntry],
    depth: int,
    precision: Precision,
    *,
    max_batch_size: int,
    seq_len: int,
) -> tuple[int, ...]:
    """Preferred batch sizes for one graph, smallest first; () when the profile cannot tell.

    1. Only this graph's entries count, at the measured sequence length nearest ``seq_len``
       (the shape the budget talks about; ties go to the shorter length).
    2. Sizes above ``max_batch_size`` are dropped (Triton rejects them in a config), and so
       is 1 (a batch of one needs no waiting).
    3. A size is kept when its sentences per second beat the best smaller measured size by
       ``MIN_GAIN``; the ladder stops growing where throughput does.
    4. Fewer than two measured sizes: nothing to compare, so ().
    """
    own = [e for e in entries if (e.depth, e.precision) == (depth, precision)]
    if not own:
        return ()
    lengths = sorted({e.seq_len for e in own}, key=lambda s: (abs(s - seq_len), s))
    at_length = {e.batch_size: e for e in own if e.seq_len == lengths[0]}
    sizes = sorted(b for b in at_length if b <= max_batch_size)
    if len(sizes) < 2:
        return ()
    kept = []
    best = at_length[sizes[0]].sentences_per_s
    for size in sizes[1:]:
        rate = at_length[size].sentences_per_s
        if rate >= best * MIN_GAIN:
            kept.append(size)
        best = max(best, rate)
    return tuple(kept)
