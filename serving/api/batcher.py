"""Concurrent requests into one graph run: a queue that ``workers`` threads drain in batches.

A worker takes the first waiting request, then gathers more for up to ``max_queue_delay_us``
or until ``max_batch_size`` texts, encodes all their texts in one ``Embedder.encode`` call at
the widest width the embedder serves, un-normalised (on CPU in graph runs of at most
``CPU_RUN_TEXTS`` texts, which the runtime groups by length: see below), and gives each request
its own rows cut to
its own width: ``sliced_unit`` (slice, then L2-normalise: ``Embedder.encode(dims=k)``'s vector)
or the raw prefix when it asked for no normalisation. Requests of different widths share the run.
At most ``max_pending_texts`` texts are queued or being encoded at once: a request that would
pass the bound is refused at once (503, retry later) instead of waiting behind an unbounded
queue.

Texts from many clients differ in length, and a graph run pads every text to its longest. On
CPU the cost follows the padded tokens, so one run of 32 STS-B sentences drawn at random cost
4.2 ms of CPU per sentence (MiniLM depth 6, one thread), where the same 32 run as four
length-sorted runs of 8 cost 2.1 ms. A GPU takes a whole batch best: there it stays one run.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from ese.runtime import Embedder
from ese.runtime.backends.providers import CPU
from ese.runtime.encode import sliced_unit
from ese.serving.api.errors import Refusal, RequestRefused
from ese.serving.api.metrics import ApiMetrics

LOG = logging.getLogger(__name__)


@dataclass
class EncodeJob:
    """One request's texts, its width and normalisation, and where its vectors go."""

    texts: list[str]
    dims: int
    normalize: bool
    queued_at: float = field(default_factory=time.monotonic)
    result: Future[np.ndarray] = field(default_factory=Future)


_STOP = object()
CPU_RUN_TEXTS = 8


def run_texts(embedder: Embedder, max_batch_size: int) -> int:
    """Texts per graph run: ``CPU_RUN_TEXTS`` on CPU (length-sorted runs pad less), else all."""
    on_cpu = embedder.providers[0] == CPU
    return min(CPU_RUN_TEXTS, max_batch_size) if on_cpu else max_batch_size


class EncodeBatcher:
    """Worker threads that batch queued :class:`EncodeJob` s; ``submit`` from any thread."""

    def __init__(
        self,
        embedder: Embedder,
        metrics: ApiMetrics,
        *,
        max_batch_size: int,
        max_queue_delay_us: int,
        max_pending_texts: int,
        workers: int = 1,
    ) -> None:
        self.embedder = embedder
        self.metrics = metrics
        self.max_batch_size = max_batch_size
        self.max_delay_s = max_queue_delay_us / 1e6
        self.width = embedder.max_dims
        self.run_texts = run_texts(embedder, max_batch_size)
        self._queue: queue.Queue[object] = queue.Queue()
        self._lock = threading.Lock()
        self._stopped = False
        self.max_pending_texts = max_pending_texts
        self._pending = 0  # texts queued or being encoded
        self._threads = [
            threading.Thread(target=self._work, name=f"ese-api-batcher-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, texts: list[str], dims: int, normalize: bool) -> Future[np.ndarray]:
        """Queue one request's texts; the future holds float32 [len(texts), dims]."""
        job = EncodeJob(texts, dims, normalize)
        with self._lock:
            if self._stopped:
                raise RequestRefused(Refusal.OVERLOADED, "the server is stopping; retry later")
            if self._pending + len(texts) > self.max_pending_texts:
                raise RequestRefused(
                    Refusal.OVERLOADED,
                    f"the server is busy ({self._pending} texts waiting or encoding, at most "
                    f"{self.max_pending_texts} with this request's {len(texts)}); retry later",
                )
            self._pending += len(texts)
            self._queue.put(job)
        return job.result

    def is_alive(self) -> bool:
        return not self._stopped and all(t.is_alive() for t in self._threads)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the queued jobs, then end the workers; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            for _ in self._threads:
                self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout_s)

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, EncodeJob)
            jobs, stop = self._gather(first)
            self._run(jobs)
            if stop:
                return

    def _gather(self, first: EncodeJob) -> tuple[list[EncodeJob], bool]:
        """The first job and those that come within the delay, up to the batch size."""
        jobs = [first]
        count = len(first.texts)
        deadline = time.monotonic() + self.max_delay_s
        while count < self.max_batch_size:
            remaining = deadline - time.monotonic()
            try:
                if remaining > 0:
                    job = self._queue.get(timeout=remaining)
                else:
                    job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                return jobs, True
            assert isinstance(job, EncodeJob)
            jobs.append(job)
            count += len(job.texts)
        return jobs, False

    def _run(self, jobs: list[EncodeJob]) -> None:
        texts = [text for job in jobs for text in job.texts]
        try:
            self._encode_into(jobs, texts)
        finally:
            with self._lock:
                self._pending -= len(texts)

    def _encode_into(self, jobs: list[EncodeJob], texts: list[str]) -> None:
        started = time.monotonic()
        try:
            raw = self.embedder.encode(
                texts,
                batch_size=max(1, min(len(texts), self.run_texts)),
                normalize_embeddings=False,
                dims=self.width,
            )
        except Exception as exc:  # every request of the run gets it; the worker goes on
            LOG.exception("a batched encode of %d texts failed", len(texts))
            for job in jobs:
                job.result.set_exception(exc)
            return
        finished = time.monotonic()
        waits = [started - job.queued_at for job in jobs]
        self.metrics.graph_run(len(texts), waits, finished - started)
        start = 0
        for job in jobs:
            rows = raw[start : start + len(job.texts)]
            start += len(job.texts)
            out = sliced_unit(rows, job.dims) if job.normalize else rows[:, : job.dims].copy()
            job.result.set_result(np.ascontiguousarray(out, dtype=np.float32))
