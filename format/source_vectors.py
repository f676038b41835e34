"""Whether one depth's graph gives the source model's own vectors, and which ones.

The reference at each depth is the source model's own inference at that depth, without any
projection: at its full depth, the source model's vectors (sentence-transformers ``encode``,
AnglE ``encode``); at a shallower depth, the source model cut at that depth with the same
pooling (what AnglE's ``layer_index`` or a sentence-transformers model with its layers truncated
gives: not comparable with the full-depth vectors). A fused PCA makes a depth differ: its
dimension i is a principal component, not the source's dimension i, so neither the vectors nor
their first k dimensions are the source model's.
"""

from __future__ import annotations

from dataclasses import dataclass

from ese.format.contract import Pooling, Projection


@dataclass(frozen=True)
class SourceMatch:
    """``matches``: the graph gives the reference vectors; ``note``: which, or why not."""

    matches: bool
    note: str


def source_match(
    kind: Projection, depth: int, num_layers: int, pooling: Pooling, normalize: bool
) -> SourceMatch:
    """What the graph at ``depth`` fusing ``kind`` gives, against the source model's inference."""
    head = f"{pooling.value} pooling" + (", normalised" if normalize else "")
    if kind is Projection.PCA:
        return SourceMatch(
            False,
            f"differs from the source model's vectors: a PCA fitted at depth {depth} is fused, "
            "so dimension i is a principal component, not the source model's dimension i "
            "(export with --projection none for the source model's own vectors)",
        )
    if depth >= num_layers:
        layers = f"all {num_layers} layers"
        return SourceMatch(True, f"the source model's own vectors ({layers}, {head})")
    return SourceMatch(
        True,
        f"the source model's own inference cut at layer {depth} of {num_layers} ({head}), as "
        f"AnglE's layer_index or sentence-transformers with its layers truncated to {depth} "
        f"gives; not comparable with the full {num_layers}-layer vectors",
    )
