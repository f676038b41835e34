"""Every supported encoder family and pooling mode exports and matches PyTorch."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from tiny_models import FAMILIES, make_tiny_model

from ese.exporter import export
from ese.exporter.projection.calibration import default_corpus
from ese.format import contract
from ese.format.export_dir import open_export


@pytest.fixture(scope="module")
def calibration_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("calibration") / "sentences.txt"
    path.write_text("\n".join(default_corpus().texts[:200]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("family", FAMILIES)
def test_family_exports_with_parity(family: str, tmp_path: Path, calibration_file: Path) -> None:
    model = make_tiny_model(tmp_path / family, family, layers=3)
    result = export(model, [1, 3], tmp_path / "out", calibration=calibration_file)
    manifest = open_export(result.out).manifest
    assert manifest.source.model_type == family
    assert manifest.depths == (1, 3)
    for graph in manifest.graphs:
        assert graph.parity.max_abs_diff <= 1e-4
    graph = onnx.load(str(result.out / contract.graph_file(1)), load_external_data=False)
    names = tuple(i.name for i in graph.graph.input)
    assert names == contract.input_names(manifest.source.uses_token_type_ids)
    assert manifest.source.uses_token_type_ids == (family in ("bert", "electra"))


def test_twelve_layers_at_depths_4_6_12(tmp_path: Path, calibration_file: Path) -> None:
    model = make_tiny_model(tmp_path / "bert12", "bert", layers=12)
    result = export(model, [12, 4, 6], tmp_path / "out", calibration=calibration_file)
    assert [r.depth for r in result.depths] == [4, 6, 12]
    assert result.manifest.source.num_layers == 12
    sizes = [result.manifest.graph(d).weight_bytes for d in (4, 6, 12)]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3


@pytest.mark.parametrize("pooling", ["cls", "max", "mean_sqrt_len"])
def test_pooling_modes_from_sentence_transformers_config(
    pooling: str, tmp_path: Path, calibration_file: Path
) -> None:
    model = make_tiny_model(tmp_path / pooling, "bert", pooling=pooling, normalize=True)
    result = export(model, [2], tmp_path / "out", calibration=calibration_file)
    assert result.manifest.source.pooling.value == pooling
    assert result.manifest.source.normalize is True
    assert result.manifest.graphs[0].parity.max_abs_diff <= 1e-4


def test_plain_hugging_face_model_exports_with_the_pooling_given(tmp_path: Path) -> None:
    model = make_tiny_model(tmp_path / "hf", "roberta", sentence_transformers=False)
    result = export(model, [2], tmp_path / "out", projection="none", pooling="mean")
    source = result.manifest.source
    assert source.pooling is contract.Pooling.MEAN and source.normalize is False
    assert source.pooling_source == "--pooling mean"
    assert source.max_seq_length == 64  # 66 positions less RoBERTa's padding offset
    assert result.manifest.projection.kind is contract.Projection.NONE
