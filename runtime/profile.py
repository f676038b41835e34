"""Device profiles: measured latency and memory per graph and shape, on one device.

Written by ``ese-bench profile`` (or by the runtime's brief self-measurement) to
``DIR/profiles/<device-id>.json``; read by the budget selection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .contract import PROFILES_DIR, Precision
from .errors import ProfileError
from .manifest import write_json_atomic

PROFILE_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ProfileEntry:
    """One measured (graph, shape): latency percentiles, throughput and peak memory."""

    depth: int
    precision: Precision
    batch_size: int
    seq_len: int
    latency_ms_p50: float
    latency_ms_p90: float
    latency_ms_p99: float
    sentences_per_s: float
    tokens_per_s: float
    peak_memory_mb: float
    runs: int

    @property
    def key(self) -> tuple[int, Precision, int, int]:
        return (self.depth, self.precision, self.batch_size, self.seq_len)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProfileEntry:
        return cls(
            depth=int(data["depth"]),
            precision=Precision(data["precision"]),
            batch_size=int(data["batch_size"]),
            seq_len=int(data["seq_len"]),
            latency_ms_p50=float(data["latency_ms_p50"]),
            latency_ms_p90=float(data["latency_ms_p90"]),
            latency_ms_p99=float(data["latency_ms_p99"]),
            sentences_per_s=float(data["sentences_per_s"]),
            tokens_per_s=float(data["tokens_per_s"]),
            peak_memory_mb=float(data["peak_memory_mb"]),
            runs=int(data["runs"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "precision": self.precision.value,
            "batch_size": self.batch_size,
            "seq_len": self.seq_len,
            "latency_ms_p50": self.latency_ms_p50,
            "latency_ms_p90": self.latency_ms_p90,
            "latency_ms_p99": self.latency_ms_p99,
            "sentences_per_s": self.sentences_per_s,
            "tokens_per_s": self.tokens_per_s,
            "peak_memory_mb": self.peak_memory_mb,
            "runs": self.runs,
        }


@dataclass(frozen=True)
class DeviceProfile:
    """Every measurement of one device, keyed by its device id."""

    device_id: str
    device: Mapping[str, Any]
    entries: tuple[ProfileEntry, ...]
    measured_by: str
    created: str
    schema_version: int = PROFILE_SCHEMA_VERSION

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceProfile:
        if data.get("schema_version") != PROFILE_SCHEMA_VERSION:
            raise ProfileError(
                f"profile schema_version is {data.get('schema_version')!r}, this ese reads "
                f"{PROFILE_SCHEMA_VERSION}: measure again with `ese-bench profile`"
            )
        try:
            return cls(
                device_id=str(data["device_id"]),
                device=dict(data["device"]),
                entries=tuple(ProfileEntry.from_dict(e) for e in data["entries"]),
                measured_by=str(data.get("measured_by", "")),
                created=str(data.get("created", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileError(f"profile is malformed ({type(exc).__name__}: {exc})") from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "device_id": self.device_id,
            "device": dict(self.device),
            "measured_by": self.measured_by,
            "created": self.created,
            "entries": [e.to_dict() for e in self.entries],
        }


def profile_path(export_dir: Path, device_id: str) -> Path:
    return Path(export_dir) / PROFILES_DIR / f"{device_id}.json"


def write_profile(export_dir: Path, profile: DeviceProfile) -> Path:
    path = profile_path(export_dir, profile.device_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, profile.to_dict())
    return path
