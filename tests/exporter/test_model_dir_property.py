"""A valid tiny model directory, mutated one way (keys dropped, renamed or added, the weights
truncated or overwritten, a shard pointed elsewhere, odd config.json or sentence-transformers
values), is either exported with graphs that match the ORIGINAL model, or refused with a typed
UserError (exit 2). Nothing else may come out: no other exception, no export of a model whose
weights were partly random.

The reference is independent of the exporter: transformers' BertModel of the unmutated files
(loaded with no missing or unexpected key), its hidden state after layer 1, mean-pooled; and a
sha256 over exactly the weight files the directory names.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch
import transformers
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file
from tiny_models import make_tiny_model
from tokenizers import Tokenizer

from ese.exporter import export
from ese.format import input_names, read_manifest
from ese.format.errors import UserError

TEXTS = ["a man is playing a guitar", "hi", "the quick brown fox jumps over the lazy dog"]
POSITIONS = 66  # the tiny BERT's max_position_embeddings
DECLARED_LENGTH = 48
_examples = itertools.count()

ODD_VALUES = st.sampled_from(
    [0, 1, 2, 3, 31, 32, 33, 64, 66, 67, 100_000, -1, None, "2", 2.5, True]
)
CONFIG_FIELDS = st.sampled_from(
    [
        "num_hidden_layers",
        "vocab_size",
        "max_position_embeddings",
        "pad_token_id",
        "hidden_size",
        "type_vocab_size",
        "intermediate_size",
        "model_type",
    ]
)
SHARD_TARGETS = st.sampled_from(
    [
        "../outside.safetensors",
        "/tmp/outside.safetensors",
        "missing.safetensors",
        "model.bin",
        "escape.safetensors",
        "other-shard",
        "sub/../model-00001-of-00002.safetensors",
        "",
    ]
)
INDICES = st.lists(st.integers(0, 10**6), min_size=1, max_size=3)
MUTATIONS = st.one_of(
    st.tuples(st.just("none")),
    st.tuples(st.just("drop"), INDICES),
    st.tuples(st.just("drop_prefix"), st.sampled_from(["pooler.", "encoder.layer.1.", "embed"])),
    st.tuples(st.just("rename"), INDICES, st.sampled_from(["x.", "bert.", "encoder."])),
    st.tuples(st.just("rename_all"), st.sampled_from(["x.", "bert."])),
    st.tuples(st.just("extra"), st.sampled_from(["cls.bias", "encoder.layer.2.output.dense.bias"])),
    st.tuples(st.just("truncate"), st.floats(0.0, 0.999)),
    st.tuples(st.just("overwrite"), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("config"), CONFIG_FIELDS, ODD_VALUES),
    st.tuples(st.just("max_seq_length"), ODD_VALUES),
    st.tuples(st.just("shard"), SHARD_TARGETS),
    st.tuples(st.just("modules"), st.sampled_from(["../", "/tmp", "nowhere", "1_Pooling"])),
)


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(
        tmp_path_factory.mktemp("orig") / "bert", "bert", 2, max_seq_length=DECLARED_LENGTH
    )


@pytest.fixture(scope="module")
def reference_model(original: Path) -> Any:
    model, info = transformers.BertModel.from_pretrained(
        original, output_loading_info=True, attn_implementation="eager"
    )
    assert not (info["missing_keys"] or info["unexpected_keys"] or info["mismatched_keys"])
    return model.eval()


def _reference(model: Any, original: Path, length: int) -> np.ndarray:
    """Mean-pooled hidden state after layer 1 of the unmutated model, texts cut at ``length``."""
    tokenizer = Tokenizer.from_file(str(original / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=length)
    rows = []
    for text in TEXTS:
        ids = torch.tensor([tokenizer.encode(text).ids])
        with torch.inference_mode():
            hidden = model(input_ids=ids, output_hidden_states=True).hidden_states[1]
        rows.append(hidden[0].mean(dim=0).numpy())
    return np.stack(rows)


def _exported(out: Path) -> np.ndarray:
    manifest = read_manifest(out)
    graph = next(g for g in manifest.graphs if g.depth == 1)
    tokenizer = Tokenizer.from_file(str(out / "tokenizer" / "tokenizer.json"))
    session = ort.InferenceSession(str(out / graph.file.path), providers=["CPUExecutionProvider"])
    names = input_names(manifest.source.uses_token_type_ids)
    rows = []
    for text in TEXTS:  # one at a time: no padding in either side
        encoding = tokenizer.encode(text)
        arrays = {
            "input_ids": [encoding.ids],
            "attention_mask": [encoding.attention_mask],
            "token_type_ids": [encoding.type_ids],
        }
        feed = {name: np.array(arrays[name], dtype=np.int64) for name in names}
        rows.append(session.run(None, feed)[0][0])
    return np.stack(rows)


def _loaded_files_digest(model: Path) -> str:
    if (model / "model.safetensors").is_file():
        names = ["model.safetensors"]
    else:
        index = json.loads((model / "model.safetensors.index.json").read_text())
        names = sorted(set(index["weight_map"].values()))
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        digest.update((model / name).read_bytes())
    return digest.hexdigest()


def _edit_json(path: Path, key: str, value: object) -> None:
    data = json.loads(path.read_text())
    data[key] = value
    path.write_text(json.dumps(data))


def _shard(model: Path, original: Path, target: str) -> None:
    """Two shards and an index; the first shard's entries then point at ``target``."""
    weights = load_file(original / "model.safetensors")
    keys = sorted(weights)
    halves = {
        "model-00001-of-00002.safetensors": keys[::2],
        "model-00002-of-00002.safetensors": keys[1::2],
    }
    (model / "model.safetensors").unlink()
    weight_map = {}
    for name, part in halves.items():
        save_file({k: weights[k] for k in part}, model / name)
        weight_map.update(dict.fromkeys(part, name))
    outside = model.parent / "outside.safetensors"
    shutil.copyfile(model / "model-00001-of-00002.safetensors", outside)
    os.symlink(outside, model / "escape.safetensors")
    if target == "other-shard":
        target = "model-00002-of-00002.safetensors"
    if target != "":
        first = "model-00001-of-00002.safetensors"
        weight_map = {k: (target if v == first else v) for k, v in weight_map.items()}
    index = {"metadata": {}, "weight_map": weight_map}
    (model / "model.safetensors.index.json").write_text(json.dumps(index))


