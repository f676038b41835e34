"""Final comparison of trained models per (depth, dims): STS-B test and SNLI triplet accuracy.

Run once, after training (never to choose settings: that is what STS-B dev is for)::

    python -m ese.studies.training.compare --model base=DIR --model ese=models/minilm-ese ... \\
        --test ../shared/data/stsb/sts-test.csv --fit ../shared/data/stsb/sts-train.csv \\
        --triplets ../shared/data/nli/snli_dev_test.triplets.tsv --out report.md

STS: Spearman x 100 of cosine on the first d dims, raw order and after a centred PCA fitted per
depth on the --fit sentences (the exporter's projection). Triplets: accuracy x 100 of
cos(anchor, positive) > cos(anchor, negative), on data none of the models was trained on when
they were trained on STS-B only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from ese.training.evaluate import Grid, Projection, fit_projections, sts_grid
from ese.training.loop.encoder import LayerwiseEncoder
from ese.training.readers import ScoredPair, Triplet, read_dataset, read_scored_pairs
from ese.training.run import bundled_model_path, load_model

# ese-method.md: the bundled model cut to d layers and fine-tuned alone on STS-B train (test).
DEDICATED: dict[int, dict[int, float]] = {
    6: {384: 85.67, 128: 84.84, 64: 83.87},
    3: {384: 81.28, 128: 80.58, 64: 79.26},
    2: {384: 76.16, 128: 75.37, 64: 73.84},
}


def triplet_grid(
    encoder: LayerwiseEncoder,
    triplets: Sequence[Triplet],
    depths: Sequence[int],
    widths: Sequence[int],
    projections: dict[int, Projection] | None,
) -> Grid:
    texts = [t.anchor for t in triplets] + [t.positive for t in triplets]
    texts += [t.negative for t in triplets]
    layers = encoder.encode_layers(texts)
    grid: Grid = {}
    for depth in depths:
        vectors = layers[depth] if projections is None else projections[depth].apply(layers[depth])
        anchor, positive, negative = vectors.chunk(3)
        grid[depth] = {}
        for w in widths:
            a, p, n = (F.normalize(x[:, :w], dim=-1) for x in (anchor, positive, negative))
            wins = ((a * p).sum(-1) > (a * n).sum(-1)).float().mean()
            grid[depth][w] = float(wins) * 100
    return grid


def _table(title: str, grids: dict[str, Grid], widths: list[int], dedicated: bool) -> list[str]:
    head = "| model | depth | " + " | ".join(f"{w} dims" for w in widths) + " |"
    lines = [f"### {title}", "", head, "|---|---|" + "---|" * len(widths)]
    for name, grid in grids.items():
        for depth in sorted(grid):
            cells = []
            for w in widths:
                cell = f"{grid[depth][w]:.2f}"
                if dedicated and w in DEDICATED.get(depth, {}):
                    cell += f" ({grid[depth][w] - DEDICATED[depth][w]:+.2f})"
                cells.append(cell)
            lines.append(f"| {name} | {depth} | " + " | ".join(cells) + " |")
    if dedicated:
        lines += ["", "In brackets: difference to the dedicated per-depth model (ese-method.md)."]
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m ese.studies.training.compare", description=__doc__)
    p.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="NAME=DIR",
        help="a model to score; DIR 'bundled' is the bundled base model",
    )
    p.add_argument("--test", type=Path, required=True)
    p.add_argument("--fit", type=Path, required=True, help="sentences for the per-depth PCA")
    p.add_argument("--fit-limit", type=int, help="N --fit pairs, evenly spread (default: all)")
    p.add_argument("--triplets", type=Path, help="triplet file for the held-out accuracy")
    p.add_argument("--triplet-limit", type=int, default=2000)
    p.add_argument("--depths", default="1,2,3,4,5,6")
    p.add_argument("--dims", default="384,128,64,32")
    p.add_argument("--out", type=Path, required=True, help="markdown report (a .json is added)")
    p.add_argument("--threads", type=int)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    depths = [int(d) for d in args.depths.split(",")]
    widths = [int(w) for w in args.dims.split(",")]
    test = read_scored_pairs(args.test)
    fit = read_dataset(args.fit)
    fit_rows = fit.examples
    if args.fit_limit and args.fit_limit < len(fit_rows):  # every n-th row: all genres
        fit_rows = fit_rows[:: len(fit_rows) // args.fit_limit][: args.fit_limit]
    fit_texts = [t for e in fit_rows if isinstance(e, ScoredPair) for t in (e.text1, e.text2)]
    triplets: list[Triplet] = []
    if args.triplets:
        rows = read_dataset(args.triplets, "triplets").examples[: args.triplet_limit]
        triplets = [t for t in rows if isinstance(t, Triplet)]
    results: dict[str, dict[str, Grid]] = {"raw": {}, "pca": {}, "nli_raw": {}, "nli_pca": {}}
    for spec in args.model:
        name, _, path = spec.partition("=")
        model_dir = bundled_model_path() if path == "bundled" else Path(path)
        encoder = LayerwiseEncoder(load_model(model_dir, torch.device(args.device)))
        projections = fit_projections(encoder, fit_texts, depths)
        results["raw"][name] = sts_grid(encoder, test, depths, widths)
        results["pca"][name] = sts_grid(encoder, test, depths, widths, projections)
        if triplets:
            results["nli_raw"][name] = triplet_grid(encoder, triplets, depths, widths, None)
            results["nli_pca"][name] = triplet_grid(encoder, triplets, depths, widths, projections)
        print(f"scored {name}", file=sys.stderr)
    fitted = f"{len(fit_rows)} pairs of {args.fit.name}"
    lines = [f"# ESE vs peers per (depth, dims): {args.test.name} (PCA fitted on {fitted})", ""]
    lines += _table("STS-B test, Spearman x 100, raw dimension order", results["raw"], widths, True)
    lines += _table(
        "STS-B test, Spearman x 100, centred PCA per depth", results["pca"], widths, True
    )
    if triplets:
        title = f"SNLI triplets (first {len(triplets)}), accuracy x 100"
        lines += _table(f"{title}, raw order", results["nli_raw"], widths, False)
        lines += _table(f"{title}, centred PCA", results["nli_pca"], widths, False)
    args.out.write_text("\n".join(lines))
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=2))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
