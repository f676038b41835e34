"""ese-export --triton REPO: the export and its Triton model repository in one command."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from ese.exporter.cli import main


def _export_with_triton(model: Path, depths: str, out: Path, repo: Path) -> int:
    argv = [str(model), "--depths", depths, "--out", str(out), "--projection", "none"]
    return main([*argv, "--triton", str(repo), "--quiet"])


def test_export_writes_a_triton_repository(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, repo = tmp_path / "export", tmp_path / "repo"
    code = _export_with_triton(tiny_model_dir, "1,2", out, repo)
    assert code == 0, capsys.readouterr().err
    assert (out / "manifest.json").is_file()
    configs = sorted(p.parent.name for p in repo.glob("*/config.pbtxt"))
    assert configs == ["ese", "ese_depth_01_fp32", "ese_depth_02_fp32"]
    config = text_format.Parse(
        (repo / "ese_depth_02_fp32" / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
    )
    assert config.platform == "onnxruntime_onnx"
    assert [o.name for o in config.output] == ["sentence_embedding"]
    assert (repo / "ese_depth_02_fp32" / "1" / "weights.bin").is_file()


def test_a_bad_triton_repository_is_refused_before_the_export(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, repo = tmp_path / "export", tmp_path / "repo"
    repo.mkdir()
    (repo / "mine.txt").write_text("keep")
    code = _export_with_triton(tiny_model_dir, "1", out, repo)
    assert code == 2
    assert "--triton" in capsys.readouterr().err
    assert not out.exists()  # checked up front: no minutes of export work for nothing
    assert (repo / "mine.txt").read_text() == "keep"
