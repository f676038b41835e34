"""Loading an export: schema, sha256 of every file, paths confined; clear errors otherwise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ese.format.errors import ExportDirError, IntegrityError, ManifestError
from ese.runtime import Embedder, UserError
from ese.runtime.errors import ProviderError


@pytest.fixture
def export_copy(tiny_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_export, tmp_path / "export"))


def edit_manifest(root: Path, change: dict[str, object]) -> None:
    path = root / "manifest.json"
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ExportDirError, match=r"does not exist.*ese-export --out"):
        Embedder(tmp_path / "nowhere")


def test_directory_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no manifest.json"):
        Embedder(tmp_path)


def test_missing_graph_file(export_copy: Path) -> None:
    (export_copy / "graphs/depth-01.onnx").unlink()
    with pytest.raises(IntegrityError, match=r"depth-01.onnx is listed in the manifest but"):
        Embedder(export_copy)


def test_corrupt_weights_are_caught_by_sha256(export_copy: Path) -> None:
    weights = export_copy / "graphs/weights.bin"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"weights.bin has sha256 .* was modified"):
        Embedder(export_copy)


def test_truncated_file_is_caught_by_size(export_copy: Path) -> None:
    tokenizer = export_copy / "tokenizer/tokenizer.json"
    tokenizer.write_bytes(tokenizer.read_bytes()[:100])
    with pytest.raises(IntegrityError, match=r"tokenizer.json is 100 bytes"):
        Embedder(export_copy)


def test_unknown_schema_version(export_copy: Path) -> None:
    edit_manifest(export_copy, {"schema_version": 99})
    with pytest.raises(ManifestError, match=r"schema_version is 99.*re-export"):
        Embedder(export_copy)


def test_not_an_ese_manifest(export_copy: Path) -> None:
    edit_manifest(export_copy, {"schema": "something.else"})
    with pytest.raises(ManifestError, match=r"not an ese export directory"):
        Embedder(export_copy)


def test_manifest_that_is_not_json(export_copy: Path) -> None:
    (export_copy / "manifest.json").write_text("{ nope")
    with pytest.raises(ManifestError, match=r"not valid JSON"):
        Embedder(export_copy)


def test_path_escaping_the_directory_is_refused(export_copy: Path) -> None:
    data = json.loads((export_copy / "manifest.json").read_text())
    data["graphs"][0]["file"]["path"] = "../outside.onnx"
    (export_copy / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=r"not a relative path inside the export"):
        Embedder(export_copy)


def test_symlink_out_of_the_directory_is_refused(export_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.onnx"
    shutil.copy(export_copy / "graphs/depth-02.onnx", outside)
    (export_copy / "graphs/depth-02.onnx").unlink()
    (export_copy / "graphs/depth-02.onnx").symlink_to(outside)
    with pytest.raises(IntegrityError, match=r"outside the export directory"):
        Embedder(export_copy)


def test_verify_false_skips_digests_but_not_loading(export_copy: Path) -> None:
    weights = export_copy / "graphs/weights.bin"
    weights.write_bytes(weights.read_bytes())  # same bytes: loads either way
    assert Embedder(export_copy, verify=False).encode(["hi"]).shape == (1, 32)


def test_providers_are_checked_at_load(tiny_export: Path) -> None:
    with pytest.raises(ProviderError, match=r"unknown execution provider 'gpu0'.*CPUExecution"):
        Embedder(tiny_export, providers="gpu0")


def test_budget_must_be_a_budget(tiny_export: Path) -> None:
    with pytest.raises(TypeError, match=r"budget must be an ese.runtime.Budget"):
        Embedder(tiny_export, budget={"latency_ms": 5})  # type: ignore[arg-type]


def test_every_load_error_is_a_user_error() -> None:
    for error in (ExportDirError, IntegrityError, ManifestError, ProviderError):
        assert issubclass(error, UserError)
