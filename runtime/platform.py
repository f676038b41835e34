"""This machine as the runtime sees it: for the tools that measure, name and build on it.

``ese-bench``, ``ese-engines`` and the exporter's memory hygiene need what the runtime itself
uses to name a device (``profiles/<device-id>.json``, ``engines/<gpu>-trt<ver>/``), to pick
execution providers and to measure one graph at one shape, so that their figures are the
runtime's own. This module is their one door to those pieces (an import-linter contract in
pyproject.toml keeps the runtime's other modules private); the user API is ``ese.runtime``.
"""

from __future__ import annotations

from ese.runtime.backends.cuda_device import GpuInfo, cuda_driver, cuda_error_text, query_gpu
from ese.runtime.backends.providers import CPU, CUDA, OPENVINO, OPENVINO_BF16, short_name
from ese.runtime.backends.session import Threads
from ese.runtime.backends.tensorrt_provider import provider_options_for
from ese.runtime.choice.measure import synthetic_batch, warm_up
from ese.runtime.choice.shape_session import ShapeSession
from ese.runtime.device import (
    Device,
    cpu_flags,
    cpu_model,
    default_threads,
    gpu_name,
    has_bf16,
    slug,
    this_device,
)
from ese.runtime.memory import (
    MemoryProbe,
    peak_resident_mb,
    release_freed_memory,
    resident_mb,
    trim_heap,
)
from ese.runtime.openvino.imports import INSTALL_LINE as OPENVINO_INSTALL_LINE
from ese.runtime.openvino.imports import openvino_available, openvino_version
from ese.runtime.openvino.runner import OpenVINORunner

__all__ = [
    "CPU",
    "CUDA",
    "OPENVINO",
    "OPENVINO_BF16",
    "OPENVINO_INSTALL_LINE",
    "Device",
    "GpuInfo",
    "MemoryProbe",
    "OpenVINORunner",
    "ShapeSession",
    "Threads",
    "cpu_flags",
    "cpu_model",
    "cuda_driver",
    "cuda_error_text",
    "default_threads",
    "gpu_name",
    "has_bf16",
    "openvino_available",
    "openvino_version",
    "peak_resident_mb",
    "provider_options_for",
    "query_gpu",
    "release_freed_memory",
    "resident_mb",
    "short_name",
    "slug",
    "synthetic_batch",
    "this_device",
    "trim_heap",
    "warm_up",
]
