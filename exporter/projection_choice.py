"""Which projection to fuse when the user leaves it to the exporter (``--projection auto``).

A centred PCA puts an ordinary model's most informative directions first, which is what makes
its leading dimensions worth keeping. A model trained so that its own leading dimensions carry
the most (ese-train's ESE, or 2D Matryoshka) loses by it: on STS-B dev the CPU-recipe ESE model
scored 76.7 raw against 75.6 after the PCA at depth 2 @128 dims, and 76.8 against 72.9 at 64
dims (training/RESULTS.md); even centring alone costs it 2 points at depths 2-4. So ``auto``
keeps the model's own order for a model whose training card (``training_card.json``, written by
ese-train) names such a method, and fits the PCA for every other model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ese.runtime.contract import Projection

from .errors import CalibrationError, ModelLoadError

AUTO = "auto"
CARD_FILE = "training_card.json"
# ese-train methods whose training puts the information in the leading raw dimensions.
ORDER_TRAINED_METHODS = ("ese", "ese-reference", "matryoshka2d")


@dataclass(frozen=True)
class ProjectionChoice:
    kind: Projection
    reason: str


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
) -> ProjectionChoice:
    """``requested`` as given, or for ``auto`` the choice the model's training card implies.

    A ``calibration`` corpus only feeds the PCA: given with no PCA to fit, it is refused
    rather than silently ignored.
    """
    if requested == AUTO:
        method = _card_method(model_path)
        if method in ORDER_TRAINED_METHODS:
            choice = ProjectionChoice(
                Projection.NONE,
                f"auto: {CARD_FILE} says the model was trained with {method}, which trains its "
                "leading dimensions; a PCA would reorder them and lose quality",
            )
        else:
            choice = ProjectionChoice(Projection.PCA, "auto: no ESE or Matryoshka training card")
    else:
        try:
            kind = Projection(requested)
        except ValueError:
            raise CalibrationError(
                f"unknown projection {requested!r}; choose auto, pca or none"
            ) from None
        choice = ProjectionChoice(kind, f"--projection {kind.value}")
    if calibration is not None and choice.kind is Projection.NONE:
        raise CalibrationError(
            f"--calibration {calibration} feeds the PCA, but the projection is none "
            f"({choice.reason}); pass --projection pca to fit the PCA on it, or drop --calibration"
        )
    return choice
