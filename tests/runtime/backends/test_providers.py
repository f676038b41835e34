"""Execution providers: explicit lists win, auto prefers TensorRT > CUDA > CPU, fallback warns."""

from __future__ import annotations

import pytest

from ese.runtime import ProviderError, ProviderFallbackWarning
from ese.runtime.backends.providers import CPU, CUDA, TENSORRT, check_active, resolve
from ese.runtime.device import device_id, slug

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
    assert resolve(spec, have=have) == expected  # type: ignore[arg-type]


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


def test_silent_fallback_warns_and_says_what_runs() -> None:
    with pytest.warns(ProviderFallbackWarning, match="asked for CUDAExecutionProvider.*on CPU"):
        assert check_active([CUDA, CPU], [CPU]) == CPU


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
    from ese.runtime.backends.session import with_options
    from ese.runtime.backends.tensorrt_provider import TENSORRT

    options = {TENSORRT: {"trt_fp16_enable": "True"}}
    assert with_options(["CPUExecutionProvider"], options) == ["CPUExecutionProvider"]
    assert with_options([TENSORRT, "CPUExecutionProvider"], options) == [
        (TENSORRT, {"trt_fp16_enable": "True"}),
        "CPUExecutionProvider",
    ]


def test_tensorrt_options_cache_engines_inside_the_export(tmp_path) -> None:
    from ese.runtime.backends.tensorrt_provider import tensorrt_options

    options = tensorrt_options(tmp_path, "fp16", uses_token_type_ids=True, graph_sha256="0" * 64)
    assert options["trt_fp16_enable"] == "True"
    assert options["trt_engine_cache_enable"] == "True"
    cache = options["trt_engine_cache_path"]
    assert cache.startswith(str(tmp_path / "engines")) and (tmp_path / "engines").is_dir()
    assert "token_type_ids:32x256" in options["trt_profile_max_shapes"]
