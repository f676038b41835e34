"""How many CPU threads one session may be given: a whole number from 1 to 4 per CPU.

ONNX Runtime starts every intra-op thread it is given and keeps them spin-waiting, so thousands
of threads on a few cores run for minutes instead of failing, and a count past a C int fails
inside ONNX Runtime as an internal error. A count above ``THREADS_PER_CPU`` times this
machine's CPU count is refused (not capped: a silently changed count would change the device
profile the choice is measured on), with one line naming the CPU count. Checked here once,
for ``Threads`` (every session, so ``Embedder(intra_op_threads=...)``, ese-serve and
ese-bench) and for the ``--threads`` flag's argparse type.
"""

from __future__ import annotations

import numbers
import os

from ese.format.errors import BadInputError

THREADS_PER_CPU = 4


def thread_limit() -> int:
    """The most threads a session may be given on this machine."""
    return THREADS_PER_CPU * (os.cpu_count() or 1)


def checked_threads(name: str, value: object) -> int:
    """``value`` when it is a whole number from 1 to :func:`thread_limit`; else
    ``BadInputError`` (a ``ValueError``) naming ``name``, the limit and the CPU count."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise BadInputError(f"{name}={value!r:.40} must be a whole number >= 1")
    count, limit = int(value), thread_limit()
    if count > limit:
        shown = count if count < 10**12 else "a huge number"
        raise BadInputError(
            f"{name}={shown} is more than {THREADS_PER_CPU} threads per CPU: this machine has "
            f"{os.cpu_count() or 1} CPUs, so give at most {limit} (or leave it out to use "
            "every allowed CPU)"
        )
    return count
