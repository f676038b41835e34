"""This device's cached measurements at the budget's shape: read from profiles/, and merged back.

``ese-bench profile`` writes ``DIR/profiles/<device-id>.json``; the runtime reads the entries
it needs from there (:func:`cached_measurements`). Graphs the profile lacks at the budget's
shape are measured by an explicit step (:mod:`.device_measurement`) and merged into the same
file (:func:`cache`), written atomically under the profiles lock, so processes measuring at
once lose no entries.
A read-only export directory is not an error: the measurement is then used for this process
only, with a warning. A cached profile that fails its checks (a NaN or negative latency, a
wrong type, another device's id) is ignored with a warning and measured again; a
``profiles/`` that a symlink leads outside the export directory is refused.

Every entry records how many timed runs it rests on (``runs``). One from fewer than
``MIN_CACHED_RUNS`` (a brief measurement of a slow graph: its p90 and p99 are one or two
runs) is thin: it is used, and said to be thin, but measured again whenever measuring is
allowed, and a measurement replaces a cached entry of the same key only when it rests on at
least as many runs. So a thin figure gives way to the first fuller one (this runtime's, or
``ese-bench profile``'s), and a full one is never replaced by a thinner one.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from ese.format.contract import Precision
from ese.format.errors import ProfileError
from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.format.profile import DeviceProfile, ProfileEntry, confined_profile_path, write_profile
from ese.format.profile_lock import profiles_locked
from ese.runtime.device import Device

MEASURED_BY = "ese.runtime brief self-measurement"
MIN_CACHED_RUNS = 3  # ese-bench profile's least number of timed runs


def load_profile(export: ExportDir, device_id: str) -> DeviceProfile | None:
    """The cached profile of ``device_id``, or None (a broken file is warned about)."""
    path = confined_profile_path(export.root, device_id)
    if not path.is_file():
        return None
    try:
        profile = DeviceProfile.from_dict(
            json.loads(path.read_text(encoding="utf-8")), source=str(path)
        )
    except (ProfileError, ValueError, OSError, RecursionError) as exc:
        warnings.warn(f"ignoring unreadable profile {path}: {exc}", stacklevel=3)
        return None
    if profile.device_id != device_id:
        warnings.warn(
            f"ignoring profile {path}: it names device {profile.device_id!r}, not "
            f"{device_id!r} (its file name); it was copied or edited",
            stacklevel=3,
        )
        return None
    return profile


@dataclass(frozen=True)
class Measured:
    """Entries keyed by (depth, precision) at one shape, and a line saying where from."""

    entries: dict[tuple[int, Precision], ProfileEntry]
    source: str


@dataclass(frozen=True)
class CachedMeasurements:
    """What this device's cached profiles hold for some graphs at one shape: the entries found,
    where from, the graphs without an entry (``missing``) and those whose entry is thin."""

    entries: dict[tuple[int, Precision], ProfileEntry]
    sources: frozenset[str]
    missing: tuple[GraphEntry, ...]
    thin: tuple[GraphEntry, ...]

    def refusal(
        self, export: ExportDir, device: Device, batch_size: int, seq_len: int
    ) -> ProfileError:
        """Why a choice that may not measure cannot be made: the first graph without an entry."""
        graph = self.missing[0]
        return ProfileError(
            f"no profile of this device ({device.device_id(graph.precision)}) has "
            f"depth {graph.depth} at batch {batch_size} x seq {seq_len}, and measuring "
            f"was turned off; run `ese-bench profile {export.root} --batch {batch_size} "
            f"--seq {seq_len}` or allow measuring"
        )

    def with_measured(self, fresh: Sequence[ProfileEntry], source: str) -> CachedMeasurements:
        """These entries with ``fresh`` ones added (each replacing a thinner one of its key)."""
        entries = dict(self.entries)
        for entry in fresh:
            if _fuller(entry, entries.get((entry.depth, entry.precision))):
                entries[(entry.depth, entry.precision)] = entry
        return CachedMeasurements(entries, self.sources | {source}, (), ())

    def measured(self) -> Measured:
        """The entries and one line naming every source (and which entries are thin)."""
        sources = set(self.sources)
        thin = sorted(
            f"depth {d}" for (d, _), e in self.entries.items() if e.runs < MIN_CACHED_RUNS
        )
        if thin:
            sources.add(
                f"thin: {', '.join(thin)} measured from fewer than {MIN_CACHED_RUNS} timed runs "
                "(measured again when allowed; `ese-bench profile` measures fully)"
            )
        return Measured(entries=self.entries, source="; ".join(sorted(sources)))


def cached_measurements(
    export: ExportDir,
    graphs: Sequence[GraphEntry],
    device: Device,
    *,
    batch_size: int,
    seq_len: int,
) -> CachedMeasurements:
    """This device's cached entries for ``graphs`` at ``batch_size`` x ``seq_len``; reads only."""
    found: dict[tuple[int, Precision], ProfileEntry] = {}
    sources: set[str] = set()
    profiles: dict[str, DeviceProfile | None] = {}
    for graph in graphs:
        did = device.device_id(graph.precision)
        if did not in profiles:
            profiles[did] = load_profile(export, did)
        profile = profiles[did]
        if profile is None:
            continue
        for entry in profile.entries:
            if entry.key == (graph.depth, graph.precision, batch_size, seq_len):
                found[graph.key] = entry
                sources.add(f"profiles/{did}.json ({profile.measured_by or 'unknown'})")
    return CachedMeasurements(
        entries=found,
        sources=frozenset(sources),
        missing=tuple(g for g in graphs if g.key not in found),
        thin=tuple(g for g in graphs if g.key in found and found[g.key].runs < MIN_CACHED_RUNS),
    )


def _fuller(new: ProfileEntry, old: ProfileEntry | None) -> bool:
    """Whether ``new`` may replace ``old`` (same key): it rests on at least as many runs."""
    return old is None or new.runs >= old.runs


def cache(export: ExportDir, device: Device, fresh: Sequence[ProfileEntry]) -> list[str]:
    """Merge ``fresh`` into each device id's profile and write it; return the ids written."""
    written = []
    for did in sorted({device.device_id(e.precision) for e in fresh}):
        new = [e for e in fresh if device.device_id(e.precision) == did]
        try:
            with profiles_locked(export.root):
                # Read again under the lock: another process may have cached entries meanwhile.
                merged = merge_entries(load_profile(export, did), new, did, device)
                write_profile(export.root, merged)
        except OSError as exc:
            warnings.warn(
                f"could not cache the measured profile in {Path(export.root) / 'profiles'} "
                f"({exc}); it is used for this process only",
                stacklevel=4,
            )
            continue
        written.append(did)
    return written


def merge_entries(
    profile: DeviceProfile | None, new: Sequence[ProfileEntry], did: str, device: Device
) -> DeviceProfile:
    """``profile`` (or a new one for ``did``) with ``new`` added, replacing an entry of the
    same key unless that one rests on more runs (see the module's note)."""
    profile = profile or DeviceProfile(
        device_id=did,
        device=device.to_dict(),
        entries=(),
        measured_by=MEASURED_BY,
        created=_now(),
    )
    old = {e.key: e for e in profile.entries}
    new = [e for e in new if _fuller(e, old.get(e.key))]
    keys = {e.key for e in new}
    kept = tuple(e for e in profile.entries if e.key not in keys)
    merged = replace(profile, entries=(*kept, *new))
    if MEASURED_BY not in merged.measured_by:
        merged = replace(merged, measured_by=f"{merged.measured_by} + {MEASURED_BY}")
    return merged


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
