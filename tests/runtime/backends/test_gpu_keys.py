"""GPU profile ids and ONNX Runtime's TensorRT cache folders are keyed like engine sidecars.

Jetson Orin AGX, NX and Nano all report the name ``Orin`` and compute capability 8.7; their
multiprocessor counts and memory tell them apart (as ``engines/`` sidecars record them).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ese.format.contract import Precision
from ese.format.export_dir import open_export
from ese.runtime.backends.cuda_device import GpuInfo
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.backends.onnxruntime.tensorrt_provider import gpu_folder_name, provider_options_for
from ese.runtime.backends.providers import CPU, CUDA, TENSORRT
from ese.runtime.device import device_id

GIB = 1 << 30
AGX_ORIN_64 = GpuInfo("Orin", "8.7", 61 * GIB, 16)
ORIN_NX_16 = GpuInfo("Orin", "8.7", 15 * GIB, 8)
ORIN_NANO_8 = GpuInfo("Orin", "8.7", 7 * GIB, 8)
ORINS = (AGX_ORIN_64, ORIN_NX_16, ORIN_NANO_8)


def test_orin_modules_never_share_a_profile_id() -> None:
    ids = {device_id(CUDA, gpu.hardware, 1, "fp16") for gpu in ORINS}
    assert len(ids) == 3
    assert device_id(CUDA, AGX_ORIN_64.hardware, 1, "fp16") == "orin-16sm-61gib-cuda-fp16"


def test_orin_modules_never_share_an_ort_tensorrt_cache() -> None:
    names = {gpu_folder_name(gpu=gpu) for gpu in ORINS}
    assert len(names) == 3 and "orin-8sm-15gib-ort-trt" in names


def test_measurement_sessions_get_the_embedders_tensorrt_options(
    tiny_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The brief measurement opens its sessions with the options the Embedder uses: ONNX
    Runtime's one opener, asked through the registry."""
    from ese.runtime.backends.onnxruntime import backend as onnxruntime_backend
    from ese.runtime.choice.device_measurement import measure_device
    from ese.runtime.device import this_device

    root = tmp_path / "export"
    shutil.copytree(tiny_export, root)
    export = open_export(root)
    graph = export.manifest.graph(1)
    uses = export.manifest.source.uses_token_type_ids
    wanted = provider_options_for(root, graph, [TENSORRT, CPU], uses_token_type_ids=uses)
    assert wanted[TENSORRT]["trt_engine_cache_enable"] == "True"
    assert wanted[TENSORRT]["trt_profile_max_shapes"].startswith("input_ids:32x256")
    assert provider_options_for(root, graph, [CUDA, CPU], uses_token_type_ids=uses) == {}

    seen: list[object] = []
    real = onnxruntime_backend.GraphRunner

    def recording(path: Path, providers: object, threads: Threads, **kwargs: object) -> object:
        seen.append(kwargs.pop("provider_options", None))
        return real(path, [CPU], threads, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(onnxruntime_backend, "GraphRunner", recording)
    measure_device(
        export,
        [graph],
        this_device(CPU, 1),
        batch_size=1,
        seq_len=8,
        providers=[TENSORRT, CPU],
        threads=Threads(intra_op=1),
        vocab_size=100,
        seconds=0.01,
    )
    assert seen and all(options == wanted for options in seen), seen
    assert graph.precision is Precision.FP32
