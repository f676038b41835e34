"""Peak resident memory of a process that serves one depth: measured in a fresh interpreter.

``python -m ese.benchmarks.compare.serve_rss DIR --depth 2`` imports the runtime, opens the depth's
graph with ``Embedder(DIR, depth=2)``, encodes STS-B test sentences in batches of 32 and
prints one JSON line: the resident set after imports (``baseline_mb``) and the process's
peak (``peak_mb``, VmHWM).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from ese.format.errors import UserError


@dataclass(frozen=True)
class ServingMemory:
    depth: int
    baseline_mb: float
    peak_mb: float
    sentences: int


def measure_in_subprocess(
    export_dir: Path, depth: int, *, threads: int, sentences: int, data_dir: Path | None = None
) -> ServingMemory:
    """Run this module in a fresh interpreter and read its JSON line."""
    argv = [
        sys.executable,
        "-m",
        "ese.benchmarks.compare.serve_rss",
        str(export_dir),
        "--depth",
        str(depth),
        "--threads",
        str(threads),
        "--sentences",
        str(sentences),
    ]
    if data_dir is not None:
        argv += ["--data", str(data_dir)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise UserError(
            f"the serving process for depth {depth} failed ({done.returncode}): "
            f"{done.stderr.strip()[-800:]}"
        )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return ServingMemory(depth, data["baseline_mb"], data["peak_mb"], data["sentences"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.benchmarks.compare.serve_rss")
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--depth", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args(argv)

    from ese.benchmarks.quality.datasets import DEFAULT_DATA, read_stsb
    from ese.runtime import Embedder
    from ese.runtime.memory import peak_resident_mb, resident_mb

    texts = read_stsb(args.data or DEFAULT_DATA).sentences()[: args.sentences]
    baseline = resident_mb()
    embedder = Embedder(
        args.export_dir, depth=args.depth, providers="cpu", intra_op_threads=args.threads
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # truncation of long sentences is expected here
        embedder.encode(texts, batch_size=32)
    print(
        json.dumps(
            {
                "baseline_mb": round(baseline, 1),
                "peak_mb": round(peak_resident_mb(), 1),
                "sentences": len(texts),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
