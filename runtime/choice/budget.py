"""What a device can afford: the bounds the runtime's choice of (depth, dims) must satisfy."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from enum import Enum

import numpy as np

from ese.format.errors import BadInputError

BYTES_PER_DIM = 4  # the runtime returns float32 vectors


class Percentile(str, Enum):
    """Which measured latency percentile a latency bound is held against."""

    P50 = "p50"
    P90 = "p90"
    P99 = "p99"


@dataclass(frozen=True)
class Budget:
    """Bounds on latency, memory, vector size and quality; every field is optional.

    ``latency_ms`` bounds the time of one ``batch_size`` x ``seq_len`` batch through the graph
    (the ``percentile`` of this device's measured latencies, p90 by default). ``memory_mb``
    bounds the measured memory of serving that graph at that shape (weights plus the session's
    working memory). ``max_dims`` and ``max_vector_bytes`` bound the vector a vector database
    stores (float32, 4 bytes per dimension). ``min_quality`` is a floor on the measured
    ``quality_task`` score (STS-B Spearman x 100 by default); a pair whose quality was never
    measured cannot meet a floor.

    ``batch_size`` and ``seq_len`` are the shape at which latency and memory are measured and
    compared; ``seq_len`` beyond the model's maximum is measured at the maximum (longer inputs
    are truncated anyway). Counts take any whole number (numpy's too) but not a bool; invalid
    values raise ``ValueError`` (``BadInputError``).
    """

    latency_ms: float | None = None
    batch_size: int = 1
    seq_len: int = 128
    memory_mb: float | None = None
    max_dims: int | None = None
    max_vector_bytes: int | None = None
    min_quality: float | None = None
    quality_task: str = "stsb"
    percentile: str = "p90"

    def __post_init__(self) -> None:
        for name in ("latency_ms", "memory_mb"):
            _check_positive_number(name, getattr(self, name))
        for name in ("batch_size", "seq_len"):
            _check_positive_int(name, getattr(self, name), optional=False)
        for name in ("max_dims", "max_vector_bytes"):
            _check_positive_int(name, getattr(self, name), optional=True)
        if self.max_vector_bytes is not None and self.max_vector_bytes < BYTES_PER_DIM:
            raise BadInputError(
                f"max_vector_bytes={self.max_vector_bytes} is smaller than one float32 "
                f"dimension ({BYTES_PER_DIM} bytes); give at least {BYTES_PER_DIM}"
            )
        if self.min_quality is not None:
            _check_number("min_quality", self.min_quality)
        if not isinstance(self.quality_task, str) or not self.quality_task:
            raise BadInputError(
                f"quality_task={_quote(self.quality_task)} must be a task name such as 'stsb'"
            )
        try:
            object.__setattr__(self, "percentile", Percentile(self.percentile).value)
        except ValueError:
            have = ", ".join(p.value for p in Percentile)
            raise BadInputError(
                f"percentile={_quote(self.percentile)} is not one of {have}"
            ) from None
        for name in (*_COUNTS, *_NUMBERS):  # numpy scalars are stored as Python numbers
            value = getattr(self, name)
            if value is not None:
                plain = int(value) if name in _COUNTS else _plain_number(value)
                object.__setattr__(self, name, plain)

    @property
    def latency_percentile(self) -> Percentile:
        return Percentile(self.percentile)

    @property
    def bounds_speed_or_memory(self) -> bool:
        """Whether the choice needs this device's measured latency or memory."""
        return self.latency_ms is not None or self.memory_mb is not None

    @property
    def dims_cap(self) -> int | None:
        """The widest vector both vector-size bounds allow, or None when neither is set."""
        caps = [c for c in (self.max_dims, self._dims_from_bytes()) if c is not None]
        return min(caps) if caps else None

    def _dims_from_bytes(self) -> int | None:
        if self.max_vector_bytes is None:
            return None
        return self.max_vector_bytes // BYTES_PER_DIM

    def describe(self) -> str:
        """The bounds that are set, in one line (for messages and ``--explain``)."""
        parts = []
        if self.latency_ms is not None:
            parts.append(f"latency {self.percentile} <= {self.latency_ms:g} ms")
        if self.memory_mb is not None:
            parts.append(f"memory <= {self.memory_mb:g} MB")
        if self.bounds_speed_or_memory:
            parts.append(f"at batch {self.batch_size} x seq {self.seq_len}")
        if self.max_dims is not None:
            parts.append(f"dims <= {self.max_dims}")
        if self.max_vector_bytes is not None:
            parts.append(f"vector <= {self.max_vector_bytes} bytes")
        if self.min_quality is not None:
            parts.append(f"{self.quality_task} quality >= {self.min_quality:g}")
        return ", ".join(parts) if parts else "no bounds"

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_COUNTS = ("batch_size", "seq_len", "max_dims", "max_vector_bytes")
_NUMBERS = ("latency_ms", "memory_mb", "min_quality")


def _plain_number(value: object) -> int | float:
    return value if isinstance(value, (int, float)) else float(value)  # type: ignore[arg-type]


def _quote(value: object) -> str:
    """``repr(value)``, short: a huge integer or a long list would flood the message."""
    if isinstance(value, int) and abs(value) >= 10**30:
        return "a huge number"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BadInputError(f"{name}={_quote(value)} must be a number")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite:
        raise BadInputError(f"{name}={_quote(value)} must be finite")


def _check_positive_number(name: str, value: object) -> None:
    if value is None:
        return
    _check_number(name, value)
    if value <= 0:  # type: ignore[operator]
        raise BadInputError(f"{name}={value!r} must be greater than 0 (or left out)")


def _check_positive_int(name: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise BadInputError(f"{name}={_quote(value)} must be a whole number")
    if value < 1:
        raise BadInputError(f"{name}={value} must be at least 1")
