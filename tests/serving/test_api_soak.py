"""A short soak of ``ese-serve --no-triton`` (the bench's ``serve_soak``, fewer clients, shorter):
good requests, malformed ones and clients that vanish mid-request, all at once, against the
real server process over a real export. Nothing may be lost and the server must stay up."""

from __future__ import annotations

from pathlib import Path

from ese.studies.serve_soak import GOOD, MALFORMED, VANISHING, soak

TEXTS = [f"a sentence number {i} about a {w}" for i, w in enumerate(["dog", "cat", "park"] * 20)]


def test_a_short_soak_loses_nothing_and_the_server_stays_up(tiny_export: Path, tmp_path: Path):
    result = soak(tiny_export, tmp_path, clients=12, seconds=6.0, warmup_s=2.0, seed=3, texts=TEXTS)
    assert result.failures == [], result.failures[:5]
    assert result.alive
    for kind in (GOOD, MALFORMED, VANISHING):  # the mix really ran every kind of client
        assert result.sent[kind] > 0, result.sent
    # loose: a leak per request would grow it by far more over thousands of requests
    assert result.rss_end_mb <= result.rss_warm_mb * 1.5, result
