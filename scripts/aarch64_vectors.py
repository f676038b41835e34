"""Vectors of a fixed set of texts from an export, on whatever machine runs this; and their check.

Runs under the runtime-only install (numpy, onnxruntime, tokenizers and ese.runtime), on x86
and on aarch64 (scripts/aarch64_check.sh runs it under qemu with an arm64 Python):

    python scripts/aarch64_vectors.py encode EXPORT OUT.npy     # every depth, one array each
    python scripts/aarch64_vectors.py compare X86.npz ARM.npz   # min cosine per depth >= 1 - 1e-5
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import numpy as np

TOLERANCE = 1e-5
TEXTS = [
    "A man is playing a guitar.",
    "",
    "   ",
    "Two dogs run through the park on a sunny day while children watch from a bench.",
    "Ünïcödé, emoji 😀 and CJK 漢字 in one line",
    "short",
    "The quick brown fox jumps over the lazy dog. " * 12,
    "Edge devices run sentence embeddings with a small memory budget.",
]


def encode(export: Path, out: Path) -> None:
    from ese.format import open_export
    from ese.runtime import Embedder

    manifest = open_export(export).manifest
    vectors = {}
    for depth in manifest.depths:
        embedder = Embedder(export, providers="cpu", precision="fp32", depth=depth, measure=False)
        vectors[f"depth{depth}"] = embedder.encode(TEXTS, batch_size=4)
        embedder.close()
    heavy = [m for m in ("torch", "transformers", "ese.exporter") if m in sys.modules]
    if heavy:
        raise SystemExit(f"the runtime imported {', '.join(heavy)}")
    np.savez(out, machine=np.array(platform.machine()), **vectors)
    import onnxruntime

    print(
        f"{platform.machine()}, onnxruntime {onnxruntime.__version__}: "
        f"{len(vectors)} depths x {len(TEXTS)} texts -> {out}"
    )


def compare(x86: Path, arm: Path) -> int:
    a, b = np.load(x86), np.load(arm)
    if str(a["machine"]) == str(b["machine"]):
        print(f"both files come from {a['machine']}: nothing compared", file=sys.stderr)
        return 1
    worst = 1.0
    for key in sorted(k for k in a.files if k.startswith("depth")):
        cos = np.sum(a[key] * b[key], axis=1)
        worst = min(worst, float(cos.min()))
        diff = float(np.abs(a[key] - b[key]).max())
        print(
            f"{key}: min cosine {cos.min():.8f}, max |diff| {diff:.2e} "
            f"({a['machine']} vs {b['machine']})"
        )
    ok = worst >= 1.0 - TOLERANCE
    print(f"{'ok' if ok else 'FAILED'}: min cosine {worst:.8f} (floor {1.0 - TOLERANCE})")
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "encode":
        encode(Path(argv[1]), Path(argv[2]))
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
