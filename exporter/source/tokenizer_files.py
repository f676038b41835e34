"""The tokenizer shipped in DIR/tokenizer/: the model's own, set to truncate at its max length and
pad to the longest input of each batch (the bundled model's file pads everything to 128).

Without a tokenizer.json, transformers builds the fast tokenizer from the other files; a
tokenizer_config.json or config.json whose ``auto_map`` names the directory's own tokenizer code
is refused unless --trust-remote-code was given (transformers is always told which, so it never
asks on stdin). Every id the tokenizer can produce must be a row of the model's embeddings.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from ese.exporter.source.load import ModelDir
from ese.exporter.source.model_json import read_json_object
from ese.format.errors import UserError

_CONFIG_FILES = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "merges.txt",
    "vocab.json",
    "sentencepiece.bpe.model",
    "spiece.model",
)


def _refuse_remote_tokenizer_code(directory: Path) -> None:
    """UserError when a config's ``auto_map`` names the directory's own tokenizer code."""
    for name in ("tokenizer_config.json", "config.json"):
        path = directory / name
        if not path.is_file():
            continue
        auto_map = read_json_object(path).get("auto_map")
        if isinstance(auto_map, list) or (
            isinstance(auto_map, dict) and "AutoTokenizer" in auto_map
        ):
            raise UserError(
                f"{path}: auto_map names the directory's own tokenizer code, which runs only "
                "with --trust-remote-code; give it only if you trust that code, or add the "
                "model's tokenizer.json"
            )


def _backend_tokenizer(model_dir: ModelDir, trust_remote_code: bool) -> Tokenizer:
    path = model_dir.transformer_dir / "tokenizer.json"
    if path.is_file():
        try:
            return Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception for a file it cannot parse
            raise UserError(
                f"{path} is not a tokenizer file tokenizers can read ({str(exc)[:200]}); "
                "restore it from the model's source"
            ) from exc
    if not trust_remote_code:
        _refuse_remote_tokenizer_code(model_dir.transformer_dir)
    from transformers import AutoTokenizer

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fast = AutoTokenizer.from_pretrained(
                model_dir.transformer_dir, use_fast=True, trust_remote_code=trust_remote_code
            )
    except (OSError, ValueError) as exc:
        raise UserError(
            f"{model_dir.transformer_dir} has no tokenizer.json and no tokenizer files that "
            f"build a fast tokenizer: {exc}"
        ) from exc
    if not getattr(fast, "is_fast", False):
        raise UserError(f"{model_dir.transformer_dir}: only fast (Rust) tokenizers are supported")
    return Tokenizer.from_str(fast.backend_tokenizer.to_str())


def _pad_token(tokenizer: Tokenizer, model_dir: ModelDir) -> tuple[str, int]:
    pad_id = model_dir.config.get("pad_token_id")
    if isinstance(pad_id, int):
        token = tokenizer.id_to_token(pad_id)
        if token is not None:
            return token, pad_id
    for token in ("[PAD]", "<pad>", "<PAD>"):
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return token, token_id
    return "[PAD]", 0


def _check_within_vocabulary(tokenizer: Tokenizer, model_dir: ModelDir) -> None:
    ids = tokenizer.get_vocab(with_added_tokens=True).values()
    largest = max(ids, default=-1)
    if model_dir.vocab_size and largest >= model_dir.vocab_size:
        raise UserError(
            f"{model_dir.transformer_dir}: the tokenizer has token ids up to {largest}, but the "
            f"model's embeddings have {model_dir.vocab_size} rows (config.json vocab_size); "
            "use the tokenizer the model was trained with, or resize the model's embeddings "
            "(resize_token_embeddings) and save it again"
        )


def build_tokenizer(model_dir: ModelDir, *, trust_remote_code: bool = False) -> Tokenizer:
    """The model's fast tokenizer: truncates at max_seq_length, pads to the batch's longest."""
    tokenizer = _backend_tokenizer(model_dir, trust_remote_code)
    _check_within_vocabulary(tokenizer, model_dir)
    pad_token, pad_id = _pad_token(tokenizer, model_dir)
    specials = tokenizer.num_special_tokens_to_add(is_pair=False)
    if model_dir.max_seq_length <= specials:
        raise UserError(
            f"{model_dir.path}: max_seq_length {model_dir.max_seq_length} leaves no room for "
            f"text beside the tokenizer's {specials} special tokens; set max_seq_length in "
            f"sentence_bert_config.json to at least {specials + 1}"
        )
    tokenizer.enable_truncation(max_length=model_dir.max_seq_length)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token, pad_type_id=0)
    return tokenizer


def write_tokenizer(model_dir: ModelDir, tokenizer: Tokenizer, out_dir: Path) -> list[str]:
    """Write tokenizer.json and copy its configs; returns the written file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out_dir / "tokenizer.json"))
    written = ["tokenizer.json"]
    for name in _CONFIG_FILES:
        source = model_dir.transformer_dir / name
        if source.is_file():
            shutil.copyfile(source, out_dir / name)
            written.append(name)
    return written


def tokenize(tokenizer: Tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    """int64 input_ids, attention_mask and token_type_ids [batch, longest]."""
    encodings = tokenizer.encode_batch(texts)
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
