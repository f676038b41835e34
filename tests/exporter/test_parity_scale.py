"""The parity tolerance scales with the vectors: an unnormalised model whose sums over long
texts are large passes when the graph is exact, and a real mismatch still fails."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from tiny_models import make_tiny_model
from tokenizers import Tokenizer

from ese.exporter import export
from ese.exporter.graph.parity import PROBE_BATCHES, ParityReference, measure_parity
from ese.exporter.source.tokenizer_files import tokenize
from ese.format import contract, input_names

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SCALE = 2000.0


def _large_model(directory: Path) -> Path:
    """A tiny BERT whose layers' output LayerNorms are scaled by SCALE: no Normalize step, so
    summed over up to 48 tokens its vectors reach about 1e5 (float32 rounding near 1e-2)."""
    model_dir = make_tiny_model(directory, "bert", pooling="mean")
    model = transformers.AutoModel.from_pretrained(model_dir).eval()
    with torch.no_grad():
        for layer in model.encoder.layer:
            layer.output.LayerNorm.weight.mul_(SCALE)
            layer.output.LayerNorm.bias.mul_(SCALE)
    model.save_pretrained(model_dir, safe_serialization=True)
    return model_dir


def test_sum_pooling_of_a_large_unnormalised_model_passes_parity(tmp_path: Path) -> None:
    model = _large_model(tmp_path / "m")
    result = export(model, [1, 2], tmp_path / "out", projection="none", pooling="sum")
    for row in result.depths:
        parity = row.parity
        assert parity.min_cosine > 0.99999
        assert parity.tolerance > 1.0  # 1e-4 x the largest |value| (about 1e5)
        assert parity.max_abs_diff <= parity.tolerance


def test_a_real_mismatch_still_fails_the_scaled_tolerance(tmp_path: Path) -> None:
    model = _large_model(tmp_path / "m")
    out = tmp_path / "out"
    export(model, [1], out, projection="none", pooling="sum")
    graph = out / contract.graph_file(1)
    tokenizer = Tokenizer.from_file(str(out / contract.TOKENIZER_FILE))
    import onnxruntime as ort

    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    feeds, outputs = [], []
    for batch in PROBE_BATCHES:
        arrays = tokenize(tokenizer, list(batch))
        feed = {name: arrays[name] for name in input_names(True)}
        feeds.append(feed)
        outputs.append(session.run([contract.OUTPUT], feed)[0])
    exact = ParityReference(tuple(feeds), tuple(outputs))
    same = measure_parity(graph, exact)
    assert same.max_abs_diff == 0.0 and same.tolerance > 1.0
    # one coordinate of one vector off by 1e-3 of the vectors' scale: beyond 1e-4 of it
    wrong = [o.copy() for o in outputs]
    largest = max(float(np.abs(o).max()) for o in outputs)
    wrong[1][0, 0] += 1e-3 * largest
    failed = measure_parity(graph, replace(exact, outputs=tuple(wrong)))
    assert failed.max_abs_diff > failed.tolerance
    assert failed.tolerance == pytest.approx(1e-4 * largest, rel=1e-3)
