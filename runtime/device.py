"""Which device this is: the id that names its profile (``profiles/<device-id>.json``).

CPU providers: CPU model + intra-op threads + provider (``amd-epyc-2t-cpu``). GPU providers:
GPU name, multiprocessors and memory + provider + precision
(``nvidia-h100-80gb-hbm3-132sm-79gib-cuda-fp16``; ``orin-16sm-61gib-cuda-fp16`` on an AGX Orin
64GB, never shared with an Orin NX or Nano). ``ese-bench profile``
and the runtime's own brief measurement both name profiles with :func:`device_id`, so each
finds what the other wrote.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from typing import Any

from ese.format.contract import Precision
from ese.runtime.backends.providers import on_cpu, short_name
from ese.runtime.machine import cpu_model, default_threads, gpu_hardware, slug


@dataclass(frozen=True)
class Device:
    """What the runtime runs on: a provider, its hardware and thread count."""

    provider: str
    hardware: str
    threads: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_gpu(self) -> bool:
        return not on_cpu(self.provider)

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
    if on_cpu(provider):
        parts = [slug(hardware), f"{threads}t", short_name(provider)]
    else:
        parts = [slug(hardware), slug(short_name(provider)), Precision(precision).value]
    return "-".join(p for p in parts if p)


def this_device(provider: str, threads: int | None = None) -> Device:
    """Describe this machine for ``provider`` (the GPU name only for GPU providers)."""
    threads = threads or default_threads()
    if on_cpu(provider):
        return Device(provider=provider, hardware=cpu_model(), threads=threads)
    return Device(provider=provider, hardware=gpu_hardware(), threads=threads)
