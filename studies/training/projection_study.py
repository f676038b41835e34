"""Which projection suits a trained model: raw order, centred, or the exporter's centred PCA.

STS-B dev only (this decides an export setting, so it must not look at test)::

    python -m ese.studies.training.projection_study models/minilm-ese \
        --dev ../shared/data/stsb/sts-dev.csv

Per depth x width, Spearman x 100 of cosine after: nothing (``raw``), subtracting the
calibration mean (``centred``), and the centred PCA fitted per depth on the exporter's default
calibration corpus (``pca``, what ``ese-export --projection pca`` fuses).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from ese.training.evaluate import Projection, fit_projections, format_grid, sts_grid
from ese.training.loop.encoder import LayerwiseEncoder
from ese.training.readers import read_scored_pairs
from ese.training.run import bundled_model_path, load_model

# The exporter's default corpus, read as a file: importing ese.exporter would pull in onnx.
CALIBRATION = Path(__file__).resolve().parents[2] / "exporter" / "data" / "calibration.txt"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(
        prog="python -m ese.studies.training.projection_study", description=__doc__
    )
    p.add_argument("model", help="model directory ('bundled': the bundled base model)")
    p.add_argument("--dev", type=Path, required=True, help="STS-B dev (sts-dev.csv)")
    p.add_argument("--depths", default="1,2,3,4,6")
    p.add_argument("--dims", default="384,256,128,64,32")
    p.add_argument("--threads", type=int)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model_dir = bundled_model_path() if args.model == "bundled" else Path(args.model)
    encoder = LayerwiseEncoder(load_model(model_dir, torch.device("cpu")))
    dev = read_scored_pairs(args.dev)
    depths = [int(d) for d in args.depths.split(",")]
    widths = [min(int(w), encoder.hidden_size) for w in args.dims.split(",")]
    texts = [t for t in CALIBRATION.read_text(encoding="utf-8").splitlines() if t.strip()]
    pca = fit_projections(encoder, texts, depths)
    identity = torch.eye(encoder.hidden_size)
    centred = {d: Projection(p.mean, identity, p.normalize) for d, p in pca.items()}
    for name, projections in (("raw", None), ("centred", centred), ("pca", pca)):
        grid = sts_grid(encoder, dev, depths, widths, projections)
        print(f"## {name}\n\n{format_grid(grid)}\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
