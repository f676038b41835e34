"""Execution providers: explicit lists win, auto prefers TensorRT > CUDA > CPU, fallback warns."""

from __future__ import annotations

import pytest

from ese.runtime.backends.providers import CPU, CUDA, TENSORRT, check_active, resolve
from ese.runtime.device import device_id
from ese.runtime.errors import ProviderError, ProviderFallbackWarning
from ese.runtime.machine import slug

CPU_ONLY = ["AzureExecutionProvider", CPU]
GPU_BOX = [TENSORRT, CUDA, CPU]


@pytest.mark.parametrize(
    ("spec", "have", "expected"),
    [
        (None, CPU_ONLY, [CPU]),
        ("auto", CPU_ONLY, [CPU]),
        ("AUTO", GPU_BOX, [TENSORRT, CUDA, CPU]),
        (None, [CUDA, CPU], [CUDA, CPU]),
        ("cpu", GPU_BOX, [CPU]),
        (["cuda", "cpu"], GPU_BOX, [CUDA, CPU]),
        (["trt", "CUDAExecutionProvider"], GPU_BOX, [TENSORRT, CUDA]),
        (["cpu", "cpu"], CPU_ONLY, [CPU]),
        (["AzureExecutionProvider"], CPU_ONLY, ["AzureExecutionProvider"]),
    ],
)
def test_resolve(spec: object, have: list[str], expected: list[str]) -> None:
    got = resolve(spec, have=have, tensorrt_library=True)  # type: ignore[arg-type]
    assert got == expected


def test_auto_ranks_tensorrt_only_where_libnvinfer_loads() -> None:
    """Every PyPI onnxruntime-gpu lists TensorRT; without libnvinfer it must not come first."""
    assert resolve("auto", have=GPU_BOX, tensorrt_library=False) == [CUDA, CPU]
    assert resolve(None, have=[TENSORRT, CPU], tensorrt_library=False) == [CPU]
    # Named explicitly, TensorRT is still asked for (and refused at session start if absent).
    assert resolve("tensorrt", have=GPU_BOX, tensorrt_library=False) == [TENSORRT]


def test_libnvinfer_is_tried_by_its_sonames() -> None:
    from ese.runtime.backends.onnxruntime.provider_libraries import tensorrt_loads

    tried: list[str] = []

    def loader(name: str) -> object:
        tried.append(name)
        if name == "libnvinfer.so.11":
            return object()
        raise OSError(f"{name}: cannot open shared object file")

    assert tensorrt_loads(loader)
    assert tried[:2] == ["libnvinfer.so.10", "libnvinfer.so.11"]
    assert not tensorrt_loads(lambda name: (_ for _ in ()).throw(OSError(name)))


def test_unavailable_entries_are_skipped_with_a_warning() -> None:
    with pytest.warns(ProviderFallbackWarning, match="TensorrtExecutionProvider.*skipped"):
        assert resolve(["tensorrt", "cuda", "cpu"], have=CPU_ONLY) == [CPU]


def test_nothing_available_lists_what_is() -> None:
    with pytest.raises(ProviderError, match=r"none of the providers.*available: .*CPUExecution"):
        resolve("cuda", have=CPU_ONLY)


@pytest.mark.parametrize("spec", ["foo", ["cpu", "nvidia"], [3], []])
def test_unknown_provider_lists_the_available_ones(spec: object) -> None:
    with pytest.raises(ProviderError) as info:
        resolve(spec, have=CPU_ONLY)  # type: ignore[arg-type]
    assert "CPUExecutionProvider (cpu)" in str(info.value) or "auto" in str(info.value)


def test_auto_cannot_be_mixed() -> None:
    with pytest.raises(ProviderError, match="cannot be mixed"):
        resolve(["auto", "cpu"], have=CPU_ONLY)


def _without(missing: str) -> object:
    def loader(name: str) -> object:
        if name.startswith(missing):
            raise OSError(f"{name}: cannot open shared object file")
        return object()

    return loader


def test_silent_fallback_is_a_provider_error_naming_the_missing_library(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import onnxruntime as ort

    # As on a GPU build: the providers are listed, their libraries may not load.
    monkeypatch.setattr(ort, "get_available_providers", lambda: GPU_BOX)
    with pytest.raises(ProviderError, match=r"asked for CUDAExecutionProvider.*libcudnn\.so\.9"):
        check_active([CUDA, CPU], [CPU], loader=_without("libcudnn"))  # type: ignore[arg-type]
    with pytest.raises(ProviderError, match=r"TensorrtExecutionProvider.*libnvinfer\.so\.10"):
        check_active([TENSORRT, CUDA, CPU], [CUDA, CPU], loader=_without("libnvinfer"))  # type: ignore[arg-type]
    with pytest.raises(ProviderError, match="probably of another version"):
        check_active([CUDA, CPU], [CPU], loader=lambda name: object())


def test_active_as_requested_is_quiet(recwarn: pytest.WarningsRecorder) -> None:
    assert check_active([CPU], [CPU]) == CPU
    assert not recwarn.list


def test_device_ids() -> None:
    assert device_id(CPU, "AMD EPYC 7B13 64-Core Processor", 2) == "amd-epyc-7b13-64-core-2t-cpu"
    assert device_id(CPU, "Intel(R) Xeon(R) CPU @ 2.20GHz", 8) == "intel-xeon-2-20ghz-8t-cpu"
    assert device_id(CUDA, "NVIDIA H100 80GB HBM3", 16, "fp16") == "nvidia-h100-80gb-hbm3-cuda-fp16"
    assert device_id(TENSORRT, "Orin", 6) == "orin-tensorrt-fp32"
    assert slug("") == "unknown"


def test_provider_options_go_with_their_provider_only() -> None:
    from ese.runtime.backends.onnxruntime.session import with_options
    from ese.runtime.backends.onnxruntime.tensorrt_provider import TENSORRT

    options = {TENSORRT: {"trt_fp16_enable": "True"}}
    assert with_options(["CPUExecutionProvider"], options) == ["CPUExecutionProvider"]
    assert with_options([TENSORRT, "CPUExecutionProvider"], options) == [
        (TENSORRT, {"trt_fp16_enable": "True"}),
        "CPUExecutionProvider",
    ]


def test_tensorrt_options_cache_engines_inside_the_export(tmp_path) -> None:
    from ese.runtime.backends.onnxruntime.tensorrt_provider import tensorrt_options

    options = tensorrt_options(tmp_path, "fp16", uses_token_type_ids=True, graph_sha256="0" * 64)
    assert options["trt_fp16_enable"] == "True"
    assert options["trt_engine_cache_enable"] == "True"
    cache = options["trt_engine_cache_path"]
    assert cache.startswith(str(tmp_path / "engines")) and (tmp_path / "engines").is_dir()
    assert "token_type_ids:32x256" in options["trt_profile_max_shapes"]
