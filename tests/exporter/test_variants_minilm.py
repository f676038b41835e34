"""int8 and fp16 variants of the bundled MiniLM: the real gate figures, disk, runtime use."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from tokenizers import Tokenizer

from ese.exporter.projection.calibration import read_corpus
from ese.exporter.variants.add import VariantsResult, add_variants
from ese.exporter.variants.gate import open_session, probe_agreement
from ese.exporter.variants.quantize_int8 import Int8Calibration, int8_from_fp32
from ese.exporter.variants.record import Gates
from ese.exporter.variants.stsb import StsbPairs, read_stsb
from ese.format.contract import Precision
from ese.runtime import Embedder

pytestmark = pytest.mark.slow

# Measured here (x86_64 AVX2, ONNX Runtime 1.32): without smoothing the probe-set mean cosine
# of per-channel dynamic int8 at depth 6 is 0.985 (the empty, "Hi" and "ok" probes fall to
# 0.96-0.98) and the default gate (0.99) refuses it; smoothed, every depth passes.


@pytest.fixture(scope="module")
def pairs(data_dir: Path) -> StsbPairs:
    return read_stsb(data_dir / "stsb" / "sts-test.csv").head(300)


@pytest.fixture(scope="module")
def minilm_variants(
    minilm_export: Path, pairs: StsbPairs, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, VariantsResult]:
    out = tmp_path_factory.mktemp("variants") / "minilm"
    shutil.copytree(minilm_export, out)
    result = add_variants(out, ["int8", "fp16"], stsb=pairs)
    return out, result


def test_int8_quality_disk_and_fp16_parity(minilm_variants: tuple[Path, VariantsResult]) -> None:
    _, result = minilm_variants
    reports = {(r.depth, r.precision): r for r in result.reports}
    for depth in (2, 4, 6):
        int8 = reports[(depth, Precision.INT8)].figures
        assert int8.agreement is not None and int8.agreement.mean_cosine >= 0.99
        assert int8.stsb_delta is not None and int8.stsb_delta >= -1.0
        assert "smoothed" in reports[(depth, Precision.INT8)].note
        fp16 = reports[(depth, Precision.FP16)].figures
        assert fp16.agreement is not None and fp16.agreement.min_cosine >= 0.999
    # the depths share their smoothed layers' int8 weights, so they are stored once
    disk = result.disk_bytes
    assert disk[Precision.INT8] <= 0.35 * disk[Precision.FP32]
    entry = result.manifest.graph(6, Precision.INT8)
    assert "smoothed" in (entry.parity.reference or "")


def test_runtime_runs_the_int8_graph(minilm_variants: tuple[Path, VariantsResult]) -> None:
    out, _ = minilm_variants
    texts = ["A man is playing a guitar.", "A woman is slicing an onion.", "ok"]
    with Embedder(out, precision="int8", providers="cpu", depth=6, measure=False) as int8:
        assert int8.choice.precision is Precision.INT8
        got = int8.encode(texts)
    with Embedder(out, precision="fp32", providers="cpu", depth=6, measure=False) as fp32:
        want = fp32.encode(texts)
    assert np.sum(got * want, axis=1).min() > 0.95


def test_smoothing_is_what_lifts_depth_6_over_the_gate(minilm_export: Path) -> None:
    tokenizer = Tokenizer.from_file(str(minilm_export / "tokenizer" / "tokenizer.json"))
    fp32_path = minilm_export / "graphs" / "depth-06.onnx"
    reference = open_session(fp32_path)
    calibration = Int8Calibration.from_texts(tokenizer, read_corpus(None).texts)
    cosines = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, given in (("plain", None), ("smoothed", calibration)):
            path = Path(tmp) / f"{name}.onnx"
            onnx.save(int8_from_fp32(fp32_path, given), str(path))
            agreement = probe_agreement(reference, open_session(path), tokenizer)
            cosines[name] = agreement.mean_cosine
    assert cosines["plain"] < Gates().int8_mean_cosine <= cosines["smoothed"], cosines
