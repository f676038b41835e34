"""The API's batcher: requests of different widths share one graph run, each gets its own
rows at its own width, equal to ``Embedder.encode(texts, dims=k)``."""

from __future__ import annotations

import numpy as np
import pytest

from ese.runtime import Embedder
from ese.serving.api.batcher import EncodeBatcher
from ese.serving.api.errors import Refusal, RequestRefused
from ese.serving.api.metrics import ApiMetrics

TEXTS = ["a man is playing the guitar", "two people sit in the park", "hi", "a red car", "x y"]


def test_requests_of_different_widths_share_one_graph_run(tiny_export):
    embedder = Embedder(tiny_export)
    metrics = ApiMetrics()
    # the run starts when 5 texts are queued (the batch size), long before the 60 s wait ends
    batcher = EncodeBatcher(
        embedder, metrics, max_batch_size=5, max_queue_delay_us=60_000_000, max_pending_texts=5
    )
    try:
        narrow = batcher.submit(TEXTS[:2], 3, True)
        raw = batcher.submit(TEXTS[2:4], 7, False)
        widest = batcher.submit(TEXTS[4:], embedder.max_dims, True)
        results = [f.result(timeout=120) for f in (narrow, raw, widest)]
    finally:
        batcher.stop()
    assert metrics.batch_size.count == 1 and metrics.batch_size.total == 5  # one run, 5 texts
    np.testing.assert_allclose(results[0], embedder.encode(TEXTS[:2], dims=3), atol=1e-6)
    want_raw = embedder.encode(TEXTS[2:4], dims=7, normalize_embeddings=False)
    np.testing.assert_allclose(results[1], want_raw, atol=1e-6)
    want_widest = embedder.encode(TEXTS[4:], dims=embedder.max_dims)
    np.testing.assert_allclose(results[2], want_widest, atol=1e-6)
    assert [r.shape for r in results] == [(2, 3), (2, 7), (1, embedder.max_dims)]


def test_max_dims_is_the_graph_width_unless_the_budget_caps_the_width(tiny_export):
    from ese.runtime import Budget

    capped = Embedder(tiny_export, budget=Budget(max_dims=8))
    free = Embedder(tiny_export)
    assert capped.max_dims == capped.dims == 8  # the budget bounds the vector size
    assert free.max_dims == free.choice.graph_dims >= free.dims


def test_a_request_past_the_pending_bound_is_refused_at_once(tiny_export):
    embedder = Embedder(tiny_export)
    # a batch of 100 texts or a 60 s wait: the first request stays pending until stop()
    batcher = EncodeBatcher(
        embedder,
        ApiMetrics(),
        max_batch_size=100,
        max_queue_delay_us=60_000_000,
        max_pending_texts=4,
    )
    try:
        first = batcher.submit(TEXTS[:3], 4, True)
        with pytest.raises(RequestRefused, match=r"busy \(3 texts waiting or encoding, at most 4"):
            batcher.submit(TEXTS[3:5], 4, True)
        last = batcher.submit(TEXTS[3:4], 4, True)  # 3 + 1 fits
    finally:
        batcher.stop()  # the waiting batch runs, then the worker ends
    np.testing.assert_allclose(
        first.result(timeout=120), embedder.encode(TEXTS[:3], dims=4), atol=1e-6
    )
    np.testing.assert_allclose(
        last.result(timeout=120), embedder.encode(TEXTS[3:4], dims=4), atol=1e-6
    )
    with pytest.raises(RequestRefused, match="stopping") as stopped:
        batcher.submit(TEXTS[:1], 4, True)
    assert stopped.value.kind is Refusal.OVERLOADED and stopped.value.status == 503


def test_a_gathered_batch_runs_on_cpu_in_length_sorted_runs_of_at_most_eight(tiny_export):
    # one run of 32 texts of mixed lengths pads all to the longest: on CPU that cost twice the
    # CPU per text of length-sorted runs of 8 (MiniLM depth 6)
    embedder = Embedder(tiny_export)
    runner = embedder._open_runner()
    rows_per_run: list[int] = []
    real_run = runner.run

    def counted_run(input_ids, *rest):  # the real graph run, its batch size noted
        rows_per_run.append(len(input_ids))
        return real_run(input_ids, *rest)

    runner.run = counted_run  # type: ignore[method-assign]
    texts = [" ".join(["word"] * (1 + (i * 7) % 30)) for i in range(32)]
    batcher = EncodeBatcher(
        embedder, ApiMetrics(), max_batch_size=32, max_queue_delay_us=0, max_pending_texts=32
    )
    try:
        got = batcher.submit(texts, embedder.max_dims, True).result(timeout=120)
    finally:
        batcher.stop()
    assert rows_per_run == [8, 8, 8, 8]
    runner.run = real_run  # type: ignore[method-assign]
    np.testing.assert_allclose(got, embedder.encode(texts), atol=1e-6)
