"""The refused-request log: rate-limited per window, and the unlogged count is never lost."""

from __future__ import annotations

import logging

import pytest

from ese.serving.local.refusal_log import RefusalLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_refusal_log_logs_a_few_per_window_then_counts(caplog: pytest.LogCaptureFixture):
    clock = Clock()
    log = RefusalLog(logging.getLogger("refusals"), per_window=3, window_s=60.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="refusals"):
        for index in range(1000):
            log.refused(f"bad request {index}")
        assert [r.getMessage() for r in caplog.records] == [
            "refused a request: bad request 0",
            "refused a request: bad request 1",
            "refused a request: bad request 2",
        ]
        caplog.clear()
        clock.now = 59.9
        log.refused("still the same window")
        assert caplog.records == []
        clock.now = 60.0
        log.refused("next window")
    assert [r.getMessage() for r in caplog.records] == [
        "refused 998 more requests, not logged one by one (at most 3 lines per 60 s)",
        "refused a request: next window",
    ]
