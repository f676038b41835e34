"""The log of refused requests, rate-limited: a client sending bad requests cannot flood it.

Each refused request is logged with its reason, up to ``per_window`` lines in a window of
``window_s`` seconds. Past that, refusals are counted, and the first refusal of a later
window logs first how many went unlogged, so the count is never lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

PER_WINDOW = 10
WINDOW_S = 60.0


class RefusalLog:
    """Logs ``refused a request: <reason>`` at most ``per_window`` times per window."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        per_window: int = PER_WINDOW,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._per_window = per_window
        self._window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._logged = 0
        self._unlogged = 0

    def refused(self, reason: str) -> None:
        """Record one refused request (thread-safe)."""
        with self._lock:
            now = self._clock()
            if now - self._window_start >= self._window_s:
                if self._unlogged:
                    self._logger.warning(
                        "refused %d more requests, not logged one by one (at most %d lines "
                        "per %.0f s)",
                        self._unlogged,
                        self._per_window,
                        self._window_s,
                    )
                self._window_start, self._logged, self._unlogged = now, 0, 0
            if self._logged < self._per_window:
                self._logged += 1
                self._logger.warning("refused a request: %s", reason)
            else:
                self._unlogged += 1
