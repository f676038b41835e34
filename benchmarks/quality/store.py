"""Quality grids into the manifest (what the budget selection ranks by) and reports/quality.json.

Only grids in the export's own dimension order go into the manifest: those are the vectors
the runtime serves. Raw-order grids (``--raw``, measured on a ``--projection none`` export of
the same model) are kept in ``reports/quality.json`` for comparison.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ese.benchmarks.quality.grids import QualityGrid
from ese.format import (
    LOCK_WAIT_S,
    REPORTS_DIR,
    Precision,
    export_locked,
    read_manifest,
    write_json_atomic,
    write_manifest,
)
from ese.format.errors import UserError

QUALITY_FILE = f"{REPORTS_DIR}/quality.json"


def record_in_manifest(
    export_dir: Path, grids: Sequence[QualityGrid], *, wait_s: float = LOCK_WAIT_S
) -> int:
    """Write each grid of the export's own order into the manifest; return the graphs updated.

    The manifest's read-merge-write holds the export's lock (``ese-variants`` holds it too),
    waiting up to ``wait_s`` seconds for another writer.
    """
    with export_locked(export_dir, wait_s=wait_s):
        return _record_in_manifest(export_dir, grids)


def _record_in_manifest(export_dir: Path, grids: Sequence[QualityGrid]) -> int:
    manifest = read_manifest(export_dir)
    own = manifest.projection.kind.value
    updated = 0
    for grid in grids:
        if grid.order != own:
            continue
        for depth, row in grid.scores.items():
            manifest = manifest.with_quality(depth, Precision.FP32, grid.task, row)
            updated += 1
    if updated:
        write_manifest(export_dir, manifest)
    return updated


def _key(grid: QualityGrid) -> str:
    return f"{grid.task}/{grid.order}"


def read_quality(export_dir: Path) -> list[QualityGrid]:
    path = Path(export_dir) / QUALITY_FILE
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [QualityGrid.from_dict(g) for g in data["grids"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"cannot read {path} ({exc}); delete it and measure again") from exc


def write_quality(export_dir: Path, grids: Sequence[QualityGrid], command: str) -> Path:
    """Merge ``grids`` into reports/quality.json (same task and order: replaced)."""
    path = Path(export_dir) / QUALITY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {_key(g): g for g in read_quality(export_dir)}
    merged.update({_key(g): g for g in grids})
    data = {
        "command": command,
        "grids": [merged[k].to_dict() for k in sorted(merged)],
    }
    write_json_atomic(path, data)
    return path


def raw_order_export(export_dir: Path, out: Path, depths: Sequence[int]) -> Path:
    """Export the same source model at ``depths`` with ``--projection none`` into ``out``."""
    from ese.exporter import export

    manifest = read_manifest(export_dir)
    model = Path(manifest.source.path)
    if not model.is_dir():
        raise UserError(
            f"--raw needs the source model to export it in raw order, and {model} (the "
            "manifest's source path) is not here; export it with --projection none yourself "
            "and run `ese-bench quality` on that export"
        )
    export(model, list(depths), out, projection="none", force=True)
    return out
