"""int8 and fp16 variants of the bundled MiniLM: the real gate figures, disk, runtime use."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ese.exporter.variants import VariantsResult, add_variants
from ese.exporter.variants_errors import VariantGateError
from ese.exporter.variants_record import Gates
from ese.exporter.variants_stsb import StsbPairs, read_stsb
from ese.runtime import Embedder
from ese.runtime.contract import Precision

pytestmark = pytest.mark.slow

# Measured here (x86_64 AVX2, ONNX Runtime 1.32): the probe-set mean cosine of per-channel
# dynamic int8 is 0.99+ at depths 2 and 4 but 0.985 at depth 6, where the empty, "Hi" and "ok"
# probes fall to 0.96-0.98 (on STS-B sentences it is 0.992). The default gate (0.99) therefore
# refuses depth 6; these tests pin both facts.
MEASURED_FLOOR = Gates(int8_mean_cosine=0.98)


@pytest.fixture(scope="module")
def pairs(data_dir: Path) -> StsbPairs:
    full = read_stsb(data_dir / "stsb" / "sts-test.csv")
    n = 300
    return StsbPairs(full.source, full.first[:n], full.second[:n], full.gold[:n])


@pytest.fixture(scope="module")
def minilm_variants(
    minilm_export: Path, pairs: StsbPairs, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, VariantsResult]:
    out = tmp_path_factory.mktemp("variants") / "minilm"
    shutil.copytree(minilm_export, out)
    result = add_variants(out, ["int8", "fp16"], stsb=pairs, gates=MEASURED_FLOOR)
    return out, result


def test_int8_quality_disk_and_fp16_parity(minilm_variants: tuple[Path, VariantsResult]) -> None:
    _, result = minilm_variants
    reports = {(r.depth, r.precision): r for r in result.reports}
    for depth in (2, 4, 6):
        int8 = reports[(depth, Precision.INT8)].figures
        assert int8.agreement is not None and int8.agreement.mean_cosine >= 0.98
        assert int8.stsb_delta is not None and int8.stsb_delta >= -1.0
        fp16 = reports[(depth, Precision.FP16)].figures
        assert fp16.agreement is not None and fp16.agreement.min_cosine >= 0.999
    for depth in (2, 4):
        agreement = reports[(depth, Precision.INT8)].figures.agreement
        assert agreement is not None and agreement.mean_cosine >= 0.99
    disk = result.disk_bytes
    assert disk[Precision.INT8] <= 0.35 * disk[Precision.FP32]


def test_runtime_runs_the_int8_graph(minilm_variants: tuple[Path, VariantsResult]) -> None:
    out, _ = minilm_variants
    texts = ["A man is playing a guitar.", "A woman is slicing an onion.", "ok"]
    with Embedder(out, precision="int8", providers="cpu", depth=6, measure=False) as int8:
        assert int8.choice.precision is Precision.INT8
        got = int8.encode(texts)
    with Embedder(out, precision="fp32", providers="cpu", depth=6, measure=False) as fp32:
        want = fp32.encode(texts)
    assert np.sum(got * want, axis=1).min() > 0.95


def test_default_gate_refuses_depth_6_and_leaves_the_export(
    minilm_export: Path, pairs: StsbPairs, tmp_path: Path
) -> None:
    out = tmp_path / "minilm"
    shutil.copytree(minilm_export, out)
    before = (out / "manifest.json").read_bytes()
    few = StsbPairs(pairs.source, pairs.first[:40], pairs.second[:40], pairs.gold[:40])
    with pytest.raises(VariantGateError, match=r"depth 6 int8: mean cosine") as info:
        add_variants(out, ["int8"], stsb=few)
    assert "depth 2 int8: mean cosine" not in str(info.value).split("measured:")[0]
    assert (out / "manifest.json").read_bytes() == before
    assert not (out / "graphs" / "weights.int8.bin").exists()
