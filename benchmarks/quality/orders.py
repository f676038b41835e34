"""Which dimension order a quality grid measured, in words: the reports and the terminal say it
alike (an export may fuse the PCA at some depths and keep the model's own order at others)."""

from __future__ import annotations

from collections.abc import Iterable

from ese.format import Manifest


def order_by_depth(manifest: Manifest, depths: Iterable[int]) -> str:
    """Which dimension order each depth's graph has: ``pca`` or ``none`` (the source model's
    own), e.g. "pca at depths 2, 4; none at depth 6"."""
    by_kind: dict[str, list[str]] = {}
    for depth in depths:
        by_kind.setdefault(manifest.projection.kind_at(depth).value, []).append(str(depth))
    parts = []
    for kind, listed in by_kind.items():
        plural = "s" if len(listed) > 1 else ""
        parts.append(f"{kind} at depth{plural} {', '.join(listed)}")
    return "; ".join(parts)


def grid_order(grid_order: str, manifest: Manifest, depths: Iterable[int]) -> str:
    """A grid's order as a label: the raw model order (``--raw``), else each depth's."""
    if grid_order == "none":
        return "raw model order"
    return f"exported order: {order_by_depth(manifest, depths)}"
