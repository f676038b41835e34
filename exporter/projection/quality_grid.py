"""A quality grid (depth x dims) from pooled vectors of a labelled set, as the runtime serves them.

Every width is a slice of the full vectors, L2-normalised after the slice (slice first, then
normalise), exactly what the runtime returns; the vectors are the exporter's one calibration
pass, so a grid costs a few matrix products, not another model run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ese.exporter.projection.quality_set import TRIPLETS, QualitySet
from ese.exporter.variants.stsb import spearman, widths_for
from ese.format.errors import InternalError
from ese.runtime.encode import sliced_unit

Grid = dict[int, dict[int, float]]


def served_widths(hidden: int) -> tuple[int, ...]:
    """The widths the runtime's choice considers: its ladder below ``hidden``, and ``hidden``."""
    return widths_for(hidden)


def score(quality_set: QualitySet, vectors: np.ndarray, dims: int) -> float:
    """The set's metric x 100 at ``dims``; ``vectors`` [len(texts), hidden] in texts' order."""
    if vectors.shape[0] != len(quality_set.texts) or not 1 <= dims <= vectors.shape[1]:
        raise InternalError(
            f"{vectors.shape} vectors cannot score {len(quality_set.texts)} texts at {dims} dims"
        )
    unit = sliced_unit(np.asarray(vectors, dtype=np.float64), dims)
    rows = quality_set.rows
    if quality_set.layout == TRIPLETS:
        anchor, positive, negative = (unit[rows[:, i]] for i in range(3))
        wins = np.sum(anchor * positive, axis=1) > np.sum(anchor * negative, axis=1)
        return round(100.0 * float(np.mean(wins)), 4)
    if quality_set.scores is None:
        raise InternalError(f"pairs quality set {quality_set.source} has no scores")
    cosine = np.sum(unit[rows[:, 0]] * unit[rows[:, 1]], axis=1)
    return round(100.0 * spearman(cosine, quality_set.scores), 4)


def grid_row(
    quality_set: QualitySet, vectors: np.ndarray, widths: Sequence[int]
) -> dict[int, float]:
    """{dims: score} for one depth's vectors."""
    return {dims: score(quality_set, vectors, dims) for dims in widths}


def mean_score(row: Mapping[int, float]) -> float:
    """The figure a projection is chosen on: the row's mean over the served widths."""
    return round(float(np.mean(list(row.values()))), 4)
