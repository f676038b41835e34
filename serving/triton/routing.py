"""Which depth the front model routes to, and the target device's profile that says why.

A repository is usually written on one machine and served on another, so the profile is
the *target's* (``DIR/profiles/<device-id>.json``, measured there by ``ese-bench profile``),
named with ``--profile``; nothing is measured here. The choice is the runtime's own pure
selection over manifest + profile + budget.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ese.format import (
    PROFILES_DIR,
    DeviceProfile,
    ExportDir,
    GraphEntry,
    Precision,
    ProfileEntry,
    profile_path,
)
from ese.format.errors import ProfileError, UserError
from ese.runtime import Budget, Choice
from ese.runtime.choice.select import select


def profile_ids(export: ExportDir) -> list[str]:
    """The device ids that have a profile in the export, sorted."""
    folder = Path(export.root) / PROFILES_DIR
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def target_profile(export: ExportDir, device_id: str | None) -> DeviceProfile | None:
    """The named device's profile; with no name, the only one there is, else None.

    Several profiles and no name is an error: batch sizes and latencies differ per device.
    """
    ids = profile_ids(export)
    if device_id is None:
        if len(ids) > 1:
            raise UserError(
                f"{export.root}/{PROFILES_DIR} has profiles of {len(ids)} devices "
                f"({', '.join(ids)}); name the device the repository is for with --profile ID"
            )
        if not ids:
            return None
        device_id = ids[0]
    path = profile_path(export.root, device_id)
    if not path.is_file():
        raise UserError(
            f"no profile {device_id!r} in {export.root}/{PROFILES_DIR} (it has: "
            f"{', '.join(ids) or 'none'}); measure that device with `ese-bench profile` there"
        )
    try:
        return DeviceProfile.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, OSError) as exc:
        raise ProfileError(f"cannot read the profile {path}: {exc}") from exc


def measurements_at(
    entries: Sequence[ProfileEntry], batch_size: int, seq_len: int
) -> dict[tuple[int, Precision], ProfileEntry]:
    """Profile entries at exactly the budget's shape, keyed by (depth, precision)."""
    return {
        (e.depth, e.precision): e
        for e in entries
        if (e.batch_size, e.seq_len) == (batch_size, seq_len)
    }


def route(
    graphs: Sequence[GraphEntry],
    profile: DeviceProfile | None,
    budget: Budget | None,
    precisions: Sequence[Precision],
) -> Choice:
    """The (depth, dims, precision) the front model serves: the runtime's selection."""
    budget = budget or Budget()
    entries = profile.entries if profile is not None else ()
    source = (
        f"profiles/{profile.device_id}.json ({profile.measured_by or 'unknown'})"
        if profile is not None
        else "none needed (the budget bounds neither latency nor memory)"
    )
    if budget.bounds_speed_or_memory and profile is None:
        raise ProfileError(
            f"the budget bounds latency or memory ({budget.describe()}) but the export has "
            "no profile of the target device; run `ese-bench profile` on that device and "
            "pass --profile DEVICE_ID"
        )
    return select(
        graphs,
        measurements_at(entries, budget.batch_size, budget.seq_len),
        budget,
        precisions=precisions,
        profile=source,
    )
