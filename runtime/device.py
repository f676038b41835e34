"""Which device this is: the id that names its profile (``profiles/<device-id>.json``).

CPU providers: CPU model + intra-op threads + provider (``amd-epyc-2t-cpu``). GPU providers:
GPU name, multiprocessors and memory + provider + precision
(``nvidia-h100-80gb-hbm3-132sm-79gib-cuda-fp16``; ``orin-16sm-61gib-cuda-fp16`` on an AGX Orin
64GB, never shared with an Orin NX or Nano). ``ese-bench profile``
and the runtime's own brief measurement both name profiles with :func:`device_id`, so each
finds what the other wrote.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ese.format.contract import Precision
from ese.format.errors import EseError
from ese.runtime.backends.cuda_device import query_gpu
from ese.runtime.backends.providers import ON_CPU, short_name


@dataclass(frozen=True)
class Device:
    """What the runtime runs on: a provider, its hardware and thread count."""

    provider: str
    hardware: str
    threads: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_gpu(self) -> bool:
        return self.provider not in ON_CPU

    def device_id(self, precision: Precision | str = Precision.FP32) -> str:
        return device_id(self.provider, self.hardware, self.threads, precision)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "hardware": self.hardware,
            "threads": self.threads,
            "platform": platform.platform(),
            "machine": platform.machine(),
            **self.extra,
        }


def device_id(
    provider: str, hardware: str, threads: int, precision: Precision | str = Precision.FP32
) -> str:
    """A file-name-safe id: CPU model + threads + provider, or GPU + provider + precision."""
    if provider in ON_CPU:
        parts = [slug(hardware), f"{threads}t", short_name(provider)]
    else:
        parts = [slug(hardware), slug(short_name(provider)), Precision(precision).value]
    return "-".join(p for p in parts if p)


def slug(text: str) -> str:
    """Lower-case, runs of anything but letters and digits become one dash."""
    cleaned = re.sub(r"\(r\)|\(tm\)|\bcpu\b|\bprocessor\b", " ", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", cleaned).strip("-")[:60] or "unknown"


def default_threads() -> int:
    """The CPU threads this process may use (its affinity mask, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def this_device(provider: str, threads: int | None = None) -> Device:
    """Describe this machine for ``provider`` (the GPU name only for GPU providers)."""
    threads = threads or default_threads()
    if provider in ON_CPU:
        return Device(provider=provider, hardware=cpu_model(), threads=threads)
    return Device(provider=provider, hardware=gpu_hardware(), threads=threads)


@lru_cache(maxsize=1)
def gpu_hardware() -> str:
    """The first GPU as profile ids key it: name, multiprocessor count and memory
    (:attr:`GpuInfo.hardware`; Jetson Orin AGX, NX and Nano all report the name ``Orin``),
    else its name alone where the CUDA driver cannot be asked (no GPU provider runs there)."""
    try:
        return query_gpu(0).hardware
    except EseError:
        return gpu_name()


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo, sysctl or platform, in that order."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    if platform.system() == "Darwin":
        found = _command(["sysctl", "-n", "machdep.cpu.brand_string"])
        if found:
            return found
    return platform.processor() or platform.machine() or "unknown-cpu"


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def has_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU runs bfloat16 natively: AMX tiles or AVX-512 BF16."""
    flags = cpu_flags() if flags is None else flags
    return bool({"amx_bf16", "avx512_bf16"} & flags)


@lru_cache(maxsize=1)
def gpu_name() -> str:
    """The first GPU's name from the CUDA driver (the name engine keys and ONNX Runtime's
    TensorRT cache folder use), else nvidia-smi, else the Jetson model, else ``unknown-gpu``."""
    try:
        return query_gpu(0).name
    except EseError:
        pass
    if shutil.which("nvidia-smi"):
        found = _command(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"])
        if found:
            return found.splitlines()[0].strip()
    try:
        with open("/proc/device-tree/model", encoding="utf-8", errors="replace") as f:
            return f.read().strip("\x00 \n") or "unknown-gpu"
    except OSError:
        return "unknown-gpu"


def _command(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
