"""Measured quality in the manifest (as ese-bench quality writes it) decides the choice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ese.format.manifest import read_manifest, write_manifest
from ese.runtime import Budget, Embedder, Precision
from ese.runtime.errors import BudgetError


@pytest.fixture
def scored(tiny_export: Path, tmp_path: Path) -> Path:
    root = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    manifest = read_manifest(root)
    manifest = manifest.with_quality(1, Precision.FP32, "stsb", {8: 90.0, 16: 40.0, 32: 50.0})
    manifest = manifest.with_quality(2, Precision.FP32, "stsb", {8: 60.0, 16: 65.0, 32: 70.0})
    write_manifest(root, manifest)
    return root


def test_the_best_measured_depth_wins_at_full_width(scored: Path) -> None:
    """Depth 1 at 8 dims scores highest, but no bound asks for fewer than the full 32."""
    emb = Embedder(scored)
    assert (emb.depth, emb.dims, emb.choice.quality) == (2, 32, 70.0)
    assert emb.encode(["hi"]).shape == (1, 32)
    assert "highest measured stsb quality" in emb.choice.reason
    assert "the full 32 dims" in emb.choice.reason
    assert "70.00 (stsb, measured)" in emb.choice.explain()


def test_width_bound_and_floor_use_measured_figures(scored: Path) -> None:
    capped = Embedder(scored, budget=Budget(max_dims=4))  # below every measured width
    assert (capped.depth, capped.dims, capped.choice.quality) == (2, 4, None)
    emb = Embedder(scored, budget=Budget(min_quality=65.0, max_dims=16))
    assert (emb.depth, emb.dims) == (1, 8)
    deep = Embedder(scored, depth=2, budget=Budget(min_quality=65.0))
    assert (deep.depth, deep.dims, deep.choice.quality) == (2, 16, 65.0)
    with pytest.raises(BudgetError, match=r"Closest: depth 1 x 8 dims.*at most 90\.00"):
        Embedder(scored, budget=Budget(min_quality=95.0))


def test_another_task_is_unmeasured(scored: Path) -> None:
    emb = Embedder(scored, budget=Budget(quality_task="scifact"))
    assert (emb.depth, emb.dims, emb.choice.quality) == (2, 32, None)
