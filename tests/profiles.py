"""Device profiles written as ese-bench writes them, with the latencies a test needs.

The selection is a pure function of the profiles, so a test that needs one backend to be the
fastest writes its figures here instead of timing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ese.format.contract import Precision
from ese.format.profile import DeviceProfile, ProfileEntry, write_profile
from ese.format.profile_gate import ParityGate
from ese.runtime.device import this_device


def write_latency_profile(
    export: Path,
    provider: str,
    latency_ms: float,
    *,
    batch_size: int,
    seq_len: int,
    depth: int = 2,
    gates: Sequence[ParityGate] = (),
) -> None:
    """The profile of ``provider`` on this machine (1 thread): one fp32 entry at ``depth``
    with ``latency_ms`` at every percentile, and ``gates``."""
    device = this_device(provider, 1)
    entry = ProfileEntry(
        depth=depth,
        precision=Precision.FP32,
        latency_ms_p50=latency_ms,
        latency_ms_p90=latency_ms,
        latency_ms_p99=latency_ms,
        sentences_per_s=1.0,
        tokens_per_s=1.0,
        peak_memory_mb=1.0,
        runs=50,
        batch_size=batch_size,
        seq_len=seq_len,
    )
    profile = DeviceProfile(
        device_id=device.device_id(),
        device=device.to_dict(),
        entries=(entry,),
        measured_by="ese-bench profile",
        created="2026-01-01T00:00:00+00:00",
        gates=tuple(gates),
    )
    write_profile(export, profile)
