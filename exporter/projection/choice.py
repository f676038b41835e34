"""Which projection each depth's graph fuses: the model's own order, or the fitted PCA.

``--projection pca`` and ``--projection none`` force one kind at every depth. ``auto`` (the
default) measures both on a labelled probe, per depth, at the widths the runtime serves (see
``quality_grid``), records both scores, and decides:

1. A model that declares a trained prefix (``trained_prefix``: ESE or Matryoshka training, or
   ``--trained-prefix``) keeps its own order at every depth: such a model is read at inference
   by its prefix. The probe may score the PCA higher (the reason says so); it never overrides
   the declaration. (This project measured a probe-chosen PCA costing an ESE model 6.1 points on
   STS-B test at depth 2 although the probe had it 1.14 points better.)
2. The deepest exported graph keeps the source model's own vectors: users query indexes the
   source library built, and a fused PCA would silently change every similarity.
3. Any shallower depth: the higher mean probe score wins (a tie goes to the PCA, which puts an
   ordinary model's most varied directions first). A depth that fuses the PCA no longer gives
   the source model's vectors; the manifest, ese-export and ``Embedder.choice`` say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ese.exporter.projection.trained_prefix import declared_trained_prefix
from ese.format import DepthProjection, Projection
from ese.format.errors import BadInputError, UserError

AUTO = "auto"


@dataclass(frozen=True)
class ProjectionRequest:
    """What was asked: one kind for every depth (``forced``), or ``auto`` with the model's say.

    ``trained_prefix`` names where the model declares trained leading dimensions (None: it
    declares none).
    """

    forced: Projection | None
    trained_prefix: str | None
    reason: str

    @property
    def fits_pca(self) -> bool:
        """Whether a PCA is fitted (to fuse, or to be measured against the model's order)."""
        return self.forced is not Projection.NONE


def choose_projection(
    requested: Projection | str,
    model_path: Path,
    calibration: str | Path | None = None,
    *,
    trained_prefix: bool = False,
) -> ProjectionRequest:
    """Check ``requested``; for ``auto`` also read whether the model declares a trained prefix
    (``trained_prefix``: the user declares it, ``--trained-prefix``).

    A ``calibration`` corpus only feeds the PCA: given with ``none``, it is refused rather
    than silently ignored.
    """
    if requested == AUTO:
        declared = declared_trained_prefix(model_path, trained_prefix)
        if declared is not None:
            rule = f"{declared}: the trained prefix is kept at every depth (none)"
        else:
            rule = (
                "the deepest depth keeps the source model's own vectors (none); per shallower "
                "depth, the better of the model's own order (none) and the fitted PCA on the "
                "probe, mean over the served widths"
            )
        return ProjectionRequest(None, declared, f"auto: {rule}")
    try:
        kind = Projection(requested)
    except ValueError:
        raise UserError(f"unknown projection {requested!r}; choose auto, pca or none") from None
    if trained_prefix and kind is Projection.PCA:
        raise BadInputError(
            "--trained-prefix keeps the model's own order at every depth, and --projection pca "
            "fuses a PCA at every depth: drop one of them"
        )
    if calibration is not None and kind is Projection.NONE:
        raise UserError(
            f"--calibration {calibration} feeds the PCA, but the projection is none "
            f"(--projection none); pass --projection pca or auto to fit the PCA on it, "
            "or drop --calibration"
        )
    return ProjectionRequest(kind, None, f"--projection {kind.value}")


def decide(
    request: ProjectionRequest,
    depth: int,
    none_score: float,
    pca_score: float | None,
    *,
    deepest: bool,
) -> DepthProjection:
    """The kind for ``depth`` from the mean probe scores (``pca_score`` None: no PCA fitted);
    ``deepest``: the deepest depth exported."""
    scores = {Projection.NONE.value: none_score}
    if pca_score is not None:
        scores[Projection.PCA.value] = pca_score
    if request.forced is not None:
        return DepthProjection(depth, request.forced, scores, request.reason)
    if pca_score is None:
        raise UserError("--projection auto needs a calibration corpus to fit the PCA on")
    figures = f"probe none {none_score:.2f}, pca {pca_score:.2f}"
    gain = pca_score - none_score
    higher = f"; the probe scores the PCA {gain:.2f} higher" if gain > 0 else ""
    if request.trained_prefix is not None:
        kind = Projection.NONE
        why = f"{request.trained_prefix}: the trained prefix is kept"
        if higher:
            why += f"{higher}, which never overrides a declared trained prefix"
    elif deepest:
        kind = Projection.NONE
        why = "the deepest graph keeps the source model's own vectors"
        if higher:
            why += f"{higher}: --projection pca fuses it"
    else:
        kind = Projection.PCA if gain >= 0 else Projection.NONE
        why = f"{kind.value} scores higher" if gain else "a tie goes to the PCA"
    return DepthProjection(depth, kind, scores, f"auto: {figures}: {why}")


def pca_scored_higher(entry: DepthProjection) -> bool:
    """Whether the probe scored the PCA higher at a depth that keeps the model's own order."""
    pca, none = entry.scores.get(Projection.PCA.value), entry.scores.get(Projection.NONE.value)
    return entry.kind is Projection.NONE and pca is not None and none is not None and pca > none
