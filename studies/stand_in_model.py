"""A stand-in for all-MiniLM-L6-v2 where the bundled package is not installed (a GPU box).

``python -m ese.studies.stand_in_model OUT`` writes a sentence-transformers directory with
the bundled model's architecture (BERT, 6 layers, hidden 384, 12 heads, FFN 1536, vocabulary
30,522, mean pooling, Normalize, max length 256) and random weights. Latency and memory do not
depend on the weights' values, so profiles of it hold for the real model; its quality means
nothing, and reports made from it say so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MINILM = {
    "vocab_size": 30522,
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
}
MAX_SEQ_LENGTH = 256
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _vocab(size: int) -> list[str]:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,!?'-")
    base = SPECIALS + letters + [f"##{c}" for c in letters]
    return base + [f"w{i}" for i in range(size - len(base))]


def write_stand_in(out: Path, seed: int = 0) -> Path:
    """Save the stand-in model under ``out`` and return it."""
    import torch
    import transformers
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer

    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    config = transformers.BertConfig(**MINILM, pad_token_id=0)
    transformers.BertModel(config, add_pooling_layer=False).eval().save_pretrained(
        out, safe_serialization=True
    )
    vocab_file = out / "vocab.txt"
    vocab_file.write_text("\n".join(_vocab(MINILM["vocab_size"])) + "\n", encoding="utf-8")
    wordpiece = BertWordPieceTokenizer(str(vocab_file), lowercase=True)
    Tokenizer.from_str(wordpiece._tokenizer.to_str()).save(str(out / "tokenizer.json"))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ]
    (out / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True}),
        encoding="utf-8",
    )
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": MAX_SEQ_LENGTH}), encoding="utf-8"
    )
    (out / "STAND-IN.md").write_text(
        "Random weights with all-MiniLM-L6-v2's architecture: for latency profiles only.\n",
        encoding="utf-8",
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.stand_in_model")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    print(write_stand_in(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
