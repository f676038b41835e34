"""Which pooling the graphs fuse, and where that came from: never a guess.

1. ``--pooling NAME`` (the ``pooling`` argument) overrides everything;
2. else the sentence-transformers Pooling module (``modules.json`` + its ``config.json``);
3. else AnglE's ``angle_config.json`` ``pooling_strategy``;
4. else the ``pooling`` field of the ``ese-train`` training card;
5. else the export is refused with a ``PoolingError`` naming ``--pooling``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ese.exporter.errors import ModelLoadError, PoolingError
from ese.exporter.source.angle_config import ANGLE_FILE, ANGLE_STRATEGIES, AngleConfig
from ese.exporter.source.model_json import read_json_file
from ese.exporter.source.st_modules import StModules, st_pooling
from ese.runtime.format import Pooling

CARD_FILE = "training_card.json"
# --pooling and the training card's names: AnglE's spellings and two more.
POOLING_NAMES = {
    **ANGLE_STRATEGIES,
    "lasttoken": Pooling.LAST_TOKEN,
    "mean_sqrt_len": Pooling.MEAN_SQRT_LEN,
}


@dataclass(frozen=True)
class PoolingChoice:
    mode: Pooling
    source: str  # where it came from, as the manifest records it


def pooling_from_name(name: object, where: str) -> Pooling:
    """A pooling name as --pooling or a training card spells it."""
    if isinstance(name, Pooling):
        return name
    if isinstance(name, str) and name in POOLING_NAMES:
        return POOLING_NAMES[name]
    shown = repr(name)[:40] if isinstance(name, str) else f"a {type(name).__name__}"
    raise PoolingError(f"{where}: pooling {shown} is not one of {', '.join(POOLING_NAMES)}")


def card_pooling(value: object, where: str = CARD_FILE) -> Pooling | None:
    """The parsed training card's ``pooling`` field; None when the card has none."""
    if not isinstance(value, dict) or value.get("pooling") is None:
        return None
    return pooling_from_name(value["pooling"], where)


def _declared(path: Path, modules: StModules | None, angle: AngleConfig | None) -> PoolingChoice:
    if modules is not None:
        found = st_pooling(path, modules)
        if found is not None:
            return PoolingChoice(found[0], f"sentence-transformers Pooling module ({found[1]})")
    if angle is not None:
        strategy = angle.pooling_strategy
        shown = "not set: AnglE's default cls" if strategy is None else repr(strategy)
        return PoolingChoice(angle.pooling(), f"{ANGLE_FILE} pooling_strategy {shown}")
    card = path / CARD_FILE
    if card.is_file():
        try:
            mode = card_pooling(read_json_file(card), str(card))
        except ModelLoadError as exc:
            raise ModelLoadError(f"{exc}; or pass --pooling") from exc
        if mode is not None:
            return PoolingChoice(mode, f"{CARD_FILE} pooling {mode.value}")
    raise PoolingError(
        f"{path} declares no pooling (no sentence-transformers Pooling module, no "
        f"{ANGLE_FILE}, no pooling in a {CARD_FILE}); the exporter does not guess: pass "
        f"--pooling with the pooling the model was trained with ({', '.join(POOLING_NAMES)})"
    )


def choose_pooling(
    path: Path,
    modules: StModules | None,
    angle: AngleConfig | None,
    requested: Pooling | str | None = None,
) -> PoolingChoice:
    """``requested`` when given, else the model's own declaration (see the module docstring)."""
    if requested is not None:
        mode = pooling_from_name(requested, "--pooling")
        return PoolingChoice(mode, f"--pooling {mode.value}")
    return _declared(path, modules, angle)
