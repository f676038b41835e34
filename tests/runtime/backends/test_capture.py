"""Whether buckets are captured as CUDA graphs: decided from injected facts (placement, versions).

The decision is the pure function GraphRunner applies after its plain placement run; CUDA
itself is needed only for the capture (tests marked ``gpu`` in test_cuda_path.py).
"""

from __future__ import annotations

import pytest

from ese.runtime.backends.onnxruntime.capture import Capture, decide_capture, version_tuple
from ese.runtime.backends.onnxruntime.placement import NodePlacement, placement_from_events
from ese.runtime.backends.providers import CPU, CUDA, TENSORRT


def _event(node: str, provider: str, op: str, out_type: str) -> dict[str, object]:
    return {
        "cat": "Node",
        "name": f"{node}_kernel_time",
        "args": {"provider": provider, "op_name": op, "output_type_shape": [{out_type: [1, 8]}]},
    }


ON_CUDA = placement_from_events(
    [_event("/Shape", CPU, "Shape", "int64"), _event("/MatMul", CUDA, "MatMul", "float16")]
)
ERF_ON_CPU = placement_from_events(
    [_event("/MatMul", CUDA, "MatMul", "float16"), _event("/Erf", CPU, "Erf", "float")]
)


def _decide(
    placement: NodePlacement | None = ON_CUDA, version: str = "1.20.1", provider: str = CUDA
) -> Capture:
    return decide_capture(
        provider,
        placement,
        version,
        buckets=True,
        width_known=True,
    )


def test_capture_only_after_every_compute_node_ran_on_cuda() -> None:
    assert _decide().on
    fallen = _decide(ERF_ON_CPU)
    assert not fallen.on and "/Erf" in fallen.reason
    unchecked = _decide(None)
    assert not unchecked.on and "placement was not checked" in unchecked.reason


@pytest.mark.parametrize("version", ["1.17.3", "1.16.0", "0.9", "nightly"])
def test_capture_is_refused_below_onnxruntime_1_18(version: str) -> None:
    decision = _decide(version=version)
    assert not decision.on and "1.18" in decision.reason


@pytest.mark.parametrize("version", ["1.18.0", "1.18.1", "1.19.0.dev20240501", "2.0.0"])
def test_capture_from_onnxruntime_1_18(version: str) -> None:
    assert _decide(version=version).on


def test_capture_needs_cuda_buckets_and_a_fixed_width() -> None:
    assert not _decide(provider=TENSORRT).on
    assert not _decide(provider=CPU).on
    assert not decide_capture(CUDA, ON_CUDA, "1.20.0", buckets=False, width_known=True).on
    assert not decide_capture(CUDA, ON_CUDA, "1.20.0", buckets=True, width_known=False).on
    assert version_tuple("1.18.0rc1") == (1, 18) and version_tuple("x") is None
