"""Tiny random encoders built from configs, saved as real model directories (for speed)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

from ese.exporter.source.st_modules import write_st_modules

WORDS = (
    "a an the man woman child dog cat is are was playing plays guitar piano eating food "
    "in on at with of and to kitchen street park running runs sitting sits red blue green "
    "small large two three people group bike car horse water sun day night quick brown fox "
    "jumps over lazy sentence embedding device edge model fast slow hi ok yes no"
).split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<pad>", "<s>", "</s>"]

FAMILIES = ("bert", "roberta", "xlm-roberta", "distilbert", "mpnet", "electra")


def _vocab() -> list[str]:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,!?'-")
    pieces = [f"##{c}" for c in letters]
    return list(dict.fromkeys(SPECIALS + letters + pieces + list(WORDS)))


def tiny_tokenizer(directory: Path) -> Tokenizer:
    directory.mkdir(parents=True, exist_ok=True)
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(_vocab()) + "\n", encoding="utf-8")
    vocab = {token: i for i, token in enumerate(_vocab())}
    tokenizer = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.save(str(directory / "tokenizer.json"))
    return tokenizer


def tiny_config(family: str, layers: int) -> transformers.PretrainedConfig:
    vocab_size = len(_vocab())
    common = dict(vocab_size=vocab_size, pad_token_id=0)
    if family == "distilbert":
        return transformers.DistilBertConfig(
            **common, dim=32, n_layers=layers, n_heads=2, hidden_dim=64, max_position_embeddings=64
        )
    sizes = dict(
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,
    )
    if family == "bert":
        return transformers.BertConfig(**common, **sizes, type_vocab_size=2)
    if family == "electra":
        return transformers.ElectraConfig(**common, **sizes, embedding_size=32, type_vocab_size=2)
    if family == "roberta":
        return transformers.RobertaConfig(**common, **sizes, type_vocab_size=1)
    if family == "xlm-roberta":
        return transformers.XLMRobertaConfig(**common, **sizes, type_vocab_size=1)
    if family == "mpnet":
        return transformers.MPNetConfig(**common, **sizes)
    raise ValueError(f"unknown family {family}")


def make_tiny_model(
    directory: Path,
    family: str = "bert",
    layers: int = 2,
    *,
    sentence_transformers: bool = True,
    pooling: str = "mean",
    normalize: bool = False,
    max_seq_length: int = 48,
    seed: int = 0,
) -> Path:
    """Save a random ``family`` encoder with ``layers`` layers and a tiny WordPiece tokenizer."""
    torch.manual_seed(seed)
    config = tiny_config(family, layers)
    model = transformers.AutoModel.from_config(config).eval()
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    tiny_tokenizer(directory)
    if sentence_transformers:
        write_st_modules(
            directory,
            hidden=32,
            pooling=pooling,
            normalize=normalize,
            max_seq_length=max_seq_length,
        )
    return directory


def make_angle_model(
    directory: Path,
    pooling_strategy: str | int | None = "cls",
    *,
    max_length: int = 512,
    layers: int = 2,
    seed: int = 0,
    **declared: object,
) -> Path:
    """AnglE's saved layout: Hugging Face weights + tokenizer + angle_config.json, no modules.json.

    ``declared`` adds or replaces angle_config.json fields (is_llm, apply_lora, ...).
    """
    make_tiny_model(directory, "bert", layers, sentence_transformers=False, seed=seed)
    config = {
        "model_name_or_path": "tiny-bert",
        "max_length": max_length,
        "model_kwargs": None,
        "pooling_strategy": pooling_strategy,
        "lora_config_kwargs": None,
        "is_llm": False,
        "apply_billm": False,
        "billm_model_class": None,
        "apply_lora": False,
        "tokenizer_padding_side": None,
        "angle_emb_version": "0.6.1",
        **declared,
    }
    (directory / "angle_config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


# A model directory's own tokenizer code that writes ``marker`` when it runs: what a loader that
# must never run a directory's code is tested with.
EVIL_TOKENIZER_CODE = """
from pathlib import Path
Path({marker!r}).write_text("ran")
from transformers import BertTokenizerFast
class EvilTokenizer(BertTokenizerFast):
    pass
"""
