"""A stand-in for all-MiniLM-L6-v2 where the bundled package is not installed (a GPU box).

``python -m ese.studies.stand_in_model OUT`` writes a sentence-transformers directory with
the bundled model's architecture (BERT, 6 layers, hidden 384, 12 heads, FFN 1536, vocabulary
30,522, mean pooling, Normalize, max length 256) and random weights. Latency and memory do not
depend on the weights' values, so profiles of it hold for the real model; its quality means
nothing, and reports made from it say so.

``--size tiny`` keeps the layout (6 layers, the vocabulary, 512 positions, max length 256) at
hidden 32, 2 heads, FFN 64: every shape of the GPU grid runs in milliseconds on a CPU, for
rehearsing the GPU run (``make rehearse-gpu``).
"""

from __future__ import annotations

import argparse
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
TINY = {**MINILM, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64}
SIZES = {"minilm": MINILM, "tiny": TINY}
MAX_SEQ_LENGTH = 256
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _vocab(size: int) -> list[str]:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,!?'-")
    base = SPECIALS + letters + [f"##{c}" for c in letters]
    return base + [f"w{i}" for i in range(size - len(base))]


def write_stand_in(out: Path, seed: int = 0, size: str = "minilm") -> Path:
    """Save the stand-in model under ``out`` and return it."""
    import torch
    import transformers
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer

    from ese.exporter.source.st_modules import write_st_modules
    from ese.format import Pooling

    shape = SIZES[size]
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    config = transformers.BertConfig(**shape, pad_token_id=0)
    transformers.BertModel(config, add_pooling_layer=False).eval().save_pretrained(
        out, safe_serialization=True
    )
    vocab_file = out / "vocab.txt"
    vocab_file.write_text("\n".join(_vocab(shape["vocab_size"])) + "\n", encoding="utf-8")
    wordpiece = BertWordPieceTokenizer(str(vocab_file), lowercase=True)
    Tokenizer.from_str(wordpiece._tokenizer.to_str()).save(str(out / "tokenizer.json"))
    write_st_modules(
        out,
        hidden=shape["hidden_size"],
        pooling=Pooling.MEAN,
        normalize=True,
        max_seq_length=MAX_SEQ_LENGTH,
    )
    (out / "STAND-IN.md").write_text(
        f"Random weights with all-MiniLM-L6-v2's architecture ({size}): "
        "for latency profiles only.\n",
        encoding="utf-8",
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.stand_in_model")
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", choices=sorted(SIZES), default="minilm")
    args = parser.parse_args(argv)
    print(write_stand_in(args.out, size=args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
