"""Budget validation: every invalid value is a ValueError that names the field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ese.format.errors import BadInputError
from ese.runtime import Budget, UserError


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"latency_ms": 0}, "latency_ms=0 must be greater than 0"),
        ({"latency_ms": -1.5}, "latency_ms=-1.5"),
        ({"latency_ms": math.nan}, "must be finite"),
        ({"latency_ms": math.inf}, "must be finite"),
        ({"latency_ms": "5"}, "must be a number"),
        ({"latency_ms": True}, "must be a number"),
        ({"memory_mb": 0.0}, "memory_mb=0.0"),
        ({"batch_size": 0}, "batch_size=0 must be at least 1"),
        ({"batch_size": 2.5}, "batch_size=2.5 must be a whole number"),
        ({"seq_len": -3}, "seq_len=-3"),
        ({"seq_len": None}, "seq_len=None must be a whole number"),
        ({"max_dims": 0}, "max_dims=0"),
        ({"max_dims": 64.0}, "max_dims=64.0 must be a whole number"),
        ({"max_vector_bytes": 3}, "smaller than one float32 dimension"),
        ({"min_quality": math.nan}, "min_quality=nan must be finite"),
        ({"percentile": "p95"}, "percentile='p95' is not one of p50, p90, p99"),
        ({"quality_task": ""}, "quality_task"),
        ({"max_dims": True}, "max_dims=True must be a whole number"),
        ({"batch_size": np.bool_(True)}, "batch_size=True must be a whole number"),
        ({"seq_len": np.int64(0)}, "seq_len=0 must be at least 1"),
        ({"latency_ms": np.float32("nan")}, "must be finite"),
    ],
)
def test_invalid_values_raise_value_error(fields: dict[str, object], needle: str) -> None:
    with pytest.raises(ValueError) as info:
        Budget(**fields)  # type: ignore[arg-type]
    assert isinstance(info.value, BadInputError) and isinstance(info.value, UserError)
    assert needle in str(info.value)


def test_defaults_and_caps() -> None:
    b = Budget()
    assert (b.batch_size, b.seq_len, b.percentile) == (1, 128, "p90")
    assert not b.bounds_speed_or_memory and b.dims_cap is None
    assert b.describe() == "no bounds"
    assert Budget(max_dims=100, max_vector_bytes=256).dims_cap == 64
    assert Budget(max_vector_bytes=1030).dims_cap == 257
    assert Budget(memory_mb=10).bounds_speed_or_memory


def test_describe_names_every_bound() -> None:
    text = Budget(
        latency_ms=5, batch_size=8, seq_len=64, memory_mb=200, max_dims=128, min_quality=80
    ).describe()
    assert text == (
        "latency p90 <= 5 ms, memory <= 200 MB, at batch 8 x seq 64, dims <= 128, "
        "stsb quality >= 80"
    )


def test_budget_is_frozen_and_hashable() -> None:
    b = Budget(latency_ms=5)
    with pytest.raises(AttributeError):
        b.latency_ms = 6  # type: ignore[misc]
    assert hash(b) == hash(Budget(latency_ms=5))
    assert Budget(percentile="p50").to_dict()["percentile"] == "p50"


def test_numpy_numbers_are_accepted_and_stored_as_python_numbers() -> None:
    b = Budget(
        max_dims=np.int64(128),
        batch_size=np.int32(8),
        seq_len=np.uint16(64),
        max_vector_bytes=np.int64(1024),
        latency_ms=np.float32(5.0),
        memory_mb=np.int64(200),
    )
    assert (b.max_dims, b.batch_size, b.seq_len, b.max_vector_bytes) == (128, 8, 64, 1024)
    assert (b.latency_ms, b.memory_mb) == (5.0, 200)
    numbers = ("max_dims", "batch_size", "seq_len", "max_vector_bytes", "latency_ms", "memory_mb")
    assert all(type(getattr(b, f)) in (int, float) for f in numbers)
    assert b == Budget(
        max_dims=128, batch_size=8, seq_len=64, max_vector_bytes=1024, latency_ms=5.0, memory_mb=200
    )