def _mutate(model: Path, original: Path, mutation: tuple[Any, ...]) -> int:
    """Apply ``mutation`` to the copy ``model``; returns the max length a faithful export uses."""
    kind, *args = mutation
    weights_file = model / "model.safetensors"
    length = DECLARED_LENGTH
    if kind in ("drop", "drop_prefix", "rename", "rename_all", "extra"):
        weights = load_file(weights_file)
        keys = sorted(weights)
        chosen = {keys[i % len(keys)] for i in args[0]} if kind in ("drop", "rename") else set()
        if kind == "drop":
            weights = {k: v for k, v in weights.items() if k not in chosen}
        elif kind == "drop_prefix":
            weights = {k: v for k, v in weights.items() if not k.startswith(args[0])}
        elif kind == "rename":
            weights = {(args[1] + k if k in chosen else k): v for k, v in weights.items()}
        elif kind == "rename_all":
            weights = {args[0] + k: v for k, v in weights.items()}
        else:
            weights[args[0]] = torch.zeros(32)
        save_file(weights, weights_file)
    elif kind == "truncate":
        data = weights_file.read_bytes()
        weights_file.write_bytes(data[: int(len(data) * args[0])])
    elif kind == "overwrite":
        data = weights_file.read_bytes()
        weights_file.write_bytes(args[0] + data[len(args[0]) :])
    elif kind == "config":
        _edit_json(model / "config.json", args[0], args[1])
    elif kind == "max_seq_length":
        _edit_json(model / "sentence_bert_config.json", "max_seq_length", args[0])
        if args[0] is None:  # no tokenizer_config.json: the position embeddings
            length = POSITIONS
        elif type(args[0]) is int and args[0] >= 1:
            length = min(args[0], POSITIONS)
    elif kind == "shard":
        _shard(model, original, args[0])
    elif kind == "modules":
        modules = json.loads((model / "modules.json").read_text())
        modules[0]["path"] = args[0]
        (model / "modules.json").write_text(json.dumps(modules))
    return length


@settings(
    derandomize=True,
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutation=MUTATIONS)
# the faithful cases, always run: nothing changed, an unused pooler dropped, a task model's
# "bert." prefix, two honest shards, a clamped max length, another valid pad id
@example(mutation=("none",))
@example(mutation=("drop_prefix", "pooler."))
@example(mutation=("rename_all", "bert."))
@example(mutation=("shard", ""))
@example(mutation=("max_seq_length", 100_000))
@example(mutation=("config", "pad_token_id", 3))
def test_a_mutated_model_exports_faithfully_or_is_refused(
    mutation: tuple[Any, ...], original: Path, reference_model: Any, tmp_path: Path
) -> None:
    root = tmp_path / f"example-{next(_examples)}"
    model = Path(shutil.copytree(original, root / "model"))
    length = _mutate(model, original, mutation)
    out = root / "out"
    try:
        export(model, [1], out, projection="none")
    except UserError:
        assert not out.exists()
        return
    manifest = read_manifest(out)
    assert manifest.source.weights_sha256 == _loaded_files_digest(model), mutation
    assert manifest.source.max_seq_length == length, mutation
    got, want = _exported(out), _reference(reference_model, original, length)
    assert np.abs(got - want).max() < 1e-4, mutation
