"""Writers of one export's manifest lose no rows: ese-bench quality's ``record_in_manifest``
holds the export's lock (the one ese-variants holds) around its read-merge-write.

Real processes, released together, each record their own tasks one at a time: without the
lock, one writer's manifest replaces another's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from ese.format.export_dir import open_export

WRITERS = 3
TASKS = 10  # per writer, each recorded alone: 30 read-merge-writes racing

CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from ese.benchmarks.quality.grids import QualityGrid
    from ese.benchmarks.quality.store import record_in_manifest
    from ese.format import read_manifest
    root, writer, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    order = read_manifest(root).projection.kind.value
    while not os.path.exists(go):
        time.sleep(0.002)
    for i in range(count):
        grid = QualityGrid(f"w{writer}-{i}", order, {1: {32: float(i)}}, 1, 0.0)
        assert record_in_manifest(root, [grid]) == 1
    """
)


def test_concurrent_quality_records_keep_every_row(tiny_export: Path, tmp_path: Path) -> None:
    export_dir = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(export_dir), str(w), str(TASKS), str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WRITERS)
    ]
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    quality = open_export(export_dir).manifest.graph(1).quality
    expected = {f"w{w}-{i}" for w in range(WRITERS) for i in range(TASKS)}
    assert expected - set(quality) == set(), "rows another writer's manifest replaced"
