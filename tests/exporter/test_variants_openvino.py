"""The int8-openvino variant (NNCF) on the tiny export: built, gated in OpenVINO, listed, run.

Real NNCF, real OpenVINO, real ONNX Runtime; skipped with the reason where the
``[openvino-int8]`` extra is not installed. The missing-NNCF error runs in a subprocess where
``sys.modules["nncf"] = None`` (how Python marks a module absent), so the real import path
raises without uninstalling anything from the shared virtualenv.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from commands import run_python

from ese.exporter.variants.add import add_variants
from ese.exporter.variants.cli import main as variants_main
from ese.exporter.variants.record import Gates
from ese.exporter.variants.stsb import StsbPairs
from ese.format.contract import Precision
from ese.format.export_dir import open_export
from ese.runtime import Embedder
from ese.runtime.backends.openvino.cache import file_sha256

needs_nncf = pytest.mark.skipif(
    importlib.util.find_spec("nncf") is None or importlib.util.find_spec("openvino") is None,
    reason="nncf / openvino are not installed (pip install '.[openvino-int8]')",
)
# A random tiny model cannot meet the real gates; these test the mechanics only.
LOOSE = Gates(int8_mean_cosine=0.5, stsb_max_drop=100.0)
TEXTS = ["A man is playing a guitar.", "", "Two dogs run in a snowy field. " * 4, "Hi."]


@pytest.fixture()
def tiny_copy(tiny_export: Path, tmp_path: Path) -> Path:
    out = tmp_path / "tiny"
    shutil.copytree(tiny_export, out)
    return out


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): file_sha256(p) for p in sorted(root.rglob("*")) if p.is_file()
    }


@needs_nncf
def test_int8_openvino_graphs_are_added_gated_in_openvino_and_run(
    tiny_copy: Path, few_pairs: StsbPairs
) -> None:
    result = add_variants(tiny_copy, ["int8-openvino"], stsb=few_pairs, gates=LOOSE)
    export = open_export(tiny_copy)  # checks every listed file's sha256 and size
    for depth in (1, 2):
        graph = export.manifest.graph(depth, Precision.INT8_OPENVINO)
        assert graph.file.path == f"graphs/depth-{depth:02d}.int8-openvino.onnx"
        assert [f.path for f in graph.external_data] == ["graphs/weights.int8-openvino.bin"]
        assert graph.file.sha256 == file_sha256(tiny_copy / graph.file.path)
        # gated where it runs, by the int8 gate, with STS-B beside fp32's
        assert graph.parity.reference.startswith("fp32 graph on OpenVINO ")
        assert "STS-B" in graph.parity.reference and "NNCF" in graph.parity.reference
        assert graph.parity.probes > 0 and graph.parity.tolerance == pytest.approx(0.5)
        assert set(graph.quality["stsb"]) == {32}
        model = onnx.load(str(tiny_copy / graph.file.path), load_external_data=False)
        ops = {n.op_type for n in model.graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops
        assert "DynamicQuantizeLinear" not in ops  # not ONNX Runtime's dynamic int8
    assert {r.precision for r in result.reports} == {Precision.INT8_OPENVINO}
    assert sorted(p.name for p in (tiny_copy / "graphs").iterdir() if "partial" in p.name) == []

    fp32 = Embedder(tiny_copy, providers="cpu", precision="fp32", depth=2).encode(TEXTS, dims=32)
    ov = Embedder(tiny_copy, providers="openvino", precision="int8-openvino", depth=2)
    assert ov.choice.precision is Precision.INT8_OPENVINO
    got = ov.encode(TEXTS, dims=32)
    cosines = np.sum(fp32 * got, axis=1)
    assert cosines.min() > 0.9, cosines


@needs_nncf
def test_a_failed_int8_openvino_gate_leaves_the_export_unchanged_and_stdout_clean(
    tiny_copy: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _digests(tiny_copy)
    argv = [str(tiny_copy), "--precision", "int8-openvino", "--quiet"]
    argv += ["--stsb", str(data_dir / "stsb" / "sts-test.csv"), "--int8-min-cosine", "1.0"]
    assert variants_main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""  # NNCF's progress bars must not reach stdout
    assert "int8-openvino: mean cosine to fp32" in err and "left unchanged" in err
    assert _digests(tiny_copy) == before


def test_int8_openvino_without_nncf_names_the_extra(
    tiny_export: Path, tmp_path: Path, data_dir: Path
) -> None:
    copy = tmp_path / "tiny"
    shutil.copytree(tiny_export, copy)
    stsb = data_dir / "stsb" / "sts-test.csv"
    code = (
        "import sys; sys.modules['nncf'] = None\n"
        "from ese.exporter.variants.cli import main\n"
        f"sys.exit(main([{str(copy)!r}, '--precision', 'int8-openvino', '--stsb', {str(stsb)!r},"
        " '--quiet']))\n"
    )
    before = _digests(copy)
    done = run_python("-c", code, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "pip install 'ese-toolchain[openvino-int8]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert _digests(copy) == before
