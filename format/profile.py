"""Device profiles: measured latency and memory per graph and shape, on one device.

Written by ``ese-bench profile`` (or by the runtime's brief self-measurement) to
``DIR/profiles/<device-id>.json``; read by the budget selection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ese.format.confined import resolve_inside
from ese.format.contract import PROFILES_DIR, Precision
from ese.format.errors import ProfileError
from ese.format.json_fields import Field, shown
from ese.format.manifest import MAX_LAYERS, MAX_WIDTH, write_json_atomic
from ese.format.profile_gate import ParityGate, gates_from

# 2 added ``gates`` (quality gates measured on the device: OpenVINO bf16, profile_gate.py);
# a version-1 file is read as one without gates and written back as version 2.
PROFILE_SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
ADVICE = "delete the profile file and measure again (`ese-bench profile`, or let the runtime)"
MAX_BATCH = 1 << 20
MAX_RUNS = 1 << 40
_DEVICE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,199}")


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
    cuda_graph: bool = False  # served by a captured CUDA graph (a fixed-shape bucket)

    @property
    def key(self) -> tuple[int, Precision, int, int]:
        return (self.depth, self.precision, self.batch_size, self.seq_len)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Field) -> ProfileEntry:
        """One entry; every latency, rate and memory figure finite and not negative."""
        f = data if isinstance(data, Field) else _root(data)
        cuda_graph = f.get("cuda_graph")
        return cls(
            depth=f["depth"].as_int(1, MAX_LAYERS),
            precision=f["precision"].as_enum(Precision),
            batch_size=f["batch_size"].as_int(1, MAX_BATCH),
            seq_len=f["seq_len"].as_int(1, MAX_WIDTH),
            latency_ms_p50=f["latency_ms_p50"].as_float(0.0),
            latency_ms_p90=f["latency_ms_p90"].as_float(0.0),
            latency_ms_p99=f["latency_ms_p99"].as_float(0.0),
            sentences_per_s=f["sentences_per_s"].as_float(0.0),
            tokens_per_s=f["tokens_per_s"].as_float(0.0),
            peak_memory_mb=f["peak_memory_mb"].as_float(0.0),
            runs=f["runs"].as_int(1, MAX_RUNS),
            cuda_graph=cuda_graph.as_bool() if cuda_graph else False,
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
            "cuda_graph": self.cuda_graph,
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
    gates: tuple[ParityGate, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "profile") -> DeviceProfile:
        f = _root(data, source)
        version = f.obj().get("schema_version")
        if type(version) is not int or version not in READABLE_VERSIONS:
            raise ProfileError(
                f"{source}: schema_version is {shown(version)}, this ese reads "
                f"{' and '.join(map(str, READABLE_VERSIONS))}: measure again with "
                "`ese-bench profile`"
            )
        gates = f.get("gates")
        if gates is not None and version < 2:
            raise gates.fail("is not part of schema version 1 (gates came with version 2)")
        device_id = f["device_id"].as_str()
        if not _DEVICE_ID.fullmatch(device_id):
            raise f["device_id"].fail("is not a device id (lower-case letters, digits, dashes)")
        measured_by, created = f.get("measured_by"), f.get("created")
        return cls(
            device_id=device_id,
            device=f["device"].obj(),
            entries=tuple(ProfileEntry.from_dict(e) for e in f["entries"].elements()),
            measured_by=measured_by.as_str() if measured_by else "",
            created=created.as_str() if created else "",
            gates=gates_from(gates),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "device_id": self.device_id,
            "device": dict(self.device),
            "measured_by": self.measured_by,
            "created": self.created,
            "entries": [e.to_dict() for e in self.entries],
            "gates": [g.to_dict() for g in self.gates],
        }

    def gate(self, key: tuple[int, Precision, str]) -> ParityGate | None:
        """The recorded gate of (depth, graph precision, inference precision), if any."""
        return next((g for g in self.gates if g.key == key), None)


def _root(data: Any, source: str = "profile") -> Field:
    return Field.root(data, source, ProfileError, ADVICE)


def profile_path(export_dir: Path, device_id: str) -> Path:
    """``DIR/profiles/<device_id>.json``; a device id is a file name, never a path."""
    if not _DEVICE_ID.fullmatch(device_id):
        raise ProfileError(
            f"device id {device_id!r} is not a file name of lower-case letters, digits and "
            "dashes; name the device as ese.runtime.device.device_id does"
        )
    return Path(export_dir) / PROFILES_DIR / f"{device_id}.json"


def confined_profile_path(export_dir: Path, device_id: str) -> Path:
    """:func:`profile_path`, refusing one that a symlink leads outside the export directory."""
    path = profile_path(export_dir, device_id)
    resolve_inside(export_dir, PROFILES_DIR)
    resolve_inside(export_dir, f"{PROFILES_DIR}/{path.name}")
    return path


def write_profile(export_dir: Path, profile: DeviceProfile) -> Path:
    """Write ``profile`` atomically (not through a symlink that leads outside DIR)."""
    path = confined_profile_path(export_dir, profile.device_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, profile.to_dict())
    return path
