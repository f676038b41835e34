"""Where profiles live: the runtime's ``profiles/<device-id>.json`` and torch's own folder.

ONNX Runtime measurements are written in the runtime's schema (``ese.format.profile``),
merged with what the file already holds (same shape: replaced), so the budget selection reads
them. PyTorch measurements (``--backend torch``; bf16 among them, which no exported graph
has) describe modules the runtime cannot run: they go to ``reports/torch-profiles/`` in the
same layout, where only ``ese-bench report`` reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ese.benchmarks.latency.measurement import Measurement
from ese.format import (
    PROFILES_DIR,
    REPORTS_DIR,
    DeviceProfile,
    profile_path,
    profiles_locked,
    write_json_atomic,
    write_profile,
)
from ese.format.errors import ProfileError, UserError
from ese.runtime.machine import slug

TORCH_PROFILES = f"{REPORTS_DIR}/torch-profiles"


@dataclass(frozen=True)
class StoredProfile:
    """A profile file read back for reports: who measured what on which device."""

    path: Path
    device_id: str
    device: Mapping[str, Any]
    backend: str
    measured_by: str
    measurements: tuple[Measurement, ...]


@dataclass(frozen=True)
class MeasuredProfile:
    """What one ``ese-bench profile`` run measured, to be written: on which device, by what."""

    device_id: str
    device: Mapping[str, Any]
    measurements: Sequence[Measurement]
    measured_by: str


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def torch_device_id(hardware: str, device: str, precision: str, threads: int) -> str:
    """``nvidia-h100-80gb-hbm3-torch-cuda-bf16``; on CPU ``<cpu>-2t-torch-cpu-fp32``."""
    kind = "cuda" if device.startswith("cuda") else "cpu"
    parts = [slug(hardware)]
    if kind == "cpu":
        parts.append(f"{threads}t")
    return "-".join([*parts, "torch", kind, precision])


def write_runtime_profile(export_dir: Path, measured: MeasuredProfile) -> Path:
    """Merge ``measured`` into ``profiles/<device_id>.json`` (the runtime's schema).

    The read-merge-write holds the runtime's profile lock, so a concurrent ``ese-bench
    profile`` or a runtime caching its own measurement into the same file loses no entries.
    """
    entries = [m.to_profile_entry() for m in measured.measurements]
    path = profile_path(export_dir, measured.device_id)
    with profiles_locked(export_dir):
        old = _read_old(path)
        keys = {e.key for e in entries}
        kept = tuple(e for e in old.entries if e.key not in keys) if old else ()
        measured_by = measured.measured_by
        if old is not None and old.measured_by and old.measured_by != measured_by and kept:
            measured_by = f"{measured_by} (+ earlier: {old.measured_by})"
        merged = DeviceProfile(
            device_id=measured.device_id,
            device=dict(measured.device),
            entries=tuple(sorted((*kept, *entries), key=lambda e: e.key)),
            measured_by=measured_by,
            created=now(),
            gates=old.gates if old else (),  # a device's recorded quality gates stay
        )
        return write_profile(export_dir, merged)


def _read_old(path: Path) -> DeviceProfile | None:
    if not path.is_file():
        return None
    try:
        return DeviceProfile.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ProfileError, ValueError) as exc:
        raise UserError(
            f"{path} exists but cannot be read ({exc}); move it away and profile again"
        ) from exc


def write_torch_profile(export_dir: Path, measured: MeasuredProfile) -> Path:
    """``reports/torch-profiles/<device_id>.json``: the profile layout, precision as text."""
    path = Path(export_dir) / TORCH_PROFILES / f"{measured.device_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "schema_version": 1,
        "device_id": measured.device_id,
        "device": dict(measured.device),
        "backend": "torch",
        "measured_by": measured.measured_by,
        "created": now(),
        "entries": [m.to_dict() for m in measured.measurements],
    }
    write_json_atomic(path, data)
    return path


def read_profiles(export_dir: Path) -> list[StoredProfile]:
    """Every profile of the export (runtime and torch), sorted by device id."""
    root = Path(export_dir)
    found = []
    for folder, backend in ((root / PROFILES_DIR, "onnxruntime"), (root / TORCH_PROFILES, "torch")):
        for path in sorted(folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                measurements = tuple(
                    Measurement.from_dict(e, backend=backend) for e in data["entries"]
                )
                found.append(
                    StoredProfile(
                        path=path,
                        device_id=str(data["device_id"]),
                        device=dict(data.get("device", {})),
                        backend=str(data.get("backend", backend)),
                        measured_by=str(data.get("measured_by", "")),
                        measurements=measurements,
                    )
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise UserError(f"cannot read the profile {path}: {exc}") from exc
    return found
