"""The export format: the graph contract, the manifest, the export directory and device profiles.

The one layer the exporter writes and the runtime reads, and the only runtime module besides
``ese.runtime``, ``ese.runtime.cli`` and ``ese.runtime.errors`` that other ese packages import
(an import-linter contract in pyproject.toml enforces it). Its submodules are private.

Besides the files themselves it holds what names and fills ``profiles/`` and ``engines/``:
the device a profile or engine belongs to (``this_device``, ``slug``, the provider names in
device ids, the GPU from the CUDA driver), and how a profile entry is measured (the synthetic
inputs, one session at one shape with its memory probed, the warm-up), so that ``ese-bench
profile`` writes the same figures the runtime's own brief measurement does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ese.runtime.format.contract import (
    ATTENTION_MASK,
    BATCH_AXIS,
    ENGINES_DIR,
    GRAPHS_DIR,
    INPUT_IDS,
    OUTPUT,
    PROFILES_DIR,
    REPORTS_DIR,
    TOKEN_TYPE_IDS,
    TOKENIZER_DIR,
    TOKENIZER_FILE,
    Pooling,
    Precision,
    Projection,
    dynamic_axes,
    graph_file,
    input_names,
)
from ese.runtime.format.export_dir import ExportDir, open_export, resolve_inside
from ese.runtime.format.files import file_entry
from ese.runtime.format.json_fields import Field
from ese.runtime.format.manifest import (
    DepthProjection,
    FileEntry,
    GraphEntry,
    Manifest,
    Parity,
    ProjectionInfo,
    QualityProbe,
    SourceModel,
    read_manifest,
    write_json_atomic,
    write_manifest,
)
from ese.runtime.format.profile import DeviceProfile, ProfileEntry, profile_path, write_profile
from ese.runtime.format.profile_lock import profiles_locked

if TYPE_CHECKING:  # read on first use (__getattr__ below): their modules import the format
    from ese.runtime.backends.cuda_device import GpuInfo, cuda_driver, cuda_error_text, query_gpu
    from ese.runtime.backends.providers import CPU, CUDA, OPENVINO, OPENVINO_BF16, short_name
    from ese.runtime.backends.session import Threads
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
    from ese.runtime.memory import MemoryProbe, release_freed_memory, resident_mb
    from ese.runtime.openvino.imports import INSTALL_LINE as OPENVINO_INSTALL_LINE
    from ese.runtime.openvino.imports import openvino_available, openvino_version
    from ese.runtime.openvino.runner import OpenVINORunner

# Defined above the format (they import its submodules), so read on first use (PEP 562).
_ELSEWHERE = {
    "CPU": ("ese.runtime.backends.providers", "CPU"),
    "CUDA": ("ese.runtime.backends.providers", "CUDA"),
    "Device": ("ese.runtime.device", "Device"),
    "GpuInfo": ("ese.runtime.backends.cuda_device", "GpuInfo"),
    "MemoryProbe": ("ese.runtime.memory", "MemoryProbe"),
    "OPENVINO": ("ese.runtime.backends.providers", "OPENVINO"),
    "OPENVINO_BF16": ("ese.runtime.backends.providers", "OPENVINO_BF16"),
    "OPENVINO_INSTALL_LINE": ("ese.runtime.openvino.imports", "INSTALL_LINE"),
    "OpenVINORunner": ("ese.runtime.openvino.runner", "OpenVINORunner"),
    "ShapeSession": ("ese.runtime.choice.shape_session", "ShapeSession"),
    "Threads": ("ese.runtime.backends.session", "Threads"),
    "cpu_flags": ("ese.runtime.device", "cpu_flags"),
    "cpu_model": ("ese.runtime.device", "cpu_model"),
    "cuda_driver": ("ese.runtime.backends.cuda_device", "cuda_driver"),
    "cuda_error_text": ("ese.runtime.backends.cuda_device", "cuda_error_text"),
    "default_threads": ("ese.runtime.device", "default_threads"),
    "gpu_name": ("ese.runtime.device", "gpu_name"),
    "has_bf16": ("ese.runtime.device", "has_bf16"),
    "openvino_available": ("ese.runtime.openvino.imports", "openvino_available"),
    "openvino_version": ("ese.runtime.openvino.imports", "openvino_version"),
    "query_gpu": ("ese.runtime.backends.cuda_device", "query_gpu"),
    "release_freed_memory": ("ese.runtime.memory", "release_freed_memory"),
    "resident_mb": ("ese.runtime.memory", "resident_mb"),
    "short_name": ("ese.runtime.backends.providers", "short_name"),
    "slug": ("ese.runtime.device", "slug"),
    "synthetic_batch": ("ese.runtime.choice.measure", "synthetic_batch"),
    "this_device": ("ese.runtime.device", "this_device"),
    "warm_up": ("ese.runtime.choice.measure", "warm_up"),
}


def __getattr__(name: str) -> Any:
    if name not in _ELSEWHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _ELSEWHERE[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


__all__ = [
    "ATTENTION_MASK",
    "BATCH_AXIS",
    "CPU",
    "CUDA",
    "ENGINES_DIR",
    "GRAPHS_DIR",
    "INPUT_IDS",
    "OPENVINO",
    "OPENVINO_BF16",
    "OPENVINO_INSTALL_LINE",
    "OUTPUT",
    "PROFILES_DIR",
    "REPORTS_DIR",
    "TOKENIZER_DIR",
    "TOKENIZER_FILE",
    "TOKEN_TYPE_IDS",
    "DepthProjection",
    "Device",
    "DeviceProfile",
    "ExportDir",
    "Field",
    "FileEntry",
    "GpuInfo",
    "GraphEntry",
    "Manifest",
    "MemoryProbe",
    "OpenVINORunner",
    "Parity",
    "Pooling",
    "Precision",
    "ProfileEntry",
    "Projection",
    "ProjectionInfo",
    "QualityProbe",
    "ShapeSession",
    "SourceModel",
    "Threads",
    "cpu_flags",
    "cpu_model",
    "cuda_driver",
    "cuda_error_text",
    "default_threads",
    "dynamic_axes",
    "file_entry",
    "gpu_name",
    "graph_file",
    "has_bf16",
    "input_names",
    "open_export",
    "openvino_available",
    "openvino_version",
    "profile_path",
    "profiles_locked",
    "query_gpu",
    "read_manifest",
    "release_freed_memory",
    "resident_mb",
    "resolve_inside",
    "short_name",
    "slug",
    "synthetic_batch",
    "this_device",
    "warm_up",
    "write_json_atomic",
    "write_manifest",
    "write_profile",
]
