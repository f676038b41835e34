"""Carry a base model and its data to an offline GPU machine that takes at most 64 MiB per transfer.

The bundled model is 87 MiB in fp32. ``pack`` writes it in about a third of that: the vocabulary
rows that no sentence of the given data files uses are zeroed (training never reads or updates
them: they get no gradient and AdamW leaves a zero row at zero), float weights are stored in
fp16, and the file is gzipped. ``unpack`` restores an fp32 model directory on the device. The fp16
rounding (relative 5e-4) makes the device's base model differ slightly from the bundled one:
results there rank recipes; the numbers we quote come from the CPU runs of the real model.

    .venv/bin/python scripts/device_model.py pack --data a.csv --data b.tsv --out .carry
    python3 scripts/device_model.py unpack .carry/base /tmp/base       # on the device
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
from pathlib import Path

WEIGHTS = "model.safetensors"
VOCAB_KEYS = ("embeddings.word_embeddings.weight",)


def pack(model: Path, data: list[Path], out: Path) -> None:
    import torch
    from safetensors.torch import load_file, save
    from transformers import AutoTokenizer

    from ese.training.readers import ScoredPair, Triplet, read_dataset

    texts: list[str] = []
    for path in data:
        for row in read_dataset(path).examples:
            if isinstance(row, ScoredPair):
                texts += [row.text1, row.text2]
            elif isinstance(row, Triplet):
                texts += [row.anchor, row.positive, row.negative]
    # never the directory's own tokenizer code, and never a question on stdin
    tokenizer = AutoTokenizer.from_pretrained(str(model), trust_remote_code=False)
    used = set(tokenizer.all_special_ids)
    for start in range(0, len(texts), 4096):
        for ids in tokenizer(texts[start : start + 4096])["input_ids"]:
            used.update(ids)
    weights = load_file(str(model / WEIGHTS))
    for key, tensor in weights.items():
        if key.endswith(VOCAB_KEYS):
            keep = torch.zeros(tensor.shape[0], dtype=torch.bool)
            keep[sorted(used)] = True
            tensor[~keep] = 0
            print(f"{key}: {int(keep.sum())} of {tensor.shape[0]} rows kept", file=sys.stderr)
    base = out / "base"
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree(model, base, ignore=shutil.ignore_patterns(WEIGHTS, "*.md", ".git*"))
    half = save({k: v.half() if v.is_floating_point() else v for k, v in weights.items()})
    with gzip.open(base / "model.fp16.safetensors.gz", "wb", compresslevel=9) as f:
        f.write(half)
    for path in data:  # data/<folder>/<file>, the layout of ../shared/data
        (out / "data" / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out / "data" / path.parent.name / path.name)


def unpack(packed: Path, target: Path) -> None:
    from safetensors.torch import load, save_file

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(packed, target, ignore=shutil.ignore_patterns("*.gz"))
    with gzip.open(packed / "model.fp16.safetensors.gz", "rb") as f:
        weights = load(f.read())
    fp32 = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
    save_file(fp32, str(target / WEIGHTS))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    packer = sub.add_parser("pack")
    packer.add_argument("--model", type=Path, help="default: the bundled model")
    packer.add_argument("--data", type=Path, action="append", required=True)
    packer.add_argument("--out", type=Path, required=True)
    unpacker = sub.add_parser("unpack")
    unpacker.add_argument("packed", type=Path)
    unpacker.add_argument("target", type=Path)
    args = p.parse_args()
    if args.command == "pack":
        from ese.training.run import bundled_model_path

        pack(args.model or bundled_model_path(), args.data, args.out)
    else:
        unpack(args.packed, args.target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
