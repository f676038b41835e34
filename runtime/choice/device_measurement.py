"""Measuring this device: the explicit step an Embedder takes when its profile lacks a graph.

Each graph is run briefly at the budget's shape (``measure_graph``, the time share split
evenly between them, after one warm-up) on the runner the Embedder itself opens,
and the entries are merged into ``DIR/profiles/<device-id>.json`` (:func:`.profile_cache.cache`,
under the profiles lock). The line it returns says so ("measured now by ese.runtime: ..."),
and the choice prints it as its profile's source.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.format.profile import ProfileEntry
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.choice.measure import measure_graph, warm_up
from ese.runtime.choice.profile_cache import cache
from ese.runtime.device import Device


@dataclass(frozen=True)
class DeviceMeasurement:
    """Entries just measured on this device, and the line that says where they went."""

    entries: tuple[ProfileEntry, ...]
    source: str


def measure_device(
    export: ExportDir,
    graphs: Sequence[GraphEntry],
    device: Device,
    *,
    batch_size: int,
    seq_len: int,
    providers: Sequence[str],
    threads: Threads,
    vocab_size: int,
    seconds: float,
) -> DeviceMeasurement:
    """Measure ``graphs`` at ``batch_size`` x ``seq_len`` within about ``seconds``, cache the
    entries in the export's profiles (a read-only export: this process only, with a warning)."""
    start = time.perf_counter()
    ordered = sorted(graphs, key=lambda g: (g.depth, g.precision.value))
    warm_up(export, ordered[0], providers, threads)
    share = max(0.0, seconds - (time.perf_counter() - start)) / len(ordered)
    fresh = tuple(
        measure_graph(
            export,
            g,
            batch_size=batch_size,
            seq_len=seq_len,
            vocab_size=vocab_size,
            providers=providers,
            threads=threads,
            seconds=share,
        )
        for g in ordered
    )
    took = time.perf_counter() - start
    written = cache(export, device, fresh)
    where = ", ".join(f"profiles/{d}.json" for d in written) or "not cached (read-only)"
    return DeviceMeasurement(
        fresh, f"measured now by ese.runtime: {len(fresh)} graph(s) in {took:.1f} s, {where}"
    )
