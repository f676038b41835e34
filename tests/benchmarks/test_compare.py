"""ese-bench compare on the tiny model: four systems, same sentences, paired ratios, memory."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ese.benchmarks.cli import main
from ese.benchmarks.latency.stats import Spread, paired_ratios


@pytest.fixture()
def export_copy(tiny_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_export, tmp_path / "export"))


def test_paired_ratios_take_the_median_and_spread_of_rounds() -> None:
    spread = paired_ratios([2.0, 4.0, 3.0], [1.0, 1.0, 1.0])
    assert spread.median == pytest.approx(3.0)
    assert spread.low < spread.median < spread.high
    assert spread.samples == 3
    assert Spread.of([1.5]).text() == "1.50x (1.50-1.50)"


def test_compare_times_every_system_per_depth(
    export_copy: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "compare",
        str(export_copy),
        "--model",
        str(tiny_model_dir),
        "--batch",
        "1,4",
        "--sentences",
        "12",
        "--rounds",
        "2",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for heading in (
        "Throughput",
        "Runtime speed-up",
        "bare InferenceSession.run",
        "Depth scaling",
        "Peak RSS",
    ):
        assert heading in out
    # a shared machine's load is part of every figure: the file says what it was
    load = r"[0-9.]+ / [0-9.]+ / [0-9.]+ on \d+ CPUs"
    assert re.search(rf"- load average: {load} before the timing, {load} after", out), out
    data = json.loads((export_copy / "reports" / "compare.json").read_text())
    assert data["threads"] == 1 and data["full_depth"] == 2
    assert re.fullmatch(
        rf"{load} before the timing, {load} after \(1 / 5 / 15 min\)", data["load_average"]
    )
    cells = {(c["depth"], c["batch_size"]): c for c in data["cells"]}
    assert set(cells) == {(1, 1), (1, 4), (2, 1), (2, 4)}
    for cell in cells.values():
        assert set(cell["seconds"]) == {"st-torch", "st-onnx", "ort-bare", "runtime"}
        assert all(len(v) == 2 and min(v) > 0 for v in cell["seconds"].values())
        assert cell["sentences"] == 12
        assert set(cell["runtime_speedup"]) == {"st-torch", "st-onnx", "ort-bare"}
        assert cell["runtime_over_bare"]["median"] > 0
    memory = {m["depth"]: m for m in data["serving_memory"]}
    assert set(memory) == {1, 2}
    assert all(m["peak_mb"] >= m["baseline_mb"] > 0 for m in memory.values())
    assert (export_copy / "reports" / "compare.md").read_text().startswith("# ese-bench compare")


def test_compare_needs_the_runtime_among_the_systems(
    export_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(export_copy), "--systems", "st-torch"]) == 2
    assert "must include 'runtime'" in capsys.readouterr().err
    assert main(["compare", str(export_copy), "--systems", "runtime,tensorflow"]) == 2
    assert "unknown" in capsys.readouterr().err
