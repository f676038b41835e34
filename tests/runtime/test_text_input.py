"""Text in, vectors out under hostile input: whole-text tokenising, the tokenizer checked
against the graph's vocabulary at load, shapes that cannot fit, and encode after close.

The tokenising tests compare with the export's own tokenizer run on the whole text (the
tokenizers library, truncation at the model's length); the embedding tests run the real
bundled MiniLM export.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from ese.format.contract import TOKENIZER_FILE
from ese.format.errors import BadInputError, ExportDirError
from ese.format.graph_vocabulary import vocabulary_table
from ese.runtime import Budget, Embedder, UserError
from ese.runtime.choice.measure import check_shape_fits, shape_needs_mb
from ese.runtime.errors import BudgetError, ClosedError, TruncationWarning
from ese.runtime.tokens import TextTokenizer

TAIL = "the cat sat on the mat"
PADDINGS = {"spaces": " ", "newlines": "\n", "zero-width spaces": "\u200b"}


def whole_text_ids(export: Path, text: str, max_length: int) -> list[int]:
    """What the tokenizer itself gives for the whole text, truncated at ``max_length``."""
    tokenizer = Tokenizer.from_file(str(export / TOKENIZER_FILE))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return list(tokenizer.encode(text).ids)


def prose(words: int, seed: int = 0) -> str:
    vocabulary = Path(__file__).read_text().split()
    return " ".join(np.random.default_rng(seed).choice(vocabulary, words))


def hostile_texts() -> dict[str, str]:
    texts = {name: pad * 20_000 + TAIL for name, pad in PADDINGS.items()}
    texts["a megabyte of prose"] = prose(150_000)
    texts["30,000 spaces, then prose"] = " " * 30_000 + prose(4_000, seed=1)
    texts["one 40,000-letter word, then two"] = "x" * 40_000 + " hello world"
    texts["40,000 CJK characters"] = "".join(chr(0x4E00 + i % 500) for i in range(40_000))
    texts["prose, then 40,000 spaces"] = prose(300, seed=2) + " " * 40_000
    return texts


@pytest.mark.parametrize("name", list(hostile_texts()))
def test_long_texts_get_the_whole_texts_tokens(tiny_export: Path, name: str) -> None:
    text = hostile_texts()[name]
    tokenizer = TextTokenizer(tiny_export / TOKENIZER_FILE, max_length=64)
    (encoding,), cut = tokenizer.encode([text])
    want = whole_text_ids(tiny_export, text, 64)
    assert list(encoding.ids) == want
    assert cut == (len(want) == 64 and len(whole_text_ids(tiny_export, text, 10**6)) > 64)


def test_texts_tokenised_together_keep_their_order(tiny_export: Path) -> None:
    texts = [*hostile_texts().values(), "short", ""]
    tokenizer = TextTokenizer(tiny_export / TOKENIZER_FILE, max_length=64)
    encodings, _ = tokenizer.encode(texts)
    assert [list(e.ids) for e in encodings] == [whole_text_ids(tiny_export, t, 64) for t in texts]


@pytest.mark.slow
@pytest.mark.parametrize("pad", list(PADDINGS))
def test_padding_before_a_sentence_keeps_its_vector_and_warns_of_nothing(
    minilm_export: Path, pad: str
) -> None:
    emb = Embedder(minilm_export)
    want = emb.encode(TAIL)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        got = emb.encode(PADDINGS[pad] * 20_000 + TAIL)
    assert float(got @ want) > 0.9999


@pytest.mark.slow
def test_a_genuinely_long_text_warns_and_is_the_tokenizers_own_truncation(
    minilm_export: Path,
) -> None:
    emb = Embedder(minilm_export)
    text = " " * 30_000 + prose(4_000)
    with pytest.warns(TruncationWarning, match="1 of 1 inputs were longer than the model's 256"):
        got = emb.encode(text)
    ids = whole_text_ids(minilm_export, text, 256)
    assert len(ids) == 256
    (encoding,), _ = emb.tokenizer.encode([text])
    assert list(encoding.ids) == ids
    # the vector is that of exactly those tokens
    same = emb.tokenizer.tokenizer.decode(ids, skip_special_tokens=True)
    assert float(got @ emb.encode(same)) > 0.9999


def test_a_tokenizer_larger_than_the_graphs_vocabulary_is_refused_at_load(
    tiny_export: Path, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    shutil.copytree(tiny_export, export, ignore=shutil.ignore_patterns("profiles"))
    rows = vocabulary_table(export / "graphs/depth-02.onnx")
    assert rows is not None
    tokenizer = Tokenizer.from_file(str(export / TOKENIZER_FILE))
    tokenizer.add_tokens([f"extra{i}" for i in range(200)])
    tokenizer.save(str(export / TOKENIZER_FILE))
    vocab = tokenizer.get_vocab_size()
    assert vocab > rows.rows
    with pytest.raises(ExportDirError, match=rf"{vocab} tokens but .* {rows.rows} vocabulary"):
        Embedder(export, verify=False)


def test_the_vocabulary_table_is_read_from_the_graph(tiny_export: Path) -> None:
    table = vocabulary_table(tiny_export / "graphs/depth-01.onnx")
    tokenizer = Tokenizer.from_file(str(tiny_export / TOKENIZER_FILE))
    assert table is not None
    assert (table.rows, table.width) == (tokenizer.get_vocab_size(), 32)


def test_a_shape_that_cannot_fit_is_refused_before_measuring(tiny_export: Path) -> None:
    budget = Budget(latency_ms=100_000, batch_size=10**7, seq_len=100_000)
    with pytest.raises(BudgetError, match=r"batch 10000000 x seq \d+ needs at least .* GB"):
        Embedder(tiny_export, budget=budget)


def test_the_shape_check_compares_with_the_available_memory(tiny_export: Path) -> None:
    graph = tiny_export / "graphs/depth-01.onnx"
    cpu = ["CPUExecutionProvider"]
    # 1,000 x 100 tokens x (24 bytes of ids + 8 x 32 of activations) = 26.7 MB, and one
    # layer's attention scores, 1,000 x 1 head x 100 x 100 x 4 bytes = 38.1 MB
    with pytest.raises(BudgetError, match="hidden 32"):
        check_shape_fits(graph, 1000, 100, cpu, available=64.0)
    check_shape_fits(graph, 1000, 100, cpu, available=65.0)
    check_shape_fits(graph, 1000, 100, ["CUDAExecutionProvider"], available=3.0)  # ids only
    check_shape_fits(graph, 10**9, 10**9, cpu, available=None)  # unknown: not refused


def test_the_shape_check_counts_the_attention_scores(tiny_export: Path) -> None:
    """Ids and hidden states of one 4,096-token text are 1.1 MB; its attention scores, 4,096
    x 4,096 x 4 bytes per head, are 64 MB: the check ignored them."""
    graph = tiny_export / "graphs/depth-01.onnx"
    with pytest.raises(BudgetError, match=r"0\.1 GB \(token ids, activations and attention"):
        check_shape_fits(graph, 1, 4096, ["CPUExecutionProvider"], available=10.0)
    check_shape_fits(graph, 1, 4096, ["CPUExecutionProvider"], available=66.0)
    check_shape_fits(graph, 1, 4096, ["CUDAExecutionProvider"], available=10.0)  # on the GPU
    assert shape_needs_mb(2, 512, 768, on_cpu=True) > 2 * 6 * 512 * 512 * 4 / 2**20


def test_encode_after_close_is_a_clear_error(tiny_export: Path) -> None:
    with Embedder(tiny_export) as emb:
        assert emb.encode(["still open"]).shape == (1, emb.dims)
    for call in (lambda: emb.encode(["closed"]), lambda: emb.providers):
        with pytest.raises(ClosedError, match="was closed"):
            call()
    emb.close()  # closing twice is harmless


@pytest.mark.parametrize(
    ("texts", "index", "at"),
    [(["fine", "a\ud800b"], 1, 1), (["\udfff"], 0, 0), ("caf\u00e9 \udc80", 0, 5)],
    ids=["second item", "only item", "a single str"],
)
def test_a_lone_surrogate_names_the_item_and_the_cause(
    tiny_export: Path, texts: list[str] | str, index: int, at: int
) -> None:
    """tokenizers refuses a lone surrogate with a bare TypeError naming neither."""
    emb = Embedder(tiny_export)
    with pytest.raises(BadInputError) as info:
        emb.encode(texts)
    message = str(info.value)
    assert f"sentences[{index}] has a lone surrogate" in message
    assert f"at character {at}" in message and "errors='replace'" in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, UserError)
    assert emb.encode(["caf\u00e9", "\u4e2d\u6587 \U0001f600"]).shape == (2, emb.dims)
