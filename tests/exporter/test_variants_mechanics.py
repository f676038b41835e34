"""int8 / fp16 variant graphs on the tiny export: files, manifest, atomicity, CLI (real ORT)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from ese.exporter.variants.add import add_variants, check_request, parse_precisions
from ese.exporter.variants.cli import main as variants_main
from ese.exporter.variants.record import Gates
from ese.exporter.variants.stsb import StsbPairs, spearman
from ese.format.contract import Precision
from ese.format.errors import UserError
from ese.format.export_dir import open_export
from ese.format.manifest import read_manifest

# A random tiny model cannot meet the real gates; these test the mechanics only.
LOOSE = Gates(int8_mean_cosine=0.5, stsb_max_drop=100.0, fp16_min_cosine=0.99)


@pytest.fixture()
def tiny_copy(tiny_export: Path, tmp_path: Path) -> Path:
    out = tmp_path / "tiny"
    shutil.copytree(tiny_export, out)
    return out


def test_int8_and_fp16_graphs_are_added_and_listed(tiny_copy: Path, few_pairs: StsbPairs) -> None:
    before = read_manifest(tiny_copy)
    result = add_variants(tiny_copy, ["int8", "fp16"], stsb=few_pairs, gates=LOOSE)
    manifest = open_export(tiny_copy).manifest  # every listed file checked by sha256
    keys = {g.key for g in manifest.graphs}
    for depth in (1, 2):
        for precision in (Precision.FP32, Precision.INT8, Precision.FP16):
            assert (depth, precision) in keys
    int8 = manifest.graph(2, Precision.INT8)
    assert int8.file.path == "graphs/depth-02.int8.onnx"
    assert [f.path for f in int8.external_data] == ["graphs/weights.int8.bin"]
    assert int8.parity.probes == 10 and 0.5 < int8.parity.min_cosine <= 1.0
    assert "mean cosine" in int8.parity.reference
    assert set(int8.quality["stsb"]) == {32}  # the tiny model is 32 wide
    # the fp32 graphs gained their STS-B figure, measured in the same run
    assert "stsb" in manifest.graph(2, Precision.FP32).quality
    assert manifest.graph(1, Precision.FP32).file == before.graph(1, Precision.FP32).file
    fp16 = manifest.graph(1, Precision.FP16)
    assert fp16.parity.probes == 10 and fp16.parity.min_cosine >= 0.99
    model = onnx.load(str(tiny_copy / fp16.file.path), load_external_data=False)
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    kinds = {n.op_type for n in onnx.load(str(tiny_copy / int8.file.path)).graph.node}
    assert "MatMulInteger" in kinds
    assert set(result.disk_bytes) == {Precision.FP32, Precision.INT8, Precision.FP16}
    assert not list(tiny_copy.glob(".*.partial-*"))


def test_failed_gate_leaves_the_export_unchanged(tiny_copy: Path, few_pairs: StsbPairs) -> None:
    manifest_before = (tiny_copy / "manifest.json").read_bytes()
    files_before = sorted(p.name for p in (tiny_copy / "graphs").iterdir())
    impossible = Gates(int8_mean_cosine=1.0)
    with pytest.raises(UserError, match=r"depth 1 int8: mean cosine to fp32 .* < 1.0"):
        add_variants(tiny_copy, ["int8"], stsb=few_pairs, gates=impossible)
    assert (tiny_copy / "manifest.json").read_bytes() == manifest_before
    assert sorted(p.name for p in (tiny_copy / "graphs").iterdir()) == files_before
    assert not list(tiny_copy.glob(".*.partial-*"))


def test_int8_without_stsb_is_refused_before_any_work() -> None:
    with pytest.raises(UserError, match="--stsb"):
        check_request("fp32,int8", None)
    assert check_request("fp32,fp16", None) == (Precision.FP16,)
    assert parse_precisions(" FP32, int8 ,int8") == (Precision.FP32, Precision.INT8)
    with pytest.raises(UserError, match="unknown precision 'int4'"):
        parse_precisions("int4")


def test_cli_adds_fp16_and_reports(tiny_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert variants_main([str(tiny_copy), "--precision", "fp16", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "fp16" in out and "x fp32" in out
    data = json.loads((tiny_copy / "manifest.json").read_text())
    assert {g["precision"] for g in data["graphs"]} == {"fp32", "fp16"}
    assert variants_main([str(tiny_copy), "--precision", "int8"]) == 2
    assert "--stsb" in capsys.readouterr().err


def test_spearman_matches_rank_correlation_with_ties() -> None:
    a = np.array([1.0, 2.0, 2.0, 3.0, 5.0])
    b = np.array([2.0, 1.0, 4.0, 4.0, 9.0])
    # scipy.stats.spearmanr(a, b).statistic for these values
    assert spearman(a, b) == pytest.approx(0.7631578947368421)
    assert spearman(a, a) == pytest.approx(1.0)


def test_export_with_precision_adds_variants_before_the_move(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from ese.exporter import export

    result = export(tiny_model_dir, [1], tmp_path / "out", precisions="fp32,fp16")
    assert result.variants is not None
    manifest = open_export(tmp_path / "out").manifest
    assert {g.key for g in manifest.graphs} == {(1, Precision.FP32), (1, Precision.FP16)}
    with pytest.raises(UserError, match="--stsb"):
        export(tiny_model_dir, [1], tmp_path / "other", precisions="fp32,int8")
    assert not (tmp_path / "other").exists()


_RACER = """
import sys, time
from pathlib import Path
import ese.exporter.variants.add  # the heavy imports, before the start line
from ese.exporter.variants.cli import main
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.01)
sys.exit(main(sys.argv[2:]))
"""


def test_two_concurrent_runs_both_land_in_the_manifest(
    tiny_copy: Path, data_dir: Path, tmp_path: Path
) -> None:
    """fp16 and int8 started together on one export: the lock makes the second read the
    manifest the first wrote, so both runs' graphs are listed and no file is orphaned."""
    import subprocess
    import sys

    rows = (data_dir / "stsb" / "sts-test.csv").read_text(encoding="utf-8").splitlines()[:40]
    stsb = tmp_path / "sts-test.csv"
    stsb.write_text("\n".join(rows) + "\n", encoding="utf-8")
    go = tmp_path / "go"
    loose = ["--int8-min-cosine", "0.5", "--stsb-max-drop", "100", "--quiet"]
    runs = [
        [str(tiny_copy), "--precision", "fp16", *loose],
        [str(tiny_copy), "--precision", "int8", "--stsb", str(stsb), *loose],
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(go), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in runs
    ]
    go.touch()
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    manifest = open_export(tiny_copy).manifest  # every listed file checked by sha256
    assert {g.precision for g in manifest.graphs} == {
        Precision.FP32,
        Precision.FP16,
        Precision.INT8,
    }
    listed = {f.path for f in manifest.all_files()}
    on_disk = {f"graphs/{p.name}" for p in (tiny_copy / "graphs").iterdir()}
    assert on_disk - listed == set(), "files no manifest entry lists"
