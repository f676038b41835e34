"""``python -m ese.runtime.smoke DIR``: prove a runtime-only install embeds with no heavy deps.

For CI's clean virtual environment (``pip install .``, no extras): opens the export, embeds
a few texts (the empty string included), checks shapes and unit norms, and checks that
torch, transformers, optimum and the exporter were never imported. Exit 0 and one summary
line on success; exit 1 with the reason otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

FORBIDDEN = ("torch", "transformers", "optimum", "tensorrt", "ese.exporter")


def check(export_dir: str) -> str:
    """Run the checks; return a summary line, or raise RuntimeError with the reason."""
    from ese.runtime import Budget, Embedder

    embedder = Embedder(export_dir, budget=Budget(max_dims=64))
    vectors = embedder.encode(["a runtime-only install", "", "embeds text without torch"])
    if vectors.shape != (3, embedder.dims) or vectors.dtype != np.float32:
        raise RuntimeError(f"unexpected output {vectors.shape} {vectors.dtype}")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-4):
        raise RuntimeError(f"vectors are not unit norm: {norms}")
    loaded = [name for name in FORBIDDEN if name in sys.modules]
    if loaded:
        raise RuntimeError(f"the runtime imported {', '.join(loaded)}")
    c = embedder.choice
    return (
        f"ok: depth {c.depth} x {c.dims} dims ({c.precision.value}) on {c.provider}; "
        f"none of {', '.join(FORBIDDEN)} imported"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m ese.runtime.smoke DIR", file=sys.stderr)
        return 2
    try:
        print(check(args[0]))
    except Exception as exc:  # report any failure as one line for CI logs
        print(f"smoke: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
