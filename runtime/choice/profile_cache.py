"""This device's measurements at the budget's shape: read from profiles/, else measured and cached.

``ese-bench profile`` writes ``DIR/profiles/<device-id>.json``; the runtime reads the entries
it needs from there. Graphs the profile lacks at the budget's shape are measured briefly
(``measure_graph``, the time share split evenly between them) and merged into the same file,
written atomically under the profiles lock, so processes measuring at once lose no entries.
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
import time
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
from ese.runtime.backends.session import Threads
from ese.runtime.backends.tensorrt_provider import provider_options_for
from ese.runtime.choice.measure import measure_graph, warm_up
from ese.runtime.device import Device

MEASURED_BY = "ese.runtime brief self-measurement"
MIN_CACHED_RUNS = 3  # ese-bench profile's least number of timed runs


@dataclass(frozen=True)
class Measured:
    """Entries keyed by (depth, precision) at one shape, and a line saying where from."""

    entries: dict[tuple[int, Precision], ProfileEntry]
    source: str


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


def measurements_for(
    export: ExportDir,
    graphs: Sequence[GraphEntry],
    device: Device,
    *,
    batch_size: int,
    seq_len: int,
    providers: Sequence[str],
    threads: Threads,
    vocab_size: int,
    measure: bool = True,
    seconds: float = 3.0,
) -> Measured:
    """Profile entries for every graph at ``batch_size`` x ``seq_len`` on ``device``."""
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
    missing = [g for g in graphs if g.key not in found]
    thin = [g for g in graphs if g.key in found and found[g.key].runs < MIN_CACHED_RUNS]

    def options(graph: GraphEntry) -> dict[str, dict[str, str]]:
        """The Embedder's own provider options for ``graph`` (TensorRT's caches and shapes)."""
        uses = export.manifest.source.uses_token_type_ids
        return provider_options_for(export.root, graph, providers, uses_token_type_ids=uses)

    if missing and not measure:
        raise ProfileError(
            f"no profile of this device ({device.device_id(missing[0].precision)}) has "
            f"depth {missing[0].depth} at batch {batch_size} x seq {seq_len}, and measuring "
            f"was turned off; run `ese-bench profile {export.root} --batch {batch_size} "
            f"--seq {seq_len}` or allow measuring"
        )
    if measure:
        missing += thin
    if missing:
        start = time.perf_counter()
        missing.sort(key=lambda g: (g.depth, g.precision.value))
        warm_up(export.path(missing[0].file), providers, threads, options(missing[0]))
        share = max(0.0, seconds - (time.perf_counter() - start)) / len(missing)
        fresh = [
            measure_graph(
                export.path(g.file),
                depth=g.depth,
                precision=g.precision,
                batch_size=batch_size,
                seq_len=seq_len,
                vocab_size=vocab_size,
                providers=providers,
                threads=threads,
                seconds=share,
                provider_options=options(g),
            )
            for g in missing
        ]
        took = time.perf_counter() - start
        fresh = [e for e in fresh if _fuller(e, found.get((e.depth, e.precision)))]
        found.update({(e.depth, e.precision): e for e in fresh})
        written = _cache(export, device, fresh)
        where = ", ".join(f"profiles/{d}.json" for d in written) or "not cached (read-only)"
        sources.add(f"measured now by ese.runtime: {len(fresh)} graph(s) in {took:.1f} s, {where}")
    still_thin = sorted(f"depth {d}" for (d, _), e in found.items() if e.runs < MIN_CACHED_RUNS)
    if still_thin:
        sources.add(
            f"thin: {', '.join(still_thin)} measured from fewer than {MIN_CACHED_RUNS} timed runs "
            "(measured again when allowed; `ese-bench profile` measures fully)"
        )
    return Measured(entries=found, source="; ".join(sorted(sources)))


def _fuller(new: ProfileEntry, old: ProfileEntry | None) -> bool:
    """Whether ``new`` may replace ``old`` (same key): it rests on at least as many runs."""
    return old is None or new.runs >= old.runs


def _cache(export: ExportDir, device: Device, fresh: Sequence[ProfileEntry]) -> list[str]:
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
