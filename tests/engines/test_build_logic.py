"""What ese-engines does around TensorRT, run here without it.

TensorRT's builder config is stood in by a small class that follows its documented contract
(``IBuilderConfig.set_timing_cache`` returns False for a cache of another TensorRT or GPU, after
which ``get_timing_cache`` returns None). The code under test, ese.engines' own guard and write
order, is the real code. The CUDA context's handling is tested in
tests/runtime/native_tensorrt/test_cuda_driver.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ese.engines.build import BuiltPlan, timing_cache_into
from ese.engines.build_all import write_built
from ese.engines.errors import TimingCacheWarning
from ese.format.contract import Precision
from ese.runtime.backends.tensorrt.engine_key import EngineKey, read_sidecar
from ese.runtime.backends.tensorrt.shapes import ProfileShapes, ShapeRange

ROOT = Path(__file__).resolve().parents[2]


class TimingCacheConfig:
    """IBuilderConfig's timing-cache contract: a cache from elsewhere is refused."""

    def __init__(self, accepted: bytes) -> None:
        self.accepted = accepted
        self.cache: bytes | None = None

    def create_timing_cache(self, data: bytes) -> bytes:
        return bytes(data)

    def set_timing_cache(self, cache: bytes, ignore_mismatch: bool) -> bool:
        if ignore_mismatch or cache in (b"", self.accepted):
            self.cache = cache
            return True
        return False


def test_a_refused_timing_cache_is_replaced_by_a_fresh_one_with_a_warning(tmp_path: Path) -> None:
    config = TimingCacheConfig(accepted=b"this gpu")
    assert timing_cache_into(config, b"this gpu", tmp_path / "timing.cache")
    assert config.cache == b"this gpu"
    config = TimingCacheConfig(accepted=b"this gpu")
    with pytest.warns(TimingCacheWarning, match="another TensorRT version or GPU"):
        assert timing_cache_into(config, b"another gpu", tmp_path / "timing.cache")
    assert config.cache == b""  # a fresh cache: get_timing_cache() will not be None


def key() -> EngineKey:
    return EngineKey(
        gpu_name="Orin",
        compute_capability="8.7",
        multiprocessors=8,
        total_memory_gib=15,
        trt_version="10.3.0",
        precision=Precision.FP16,
        depth=4,
        shapes=ProfileShapes(ShapeRange(1, 8, 32), ShapeRange(1, 128, 256)),
        graph_sha256="c" * 64,
    )


def test_the_plan_and_sidecar_are_kept_when_the_timing_cache_cannot_be_written(
    tmp_path: Path,
) -> None:
    k = key()
    (tmp_path / k.directory / "timing.cache").mkdir(parents=True)  # unwritable as a file
    with pytest.warns(TimingCacheWarning, match="could not write the timing cache"):
        plan = write_built(tmp_path, k, BuiltPlan(b"plan", b"cache"), 1.0, "graphs/depth-04.onnx")
    assert plan.read_bytes() == b"plan"
    assert read_sidecar(tmp_path / k.sidecar) == k
    plan2 = write_built(tmp_path, k, BuiltPlan(b"plan2", None), 1.0, "graphs/depth-04.onnx")
    assert plan2.read_bytes() == b"plan2"
