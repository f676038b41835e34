"""Which projection each depth's graph fuses: the model's own order, or the fitted PCA.

``--projection pca`` and ``--projection none`` force one kind at every depth. ``auto`` (the
default) measures both on a labelled probe, per depth, at the widths the runtime serves (see
``quality_grid``), and keeps the better:

1. No training card naming an order-trained method: the higher mean probe score wins (a tie
   goes to the PCA, which puts an ordinary model's most varied directions first).
2. A training card (``training_card.json``, written by ese-train) naming ESE or 2D Matryoshka
   says the model's leading dimensions were trained, so its own order wins unless the PCA
   scores more than ``CLEAR_MARGIN`` points better: the card decides within the margin, it
   cannot override a clear measured loss. (This project measured a PCA costing an ESE model
   4 points on STS-B dev at depths 2-3, and raw 76.8 against PCA 72.9 at depth 2 @64 dims.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ese.exporter.errors import CalibrationError, ModelLoadError
from ese.runtime.format import DepthProjection, Projection

AUTO = "auto"
CARD_FILE = "training_card.json"
# ese-train methods whose training puts the information in the leading raw dimensions.
ORDER_TRAINED_METHODS = ("ese", "ese-reference", "matryoshka2d")
# Probe points (mean over the served widths) by which a PCA must beat an order-trained model's
# own order to override its card: about twice the paired noise of the 1,000-triplet probe.
CLEAR_MARGIN = 1.0
# How a depth's reason says the measurement overrode the card (``overrode_card`` reads it back).
CARD_OVERRIDDEN = "a clear measured loss that overrides"


@dataclass(frozen=True)
class ProjectionRequest:
    """What was asked: one kind for every depth (``forced``), or ``auto`` with the card's say."""

    forced: Projection | None
    card_method: str | None
    reason: str

    @property
    def fits_pca(self) -> bool:
        """Whether a PCA is fitted (to fuse, or to be measured against the model's order)."""
        return self.forced is not Projection.NONE

    @property
    def order_trained(self) -> bool:
        return self.card_method in ORDER_TRAINED_METHODS


def _card_method(model_path: Path) -> str | None:
    card = model_path / CARD_FILE
    if not card.is_file():
        return None
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(
            f"{card} is not a readable training card ({exc}); restore it from the training run, "
            "or choose the projection yourself with --projection pca or --projection none"
        ) from exc
    method = data.get("method") if isinstance(data, dict) else None
    return str(method) if method is not None else None


def choose_projection(
    requested: Projection | str, model_path: Path, calibration: str | Path | None = None
) -> ProjectionRequest:
    """Check ``requested``; for ``auto`` also read what the model's training card says.

    A ``calibration`` corpus only feeds the PCA: given with ``none``, it is refused rather
    than silently ignored.
    """
    if requested == AUTO:
        method = _card_method(model_path)
        card = f"; {CARD_FILE} says {method}" if method in ORDER_TRAINED_METHODS else ""
        return ProjectionRequest(
            None,
            method,
            f"auto: per depth, the better of the model's own order (none) and the fitted PCA "
            f"on the probe, mean over the served widths{card}",
        )
    try:
        kind = Projection(requested)
    except ValueError:
        raise CalibrationError(
            f"unknown projection {requested!r}; choose auto, pca or none"
        ) from None
    if calibration is not None and kind is Projection.NONE:
        raise CalibrationError(
            f"--calibration {calibration} feeds the PCA, but the projection is none "
            f"(--projection none); pass --projection pca or auto to fit the PCA on it, "
            "or drop --calibration"
        )
    return ProjectionRequest(kind, None, f"--projection {kind.value}")


def decide(
    request: ProjectionRequest, depth: int, none_score: float, pca_score: float | None
) -> DepthProjection:
    """The kind for ``depth`` from the mean probe scores (``pca_score`` None: no PCA fitted)."""
    scores = {Projection.NONE.value: none_score}
    if pca_score is not None:
        scores[Projection.PCA.value] = pca_score
    if request.forced is not None:
        return DepthProjection(depth, request.forced, scores, request.reason)
    if pca_score is None:
        raise CalibrationError("--projection auto needs a calibration corpus to fit the PCA on")
    figures = f"probe none {none_score:.2f}, pca {pca_score:.2f}"
    gain = pca_score - none_score
    if request.order_trained:
        if gain > CLEAR_MARGIN:
            kind = Projection.PCA
            why = (
                f"the PCA is better by {gain:.2f} > {CLEAR_MARGIN} points, {CARD_OVERRIDDEN} "
                f"{CARD_FILE} ({request.card_method})"
            )
        else:
            kind = Projection.NONE
            why = (
                f"{CARD_FILE} ({request.card_method}) decides: the PCA is not better by more "
                f"than {CLEAR_MARGIN} points"
            )
    else:
        kind = Projection.PCA if gain >= 0 else Projection.NONE
        why = f"{kind.value} scores higher" if gain else "a tie goes to the PCA"
    return DepthProjection(depth, kind, scores, f"auto: {figures}: {why}")


def overrode_card(entry: DepthProjection) -> bool:
    """Whether ``decide`` fused a PCA at this depth against a training card's trained order."""
    return entry.kind is Projection.PCA and CARD_OVERRIDDEN in entry.reason
