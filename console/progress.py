"""A dependency-free progress line on stderr, shown only when the caller asks for it."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``Batches  12/40  30%  1,530 sentences/s`` redrawn in place; silent when disabled."""

    def __init__(self, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.stream = stream or sys.stderr
        self.done = 0
        self.sentences = 0
        self.start = time.perf_counter()

    def update(self, batches: int, sentences: int) -> None:
        self.done += batches
        self.sentences += sentences
        if not self.enabled:
            return
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        self.stream.write(
            f"\rBatches {self.done:>5}/{self.total}  {100 * self.done // self.total:>3}%  "
            f"{self.sentences / elapsed:,.0f} sentences/s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
