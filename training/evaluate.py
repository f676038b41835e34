"""STS evaluation per (depth, width): Spearman x 100 between cosine similarity and gold score.

``raw`` keeps the model's own dimension order (the first w dims); ``pca`` first projects each
depth's vectors with a centred PCA fitted on calibration sentences, as the exporter's graphs do
(pooled, L2-normalised when the model ends with a Normalize module, then ``(x - mean) @ V``),
and keeps the first w components. Cosine is taken after the slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ese.exporter.variants.stsb import spearman
from ese.training.loop.encoder import LayerwiseEncoder
from ese.training.loop.pca_target import centred_pca
from ese.training.readers import Dataset, ScoredPair

Grid = dict[int, dict[int, float]]  # depth -> width -> Spearman x 100


def grid_from_json(data: dict[str, dict[str, float]]) -> Grid:
    """A grid read back from JSON, whose keys are strings."""
    return {int(d): {int(w): float(s) for w, s in row.items()} for d, row in data.items()}


@dataclass(frozen=True)
class Projection:
    mean: Tensor
    components: Tensor
    normalize: bool = False  # L2-normalise the pooled vector first (the model's Normalize)

    def apply(self, vectors: Tensor) -> Tensor:
        if self.normalize:
            vectors = F.normalize(vectors, dim=-1)
        return (vectors - self.mean) @ self.components


def _unique(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    index: dict[str, int] = {}
    positions = [index.setdefault(t, len(index)) for t in texts]
    return list(index), positions


def fit_projections(
    encoder: LayerwiseEncoder, sentences: Sequence[str], depths: Sequence[int]
) -> dict[int, Projection]:
    """A centred PCA per depth, fitted on ``sentences`` (e.g. the STS-B train sentences)."""
    unique, _ = _unique(sentences)
    layers = encoder.encode_layers(unique)
    normalize = encoder.normalizes
    projections = {}
    for depth in depths:
        vectors = F.normalize(layers[depth], dim=-1) if normalize else layers[depth]
        projections[depth] = Projection(*centred_pca(vectors), normalize=normalize)
    return projections


def sts_grid(
    encoder: LayerwiseEncoder,
    dataset: Dataset,
    depths: Sequence[int],
    widths: Sequence[int],
    projections: dict[int, Projection] | None = None,
) -> Grid:
    pairs = [p for p in dataset.examples if isinstance(p, ScoredPair)]
    unique, positions = _unique([p.text1 for p in pairs] + [p.text2 for p in pairs])
    layers = encoder.encode_layers(unique)
    index = torch.tensor(positions)
    gold = np.asarray([p.score for p in pairs])
    grid: Grid = {}
    for depth in depths:
        vectors = layers[depth]
        if projections is not None:
            vectors = projections[depth].apply(vectors)
        first, second = vectors[index].chunk(2)
        grid[depth] = {}
        for width in widths:
            cosine = F.cosine_similarity(first[:, :width], second[:, :width], dim=-1)
            grid[depth][width] = spearman(cosine.numpy(), gold) * 100
    return grid


def format_grid(grid: Grid) -> str:
    """A markdown table: one row per depth, one column per width."""
    widths = sorted({w for row in grid.values() for w in row}, reverse=True)
    lines = ["| depth | " + " | ".join(str(w) for w in widths) + " |"]
    lines.append("|---|" + "---|" * len(widths))
    for depth in sorted(grid):
        cells = " | ".join(f"{grid[depth][w]:.2f}" for w in widths)
        lines.append(f"| {depth} | {cells} |")
    return "\n".join(lines)
