"""ese-bench's profile writer and other writers of one export's profiles lose no entries.

Real processes, released together, each merge their own entries into the same
``profiles/<device>.json`` one at a time through ``write_runtime_profile``: without the
runtime's profile lock around the read-merge-write, one writer's file replaces another's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ese.format.profile import DeviceProfile, profile_path

DEVICE_ID = "test-cpu-1t-fp32"
WRITERS = 3
ENTRIES = 15  # per writer, each written alone: 45 read-merge-writes racing

CHILD = textwrap.dedent(
    """
    import os, sys, time
    from ese.benchmarks.latency.measurement import Measurement
    from ese.benchmarks.latency.profile_store import MeasuredProfile, write_runtime_profile
    from ese.benchmarks.latency.stats import Percentiles
    root, writer, count, device_id, ready, go = sys.argv[1:]
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.002)
    for i in range(int(count)):
        batch = int(writer) * 1000 + i + 1
        m = Measurement("onnxruntime", "fp32", 1, batch, 8, Percentiles(1.0, 1.5, 2.0, 5), 1.0, 1)
        measured = MeasuredProfile(device_id, {"provider": "cpu"}, [m], f"writer {writer}")
        write_runtime_profile(root, measured)
    """
)


def test_concurrent_profile_writers_lose_no_entries(tmp_path: Path) -> None:
    export = tmp_path / "export"  # the writer reads and writes only profiles/
    export.mkdir()
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{w}" for w in range(WRITERS)]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(export),
                str(w),
                str(ENTRIES),
                DEVICE_ID,
                str(ready[w]),
                str(go),
            ],
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        for w in range(WRITERS)
    ]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready):
        assert time.monotonic() < deadline, "the writer processes did not start"
        assert all(c.poll() is None for c in children), "a writer process ended before the start"
        time.sleep(0.02)
    go.touch()
    assert [c.wait(timeout=120) for c in children] == [0] * WRITERS
    path = profile_path(export, DEVICE_ID)
    profile = DeviceProfile.from_dict(json.loads(path.read_text()))
    batches = sorted(e.batch_size for e in profile.entries)
    expected = sorted(w * 1000 + i + 1 for w in range(WRITERS) for i in range(ENTRIES))
    assert batches == expected, f"{len(expected) - len(batches)} entries lost"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary or lock file
