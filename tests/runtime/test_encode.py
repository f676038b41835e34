"""Embedder.encode on a real tiny export, checked against a bare onnxruntime session."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from ese.format.contract import TOKENIZER_FILE
from ese.format.errors import BadInputError
from ese.runtime import Budget, Embedder, UserError
from ese.runtime.encode import sliced_unit
from ese.runtime.errors import BudgetError, ProviderError, TruncationWarning

TEXTS = [
    "a man is playing the guitar",
    "the quick brown fox jumps over the lazy dog in the park on a sunny day",
    "hi",
    "two people sit in the kitchen",
    "a dog",
    "red blue green small large car horse water sun day night",
    "the cat sits",
    "yes",
    "a woman is eating food with a child at night in the street",
]


@pytest.fixture(scope="module")
def embedder(tiny_export: Path) -> Embedder:
    return Embedder(tiny_export)


def reference(export: Path, depth: int, texts: list[str], dims: int | None = None) -> np.ndarray:
    """One text at a time, no padding, straight through onnxruntime; slice, then normalise."""
    tokenizer = Tokenizer.from_file(str(export / TOKENIZER_FILE))
    tokenizer.no_padding()
    session = ort.InferenceSession(
        str(export / f"graphs/depth-{depth:02d}.onnx"), providers=["CPUExecutionProvider"]
    )
    names = {i.name for i in session.get_inputs()}
    rows = []
    for text in texts:
        enc = tokenizer.encode(text)
        feed = {
            "input_ids": np.array([enc.ids], dtype=np.int64),
            "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([enc.type_ids], dtype=np.int64),
        }
        (out,) = session.run(["sentence_embedding"], {k: v for k, v in feed.items() if k in names})
        rows.append(out[0, :dims])
    raw = np.stack(rows)
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def test_matches_a_bare_session_in_input_order(embedder: Embedder, tiny_export: Path) -> None:
    got = embedder.encode(TEXTS, batch_size=4)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), embedder.dims)
    np.testing.assert_allclose(got, reference(tiny_export, embedder.depth, TEXTS), atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_padding_and_batching_do_not_change_vectors(embedder: Embedder) -> None:
    one = embedder.encode(TEXTS, batch_size=1)
    for batch_size, chunk in ((3, 4096), (32, 4096), (2, 3)):
        got = embedder.encode(TEXTS, batch_size=batch_size, chunk_size=chunk)
        np.testing.assert_allclose(got, one, atol=2e-5)


def test_slice_first_then_normalise(embedder: Embedder, tiny_export: Path) -> None:
    got = embedder.encode(TEXTS, dims=8)
    assert got.shape == (len(TEXTS), 8)
    np.testing.assert_allclose(got, reference(tiny_export, embedder.depth, TEXTS, 8), atol=2e-5)
    full = embedder.encode(TEXTS, normalize_embeddings=False)
    raw = embedder.encode(TEXTS, dims=8, normalize_embeddings=False)
    np.testing.assert_allclose(raw, full[:, :8], atol=1e-6)
    assert not np.allclose(np.linalg.norm(full, axis=1), 1.0)


def test_budget_width_and_narrowing(tiny_export: Path) -> None:
    narrow = Embedder(tiny_export, budget=Budget(max_dims=16))
    assert narrow.dims == 16 == narrow.get_sentence_embedding_dimension()
    assert narrow.encode(TEXTS).shape == (len(TEXTS), 16)
    assert narrow.encode(TEXTS, dims=6).shape == (len(TEXTS), 6)
    with pytest.raises(ValueError, match=r"dims=17 is outside 1\.\.16.*at most 16"):
        narrow.encode(TEXTS, dims=17)
    with pytest.raises(ValueError, match="dims=0"):
        narrow.encode(TEXTS, dims=0)
    with pytest.raises(TypeError, match="dims must be a whole number"):
        narrow.encode(TEXTS, dims=2.5)  # type: ignore[arg-type]
    # no vector-size bound: the chosen width is the default, the graph's full width may be asked
    free = Embedder(tiny_export)
    full = free.choice.graph_dims
    assert free.encode(TEXTS, dims=full).shape == (len(TEXTS), full)
    with pytest.raises(ValueError, match=f"outside 1\\.\\.{full}"):
        free.encode(TEXTS, dims=full + 1)


def test_shapes_of_empty_single_and_list_outputs(embedder: Embedder) -> None:
    assert embedder.encode([]).shape == (0, embedder.dims)
    assert embedder.encode([]).dtype == np.float32
    assert embedder.encode("hi").shape == (embedder.dims,)
    listed = embedder.encode(["hi", "a dog"], convert_to_numpy=False)
    assert isinstance(listed, list) and len(listed) == 2 and listed[0].shape == (embedder.dims,)
    assert embedder.encode(("hi", "a dog")).shape == (2, embedder.dims)
    assert embedder.encode(t for t in ["hi"]).shape == (1, embedder.dims)


def test_empty_and_whitespace_strings_give_the_same_unit_vector(embedder: Embedder) -> None:
    got = embedder.encode(["", "   ", "\n\t", "hi"])
    assert np.isfinite(got).all()
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got[0], got[1], atol=1e-6)
    np.testing.assert_allclose(got[0], got[2], atol=1e-6)
    assert not np.allclose(got[0], got[3])


@pytest.mark.parametrize(
    ("sentences", "needle"),
    [
        (["ok", None], r"sentences\[1\] is NoneType"),
        (["ok", "fine", 3], r"sentences\[2\] is int"),
        ([b"bytes"], r"sentences\[0\] is bytes"),
        (b"bytes", "not bytes"),
        (42, "not int"),
        (None, "not NoneType"),
    ],
)
def test_non_strings_raise_type_error_naming_the_index(
    embedder: Embedder, sentences: object, needle: str
) -> None:
    with pytest.raises(TypeError, match=needle):
        embedder.encode(sentences)  # type: ignore[arg-type]


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, True])
def test_invalid_batch_size(embedder: Embedder, batch_size: object) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        embedder.encode(["hi"], batch_size=batch_size)  # type: ignore[arg-type]


def test_truncation_warns_once_with_the_count(embedder: Embedder) -> None:
    long = "the quick brown fox jumps over the lazy dog " * 20
    with pytest.warns(TruncationWarning) as record:
        got = embedder.encode([long, "hi", long + "again", "a dog", long])
    assert len(record) == 1
    assert "3 of 5 inputs were longer than the model's 48 tokens" in str(record[0].message)
    np.testing.assert_allclose(got[0], got[4], atol=1e-6)


def test_short_inputs_do_not_warn(embedder: Embedder) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        embedder.encode(TEXTS)


def test_a_megabyte_string_is_truncated_not_a_crash(embedder: Embedder) -> None:
    huge = "the dog runs in the park. " * 40_000  # ~1 MB
    assert len(huge) >= 1_000_000
    with pytest.warns(TruncationWarning, match="1 of 2 inputs"):
        got = embedder.encode([huge, "hi"])
    with pytest.warns(TruncationWarning):  # also past 48 tokens
        prefix = embedder.encode(["the dog runs in the park. " * 20])
    np.testing.assert_allclose(got[0], prefix[0], atol=1e-5)
    # a megabyte of spaces is no tokens at all: the empty text's vector, and nothing was cut
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        blank = embedder.encode([" " * 1_000_000, ""])
    np.testing.assert_allclose(blank[0], blank[1], atol=1e-6)


def test_encode_is_safe_from_many_threads(embedder: Embedder) -> None:
    inputs = [[f"{t} {i}" for t in TEXTS] for i in range(8)]
    expected = [embedder.encode(x, batch_size=3) for x in inputs]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(5):
                results[i] = embedder.encode(inputs[i], batch_size=3)
                np.testing.assert_allclose(results[i], expected[i], atol=2e-5)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert len(results) == 8


def test_progress_bar_goes_to_stderr(
    embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    embedder.encode(TEXTS, batch_size=2, show_progress_bar=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Batches     5/5  100%" in captured.err


def test_explicit_depth_by_precision_and_threads(tiny_export: Path) -> None:
    single = Embedder(tiny_export, precision="fp32", providers="cpu", intra_op_threads=1)
    assert single.providers[0] == "CPUExecutionProvider"
    assert single.choice.provider == "CPUExecutionProvider"
    assert f"depth={single.depth}" in repr(single)
    with pytest.raises(ValueError, match="precision='fp8'"):
        Embedder(tiny_export, precision="fp8")
    with pytest.raises(ValueError, match="intra_op_threads=0"):
        Embedder(tiny_export, intra_op_threads=0)


@pytest.mark.parametrize("pin", [{}, {"depth": 1}], ids=["any depth", "pinned depth"])
def test_a_missing_precision_names_those_the_export_has(
    tiny_export: Path, pin: dict[str, int]
) -> None:
    with pytest.raises(BudgetError, match=r"no graph at precision fp16; it has: fp32\. Pass"):
        Embedder(tiny_export, precision="fp16", **pin)


def test_depth_and_providers_of_the_wrong_type_are_named(tiny_export: Path) -> None:
    with pytest.raises(TypeError, match=r"depth=True must be a whole number, one of .* 1, 2"):
        Embedder(tiny_export, depth=True)
    assert Embedder(tiny_export, depth=np.int64(1)).depth == 1  # type: ignore[arg-type]
    with pytest.raises(ProviderError, match=r"providers=3 is not .* 'auto', one name"):
        Embedder(tiny_export, providers=3)  # type: ignore[arg-type]


def test_thread_counts_far_above_the_cpu_count_are_refused(tiny_export: Path) -> None:
    too_many = 4 * (os.cpu_count() or 1) + 1
    with pytest.raises(BadInputError, match=f"machine has {os.cpu_count()} CPUs") as info:
        Embedder(tiny_export, intra_op_threads=too_many)
    assert isinstance(info.value, UserError) and isinstance(info.value, ValueError)
    with pytest.raises(BadInputError, match="inter_op_threads=True"):
        Embedder(tiny_export, inter_op_threads=True)  # type: ignore[arg-type]
    emb = Embedder(tiny_export, intra_op_threads=np.int64(1))  # type: ignore[arg-type]
    assert emb.threads.intra_op == 1 and type(emb.threads.intra_op) is int


def test_depth_can_be_pinned(tiny_export: Path) -> None:
    shallow = Embedder(tiny_export, depth=1, budget=Budget(max_dims=8))
    assert (shallow.depth, shallow.dims) == (1, 8)
    np.testing.assert_allclose(
        shallow.encode(TEXTS), reference(tiny_export, 1, TEXTS, 8), atol=2e-5
    )
    with pytest.raises(ValueError, match=r"depth=3 is not in this export; it has depths 1, 2"):
        Embedder(tiny_export, depth=3)


def test_sliced_unit_slices_first_then_normalises() -> None:
    vectors = np.array([[3.0, 4.0, 12.0], [0.0, 0.0, 5.0]], dtype=np.float32)
    got = sliced_unit(vectors, 2)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [[0.6, 0.8], [0.0, 0.0]])  # an all-zero slice stays zero


def test_encode_returns_the_sliced_unit_of_the_full_vectors(tiny_export: Path) -> None:
    emb = Embedder(tiny_export, depth=2)
    texts = ["a first sentence", "and another, a little longer one"]
    full = emb.encode(texts, normalize_embeddings=False)  # the chosen (full) width, raw
    np.testing.assert_allclose(emb.encode(texts, dims=8), sliced_unit(full, 8), atol=1e-6)
