"""The real bundled all-MiniLM-L6-v2: parity, sentence-transformers agreement, disk, contract."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from ese.format import contract
from ese.format.export_dir import open_export
from ese.format.manifest import read_manifest

pytestmark = pytest.mark.slow


def _stsb_sentences(data_dir: Path, n: int) -> list[str]:
    with (data_dir / "stsb" / "sts-test.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row[5] for row in rows[:n]] + [row[6] for row in rows[:n]]


def test_every_depth_matches_pytorch(minilm_export: Path) -> None:
    manifest = open_export(minilm_export).manifest
    assert manifest.depths == (2, 4, 6)
    for graph in manifest.graphs:
        assert graph.parity.max_abs_diff <= 1e-4, graph
        assert graph.parity.min_cosine >= 0.9999
        assert graph.parity.probes >= 8
        assert graph.dims == 384


def test_graphs_follow_the_io_contract(minilm_export: Path) -> None:
    for depth in (2, 4, 6):
        path = minilm_export / contract.graph_file(depth)
        model = onnx.load(str(path), load_external_data=False)
        inputs = {i.name: i for i in model.graph.input}
        assert tuple(inputs) == contract.input_names(uses_token_type_ids=True)
        for tensor in inputs.values():
            assert tensor.type.tensor_type.elem_type == onnx.TensorProto.INT64
            dims = [d.dim_param for d in tensor.type.tensor_type.shape.dim]
            assert dims == [contract.BATCH_AXIS, contract.SEQUENCE_AXIS]
        (output,) = model.graph.output
        assert output.name == contract.OUTPUT
        assert output.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        shape = output.type.tensor_type.shape.dim
        assert shape[0].dim_param == contract.BATCH_AXIS and shape[1].dim_value == 384


def test_graphs_hold_only_their_layers(minilm_export: Path) -> None:
    manifest = read_manifest(minilm_export)
    sizes = [manifest.graph(d).weight_bytes for d in (2, 4, 6)]
    assert sizes[0] < sizes[1] < sizes[2]
    per_layer = (sizes[2] - sizes[0]) / 4
    assert (sizes[1] - sizes[0]) == pytest.approx(2 * per_layer, rel=0.05)
    layer_nodes = [
        sum(
            1
            for n in onnx.load(
                str(minilm_export / contract.graph_file(d)), load_external_data=False
            ).graph.node
            if "LayerNorm" in n.name
        )
        for d in (2, 4, 6)
    ]
    assert layer_nodes[0] < layer_nodes[1] < layer_nodes[2]


def test_one_copy_of_the_weights(minilm_export: Path, tmp_path: Path) -> None:
    """Several depths cost at most 1.15x the disk of the full model's single graph."""
    from ese.exporter.graph.module import SentenceEmbeddingModule
    from ese.exporter.graph.onnx_graph import onnx_from_module
    from ese.exporter.source.load import load_encoder, read_model_dir

    model_dir = read_model_dir(None)
    module = SentenceEmbeddingModule(
        load_encoder(model_dir), model_dir.pooling, model_dir.normalize, None, True
    )
    single = len(onnx_from_module(module, 384).SerializeToString())
    graphs = sum(p.stat().st_size for p in (minilm_export / "graphs").iterdir())
    assert graphs <= 1.15 * single, (graphs, single)


def test_tokenizer_pads_to_longest_and_truncates_at_max_length(minilm_export: Path) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(minilm_export / contract.TOKENIZER_FILE))
    short, long = tokenizer.encode_batch(["a b", "word " * 1000])
    assert len(long.ids) == 256 == len(short.ids)
    (alone,) = tokenizer.encode_batch(["a b"])
    assert len(alone.ids) == 4


def test_projection_none_reproduces_sentence_transformers(tmp_path: Path, data_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    from ese.exporter import export
    from ese.exporter.source.load import bundled_model_path
    from ese.exporter.source.tokenizer_files import tokenize

    out = tmp_path / "raw"
    result = export(None, [6], out, projection="none")
    assert result.manifest.projection.kind is contract.Projection.NONE
    sentences = [*_stsb_sentences(data_dir, 32), "", "word " * 400]
    expected = SentenceTransformer(str(bundled_model_path()), device="cpu").encode(
        sentences, batch_size=16, convert_to_numpy=True, normalize_embeddings=True
    )
    tokenizer = Tokenizer.from_file(str(out / contract.TOKENIZER_FILE))
    session = ort.InferenceSession(
        str(out / contract.graph_file(6)), providers=["CPUExecutionProvider"]
    )
    got = np.concatenate(
        [
            session.run([contract.OUTPUT], tokenize(tokenizer, sentences[i : i + 16]))[0]
            for i in range(0, len(sentences), 16)
        ]
    )
    got /= np.linalg.norm(got, axis=1, keepdims=True)
    cosines = np.sum(got * expected, axis=1)
    assert cosines.min() >= 0.9999, cosines.min()


def test_pca_orders_dimensions_by_variance(minilm_export: Path, data_dir: Path) -> None:
    from tokenizers import Tokenizer

    from ese.exporter.projection.calibration import default_corpus
    from ese.exporter.source.tokenizer_files import tokenize

    tokenizer = Tokenizer.from_file(str(minilm_export / contract.TOKENIZER_FILE))
    session = ort.InferenceSession(
        str(minilm_export / contract.graph_file(4)), providers=["CPUExecutionProvider"]
    )
    vectors = session.run([contract.OUTPUT], tokenize(tokenizer, _stsb_sentences(data_dir, 100)))[0]
    variance = vectors.var(axis=0)
    assert variance[:32].mean() > 5 * variance[-128:].mean()
    # Centred on the calibration corpus: its sentences average to (nearly) zero.
    calibration = tokenize(tokenizer, list(default_corpus().texts[:600]))
    fitted = session.run([contract.OUTPUT], calibration)[0]
    assert np.all(np.abs(fitted.mean(axis=0)[:16]) < 0.2 * fitted.std(axis=0)[:16])
