"""ese-bench quality: data parsing, metrics, grids into the manifest, and the 82.03 figure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ese.benchmarks.cli import main
from ese.benchmarks.quality.datasets import read_scifact, read_stsb
from ese.benchmarks.quality.grids import grid_dims
from ese.benchmarks.quality.metrics import retrieval_scores, sts_spearman
from ese.format.manifest import read_manifest


@pytest.fixture()
def export_copy(tiny_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_export, tmp_path / "export"))


def test_stsb_test_has_every_pair_with_quotes_kept(data_dir: Path) -> None:
    pairs = read_stsb(data_dir)
    assert len(pairs) == 1379
    assert all(0.0 <= s <= 5.0 for s in pairs.scores)
    assert any('"' in s for s in (*pairs.first, *pairs.second))


def test_scifact_test_queries_and_corpus(data_dir: Path) -> None:
    data = read_scifact(data_dir)
    assert len(data.documents) == 5183
    assert len(data.queries) == 300
    assert sum(len(v) for v in data.qrels.values()) == 339


def test_grid_dims_ladder_within_width() -> None:
    assert grid_dims(384) == (32, 64, 128, 256, 384)
    assert grid_dims(32) == (32,)
    assert grid_dims(100, [16, 64, 512]) == (16, 64, 100)


def test_metrics_on_known_vectors() -> None:
    angles = np.linspace(0.1, 1.5, 12)
    first = np.tile(np.array([[1.0, 0.0, 0.0, 0.0]]), (12, 1))
    second = np.stack([np.cos(angles), np.sin(angles), np.zeros(12), np.zeros(12)], axis=1)
    assert sts_spearman(first, second, list(np.cos(angles)), 4) == pytest.approx(100.0)
    assert sts_spearman(first, second, list(angles), 4) == pytest.approx(-100.0)
    # Sliced to 1 dim, every pair has cosine 1: no ranking left.
    assert np.isnan(sts_spearman(first, second, list(angles), 1))

    docs = np.eye(6, dtype=np.float32)
    queries = np.array([docs[0], 0.9 * docs[3] + 0.1 * docs[5], docs[1]])
    qrels = {"q0": {"d0": 1}, "q3": {"d3": 1, "d5": 1}, "q1": {"d2": 1}}
    got = retrieval_scores(queries, docs, ["q0", "q3", "q1"], [f"d{i}" for i in range(6)], qrels, 6)
    # q0 and q3: ideal rankings; q1: its document third (ties keep corpus order): 1/log2(4).
    assert got["ndcg@10"] == pytest.approx(100 * (1 + 1 + 0.5) / 3)
    assert got["recall@10"] == pytest.approx(100.0)


def test_quality_grid_goes_into_the_manifest_and_report_file(
    export_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quality", str(export_copy), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "STS-B test, Spearman x 100" in out and "| 1 |" in out and "| 2 |" in out
    manifest = read_manifest(export_copy)
    for graph in manifest.graphs:
        (score,) = graph.quality["stsb"].values()
        assert -100 <= score <= 100
        assert list(graph.quality["stsb"]) == [32]
    saved = json.loads((export_copy / "reports" / "quality.json").read_text())
    assert saved["grids"][0]["examples"] == 1379


def test_scifact_subset_is_measured_but_not_recorded(
    export_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "quality",
                str(export_copy),
                "--task",
                "scifact",
                "--limit",
                "5",
                "--depths",
                "2",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "nDCG@10" in captured.out and "recall@10" in captured.out
    assert "manifest was left as it was" in captured.err
    # only the export's own probe grid: no SciFact figure from a subset reaches the manifest
    assert all(
        not any("scifact" in task for task in g.quality) for g in read_manifest(export_copy).graphs
    )
    grids = json.loads((export_copy / "reports" / "quality.json").read_text())["grids"]
    assert {g["task"] for g in grids} == {"scifact_ndcg@10", "scifact_recall@10"}
    for g in grids:
        assert 0 <= g["scores"]["2"]["32"] <= 100
        assert 100 <= g["notes"]["documents"] < 120  # judged documents and 20 x 5 others


@pytest.mark.slow
def test_bundled_model_full_depth_raw_order_reproduces_82_03(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """all-MiniLM-L6-v2, depth 6, raw order (--projection none), 384 dims: 82.03 on STS-B."""
    from ese.exporter import export

    raw = tmp_path / "raw"
    export(None, [6], raw, projection="none")
    assert main(["quality", str(raw), "--threads", "2"]) == 0
    scores = read_manifest(raw).graph(6).quality["stsb"]
    assert scores[384] == pytest.approx(82.03, abs=0.1)
    assert sorted(scores) == [32, 64, 128, 256, 384]
    assert "82.0" in capsys.readouterr().out
