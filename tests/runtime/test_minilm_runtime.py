"""The runtime on the real bundled all-MiniLM-L6-v2 export (depths 2, 4, 6): realism checks."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from ese.format.contract import TOKENIZER_FILE
from ese.format.profile import profile_path
from ese.runtime import Budget, Embedder

pytestmark = pytest.mark.slow


def stsb_pairs(data_dir: Path, n: int) -> tuple[list[str], list[str], np.ndarray]:
    with (data_dir / "stsb" / "sts-test.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:n]
    return [r[5] for r in rows], [r[6] for r in rows], np.array([float(r[4]) for r in rows])


def test_runtime_matches_a_bare_session(minilm_export: Path, data_dir: Path) -> None:
    first, second, _ = stsb_pairs(data_dir, 24)
    texts = [*first, *second, "", "word " * 400]
    emb = Embedder(minilm_export)
    assert emb.depth == 6 and emb.dims == 384  # the best measured depth, at its full width
    with pytest.warns(UserWarning, match="1 of 50 inputs"):
        got = emb.encode(texts, batch_size=16, dims=384)  # no size bound: the full width

    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(minilm_export / TOKENIZER_FILE))
    tokenizer.no_padding()
    session = ort.InferenceSession(
        str(minilm_export / "graphs/depth-06.onnx"), providers=["CPUExecutionProvider"]
    )
    for row, text in enumerate(texts):
        enc = tokenizer.encode(text)
        feed = {
            "input_ids": np.array([enc.ids], dtype=np.int64),
            "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([enc.type_ids], dtype=np.int64),
        }
        (raw,) = session.run(["sentence_embedding"], feed)
        expected = raw[0] / np.linalg.norm(raw[0])
        np.testing.assert_allclose(got[row], expected, atol=2e-5, err_msg=text[:40])


def test_tokenizer_matches_the_models_own(minilm_export: Path, data_dir: Path) -> None:
    from transformers import AutoTokenizer

    from ese.exporter.source.load import bundled_model_path

    hf = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    first, _, _ = stsb_pairs(data_dir, 20)
    texts = [*first, "", "  spaced   out  ", "Ünïcödé façade naïve", "word " * 400]
    emb = Embedder(minilm_export)
    assert emb.max_seq_length == 256
    ours, cut = emb.tokenizer.encode(texts)
    assert cut == 1
    theirs = hf(texts, truncation=True, max_length=256)["input_ids"]
    assert [e.ids for e in ours] == theirs


def test_paraphrases_stay_closer_than_unrelated_pairs(minilm_export: Path, data_dir: Path) -> None:
    first, second, gold = stsb_pairs(data_dir, 120)
    high, low = gold >= 4.0, gold <= 1.0
    assert high.sum() >= 10 and low.sum() >= 10
    for depth in (2, 4, 6):
        emb = Embedder(minilm_export, depth=depth)
        a = emb.encode(first, batch_size=32, dims=384)
        b = emb.encode(second, batch_size=32, dims=384)
        for dims in (64, 384):
            cos = np.sum(a[:, :dims] * b[:, :dims], axis=1) / (
                np.linalg.norm(a[:, :dims], axis=1) * np.linalg.norm(b[:, :dims], axis=1)
            )
            narrowed = emb.encode(first[:4], dims=dims)
            np.testing.assert_allclose(
                narrowed,
                a[:4, :dims] / np.linalg.norm(a[:4, :dims], axis=1, keepdims=True),
                atol=1e-5,
            )
            margin = cos[high].mean() - cos[low].mean()
            assert margin > 0.15, (depth, dims, margin)


def test_measured_memory_and_latency_drive_a_real_choice(
    minilm_export: Path, tmp_path: Path
) -> None:
    export = Path(shutil.copytree(minilm_export, tmp_path / "minilm"))
    shape = {"batch_size": 4, "seq_len": 32}
    best = Embedder(export, budget=Budget(latency_ms=1e5, memory_mb=1e5, **shape))
    assert best.depth == 6 and "measured now" in best.choice.profile
    (path,) = (export / "profiles").iterdir()
    assert path == profile_path(export, path.stem)
    entries = {e["depth"]: e for e in json.loads(path.read_text())["entries"]}
    assert sorted(entries) == [2, 4, 6]
    # 4 more layers of 384-wide BERT hold about 28 MB of fp32 weights
    assert entries[6]["peak_memory_mb"] - entries[2]["peak_memory_mb"] > 15
    assert entries[2]["peak_memory_mb"] > 40  # the 30522 x 384 word embeddings alone: 47 MB

    # Latency-driven choice on injected figures (measured timings are noisy on a loaded
    # machine: a test asserts on them never): depth d takes d ms in the cached profile.
    profile = json.loads(path.read_text())
    for entry in profile["entries"]:
        entry["latency_ms_p50"] = entry["latency_ms_p90"] = float(entry["depth"])
    path.write_text(json.dumps(profile))
    shallow = Embedder(export, budget=Budget(latency_ms=5.5, **shape), measure=False)
    assert shallow.depth == 4
    assert shallow.choice.latency_ms == 4.0
    memory = Embedder(
        export,
        budget=Budget(memory_mb=entries[6]["peak_memory_mb"] - 1, **shape),
        measure=False,
    )
    assert memory.depth < 6
