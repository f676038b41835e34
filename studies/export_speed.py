"""Export speed and disk: ``python -m ese.studies.export_speed [MODEL] [--depths 2,4,6]``.

Times ``ese-export`` of the requested depths with the default PCA projection (validation
included), then exports the full depth alone as the disk reference (one graph of the whole
model) and prints the ratio of the two exports' disk use: the exporter's targets
(<= 60 s on the 2-core machine; disk <= 1.15x the full model's single graph).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ese.benchmarks.grid import parse_ints
from ese.runtime.machine import cpu_model


@dataclass(frozen=True)
class ExportTiming:
    depths: tuple[int, ...]
    seconds: float
    disk_bytes: int


def disk_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())


def time_export(model: Path | None, depths: tuple[int, ...], out: Path) -> ExportTiming:
    from ese.exporter import export

    start = time.perf_counter()
    export(model, list(depths), out, force=True)
    return ExportTiming(depths, time.perf_counter() - start, disk_bytes(out))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="python -m ese.studies.export_speed")
    parser.add_argument(
        "model",
        nargs="?",
        type=Path,
        default=None,
        help="a local model directory (default: the bundled all-MiniLM-L6-v2)",
    )
    parser.add_argument("--depths", default="2,4,6")
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the full-depth-only export used as the disk reference",
    )
    args = parser.parse_args(argv)
    depths = parse_ints(args.depths, name="depths")
    with tempfile.TemporaryDirectory(prefix="ese-export-speed-") as tmp:
        timed = time_export(args.model, depths, Path(tmp) / "depths")
        print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()}")
        print(
            f"export of depths {list(depths)} (PCA, validation included): "
            f"{timed.seconds:.1f} s, {timed.disk_bytes / 1e6:.1f} MB on disk"
        )
        if not args.no_reference:
            from ese.format import read_manifest

            full = (read_manifest(Path(tmp) / "depths").source.num_layers,)
            ref = time_export(args.model, full, Path(tmp) / "full")
            print(
                f"reference: depth {full[0]} alone: {ref.seconds:.1f} s, "
                f"{ref.disk_bytes / 1e6:.1f} MB on disk"
            )
            print(
                f"disk ratio: {timed.disk_bytes / ref.disk_bytes:.3f}x the single graph "
                "(target <= 1.15x)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
