"""Memory accounting: mapped weight files count whole, other mappings and earlier ones do not."""

from __future__ import annotations

import mmap
import sys
from pathlib import Path

import pytest

from ese.runtime.memory import MemoryProbe, mapped_under, resident_mb

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/self/smaps (Linux only)"
)
MB = 1 << 20


def make_file(path: Path, mb: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\1" * (mb * MB))
    return path


def test_an_untouched_mapping_counts_at_full_size(tmp_path: Path) -> None:
    weights = make_file(tmp_path / "graphs" / "weights.bin", 8)
    probe = MemoryProbe.start(weights.parent)
    with weights.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        assert m[0] == 1  # touch one page only
        seen = mapped_under(weights.parent)
        assert seen.size_mb == pytest.approx(8, abs=0.01)
        assert seen.resident_mb < 8
        assert probe.growth_mb() >= 8 - 0.5
    assert mapped_under(weights.parent).size_mb == 0


def test_mappings_held_before_the_probe_are_left_out(tmp_path: Path) -> None:
    old = make_file(tmp_path / "graphs" / "old.bin", 16)
    new = make_file(tmp_path / "graphs" / "new.bin", 4)
    with old.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ):
        probe = MemoryProbe.start(old.parent)
        with new.open("rb") as g, mmap.mmap(g.fileno(), 0, access=mmap.ACCESS_READ):
            assert 4 - 0.5 <= probe.growth_mb() < 16


def test_other_directories_are_ignored(tmp_path: Path) -> None:
    other = make_file(tmp_path / "elsewhere" / "big.bin", 4)
    with other.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ):
        assert mapped_under(tmp_path / "graphs").size_mb == 0
    assert resident_mb() > 0
