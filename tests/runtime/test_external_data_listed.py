"""A graph reads tensor data only from files its manifest entry lists (so their sha256 is
checked), and a NUL byte in a manifest path is refused as a manifest error, exit 2."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import onnx
import pytest

from ese.format import file_entry, read_manifest, write_manifest
from ese.format.errors import IntegrityError
from ese.format.export_dir import open_export
from ese.runtime import Embedder
from ese.runtime.cli.embed import main as ese_embed

GRAPH = "graphs/depth-01.onnx"


def _point_weights_at(export_dir: Path, location: str) -> None:
    """Rewrite depth 1's tensors to read ``location``, and list the rewritten graph file with
    its true sha256: every listed file checks out, the new location is in no list."""
    path = export_dir / GRAPH
    model = onnx.load(str(path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(model, str(path))
    manifest = read_manifest(export_dir)
    graphs = tuple(
        replace(g, file=file_entry(export_dir, GRAPH)) if g.file.path == GRAPH else g
        for g in manifest.graphs
    )
    write_manifest(export_dir, replace(manifest, graphs=graphs))


@pytest.mark.parametrize("location", ["unlisted.bin", "../manifest-copy.bin"])
def test_a_graph_reading_an_unlisted_data_file_is_refused(
    tiny_export: Path, tmp_path: Path, location: str
) -> None:
    export_dir = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    decoy = (export_dir / "graphs" / location).resolve()
    shutil.copyfile(export_dir / "graphs" / "weights.bin", decoy)
    _point_weights_at(export_dir, location)
    with pytest.raises(
        IntegrityError, match=r"depth-01.onnx reads tensor data from .*does not list"
    ):
        open_export(export_dir)
    with pytest.raises(IntegrityError, match="does not list"):
        Embedder(export_dir)


def test_a_nul_byte_in_a_manifest_path_exits_2(
    tiny_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export_dir = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    data = json.loads((export_dir / "manifest.json").read_text())
    data["graphs"][0]["file"]["path"] = "graphs/depth-01\u0000.onnx"
    (export_dir / "manifest.json").write_text(json.dumps(data))
    assert ese_embed([str(export_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ese-embed: error: ") and err.count("\n") == 1, err
