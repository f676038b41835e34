"""The API's Prometheus metrics, kept in-process and written in the text exposition format.

Counters of requests (by route) and refusals (by kind), and histograms of the texts per graph
run, the time requests wait in the batching queue and the time each graph run takes.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

PREFIX = "ese_api"
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Histogram:
    """Cumulative buckets, a sum and a count (Prometheus' histogram); not locked itself."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * len(self.bounds)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[index] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str) -> list[str]:
        pairs = zip(self.bounds, self.counts, strict=True)
        out = [f'{name}_bucket{{le="{_number(b)}"}} {c}' for b, c in pairs]
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out.append(f"{name}_sum {_number(self.total)}")
        out.append(f"{name}_count {self.count}")
        return out


class ApiMetrics:
    """Everything ``GET /metrics`` reports; every method is safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.texts = 0
        self.truncated = 0
        self.batch_size = Histogram(BATCH_BUCKETS)
        self.queue_seconds = Histogram(SECONDS_BUCKETS)
        self.encode_seconds = Histogram(SECONDS_BUCKETS)

    def request(self, route: str) -> None:
        with self._lock:
            self.requests[route] += 1

    def error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] += 1

    def inputs(self, texts: int, truncated: int) -> None:
        with self._lock:
            self.texts += texts
            self.truncated += truncated

    def graph_run(self, texts: int, queue_waits: Sequence[float], encode_seconds: float) -> None:
        with self._lock:
            self.batch_size.observe(texts)
            for wait in queue_waits:
                self.queue_seconds.observe(wait)
            self.encode_seconds.observe(encode_seconds)

    def text(self) -> str:
        """The metrics in Prometheus' text exposition format (version 0.0.4)."""
        with self._lock:
            lines = [
                f"# HELP {PREFIX}_requests_total API requests received, by route.",
                f"# TYPE {PREFIX}_requests_total counter",
                *(
                    f'{PREFIX}_requests_total{{route="{r}"}} {n}'
                    for r, n in sorted(self.requests.items())
                ),
                f"# HELP {PREFIX}_errors_total API requests refused, by kind.",
                f"# TYPE {PREFIX}_errors_total counter",
                *(
                    f'{PREFIX}_errors_total{{kind="{k}"}} {n}'
                    for k, n in sorted(self.errors.items())
                ),
                f"# HELP {PREFIX}_texts_total Texts embedded.",
                f"# TYPE {PREFIX}_texts_total counter",
                f"{PREFIX}_texts_total {self.texts}",
                f"# HELP {PREFIX}_truncated_texts_total Texts cut at the model's maximum length.",
                f"# TYPE {PREFIX}_truncated_texts_total counter",
                f"{PREFIX}_truncated_texts_total {self.truncated}",
                f"# HELP {PREFIX}_batch_size Texts per graph run (requests batched together).",
                f"# TYPE {PREFIX}_batch_size histogram",
                *self.batch_size.lines(f"{PREFIX}_batch_size"),
                f"# HELP {PREFIX}_queue_seconds Time a request waited to be batched.",
                f"# TYPE {PREFIX}_queue_seconds histogram",
                *self.queue_seconds.lines(f"{PREFIX}_queue_seconds"),
                f"# HELP {PREFIX}_encode_seconds Time of one batched encode (tokenise and run).",
                f"# TYPE {PREFIX}_encode_seconds histogram",
                *self.encode_seconds.lines(f"{PREFIX}_encode_seconds"),
            ]
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)
