"""What this machine is: its CPU model and features, its GPU, the threads it gives this process.

Nothing here knows a backend: the device ids of profiles (:mod:`.device`), the backends' CPU
feature checks and the caches keyed by hardware all read it.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from functools import lru_cache

from ese.format.errors import EseError
from ese.runtime.backends.cuda_device import query_gpu


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
