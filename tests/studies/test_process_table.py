"""The /proc process table the serve studies and tests read: parents, CPU time, descendants."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ese.studies.process_table import descendants, process_table

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_descendants_are_children_and_grandchildren_not_the_process_itself() -> None:
    # A child that starts a grandchild and waits; both are this process's descendants.
    sleeper = "import time; time.sleep(30)"
    program = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {sleeper!r}])"
    child = subprocess.Popen([sys.executable, "-c", program])
    try:
        deadline = time.monotonic() + 30
        while len(descendants(os.getpid())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        table = process_table()
        found = descendants(os.getpid(), table)
        assert child.pid in found and os.getpid() not in found
        grandchildren = {p for p in found if table[p].parent == child.pid}
        assert len(grandchildren) == 1
        assert descendants(child.pid, table) == grandchildren
    finally:
        for pid in descendants(child.pid):
            os.kill(pid, signal.SIGKILL)
        child.kill()
        child.wait()


def test_cpu_seconds_grow_with_work_done() -> None:
    before = process_table()[os.getpid()].cpu_s
    started = time.process_time()
    while time.process_time() - started < 0.3:
        sum(range(10_000))
    assert process_table()[os.getpid()].cpu_s >= before + 0.2
